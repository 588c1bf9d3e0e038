import Distributed
import SpectralMixing
import TensorCore

/// FFTNet's spectral half by the transpose scheme (docs/distributed.md, "The two FFTNet schemes"): an FFTW-MPI
/// transpose turns each sequence's token block `(N/P, D)` into a channel block `(D/P, N)`, so
/// every rank holds whole sequences of D/P channels; the real FFTs, the filter and the inverse
/// run locally through `ChannelSpectralFilter`, the pipeline `FFTNetMixing` runs on all D
/// channels, and a second transpose returns the token block.
/// One transpose execution per batch element each way (an all-to-all of N·D/P floats).
final class TransposeSpectralFilter {
    let length: Int
    let dim: Int
    let heads: Int
    let bins: Int
    /// D/P, and the first global channel of this rank's channel block.
    let localChannels: Int
    let channelStart: Int
    let localLength: Int
    /// (N, D) split by tokens → (D, N) split by channels, and back.
    let toChannels: DistributedTransposePlan
    let toTokens: DistributedTransposePlan

    /// rfft → modReLU(Z ⊙ W) → irfft on this rank's D/P channel sequences.
    let pipeline: ChannelSpectralFilter
    var spectrum = Tensor.empty  // Z: (B, D/P, F, 2), kept for backward

    init(length: Int, dim: Int, heads: Int, group: Communicator) throws {
        self.length = length
        self.dim = dim
        self.heads = heads
        bins = length / 2 + 1
        localChannels = dim / group.size
        channelStart = group.rank * localChannels
        localLength = length / group.size
        toChannels = try DistributedTransposePlan(rows: length, columns: dim, group: group)
        toTokens = try DistributedTransposePlan(rows: dim, columns: length, group: group)
        pipeline = ChannelSpectralFilter(length: length, dim: dim, heads: heads, channels: localChannels,
                                         channelStart: channelStart)
    }

    /// (B, N/P, D) token blocks → (B, D/P, N) channel blocks.
    func channelBlocks(_ x: Tensor) -> Tensor {
        exchange(x, through: toChannels, outputShape: [x.shape[0], localChannels, length])
    }

    /// (B, D/P, N) channel blocks → (B, N/P, D) token blocks.
    func tokenBlocks(_ x: Tensor) -> Tensor {
        exchange(x, through: toTokens, outputShape: [x.shape[0], localLength, dim])
    }

    func exchange(_ x: Tensor, through plan: DistributedTransposePlan, outputShape: [Int]) -> Tensor {
        let inputCount = plan.localRows * plan.columns, outputCount = plan.localColumns * plan.rows
        var y = Tensor(zeros: outputShape)
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { ys in
                for batch in 0..<outputShape[0] {
                    plan.input.pointer.update(from: xs.baseAddress! + batch * inputCount, count: inputCount)
                    plan.execute()
                    (ys.baseAddress! + batch * outputCount).update(from: plan.output.pointer, count: outputCount)
                }
            }
        }
        return y
    }

    // MARK: - Forward

    func forward(_ x: Tensor, filter: Tensor, bias: UnsafePointer<Float>) -> Tensor {
        var sequences = channelBlocks(x)
        let (output, z) = pipeline.forward(&sequences, filter: filter, bias: bias)
        spectrum = z
        return tokenBlocks(output)
    }

    // MARK: - Backward

    /// `ChannelSpectralFilter.backward` on this rank's channels; the β gradient comes back apart
    /// (the caller adds it into the arena).
    func backward(_ gradient: Tensor, filter: Tensor, bias: UnsafePointer<Float>)
        -> (input: Tensor, filter: Tensor, bias: Tensor) {
        var gradientSequences = channelBlocks(gradient)
        var gBias = Tensor(zeros: [heads, bins])
        let result = gBias.withUnsafeMutableBufferPointer { gbs in
            pipeline.backward(&gradientSequences, spectrum: spectrum, filter: filter, bias: bias, biasGradient: gbs.baseAddress!)
        }
        spectrum = Tensor.empty
        return (tokenBlocks(result.input), result.filter, gBias)
    }
}
