import CKernels
import Distributed
import SpectralMixing
import TensorCore

/// FFTNet's spectral half by the transpose scheme (DISTRIBUTED.md, scheme 1): an FFTW-MPI
/// transpose turns each sequence's token block `(N/P, D)` into a channel block `(D/P, N)`, so
/// every rank holds whole sequences of D/P channels; the real FFTs, the filter and the inverse
/// run locally exactly as in `FFTNetMixing`, and a second transpose returns the token block.
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
        let (b, n, f, h, channels) = (x.shape[0], length, bins, heads, localChannels)
        let headDim = dim / h, start = channelStart
        var sequences = channelBlocks(x)
        // Unnormalised transforms, the ortho factors folded into the filter pass (as FFTNetMixing).
        var z = Tensor(uninitialized: [b, channels, f, 2])
        sequences.withUnsafeMutableBufferPointer { xs in
            z.withUnsafeMutableBufferPointer { zs in
                FFT.realForward(input: xs.baseAddress!, output: zs.baseAddress!, outer: b * channels, length: n,
                                inner: 1, scaling: .unnormalized)
            }
        }
        var u = Tensor(uninitialized: z.shape)
        let ortho = 1 / Float(n).squareRoot(), eps = FFTNetMixing.epsilon
        Tensor.withUnsafeBufferPointers(writing: &u, reading: z, filter) { us, zs, ws in
            let zp = zs.baseAddress!, wp = ws.baseAddress!, up = us.baseAddress!
            parallelFor(b * channels, grain: max(1, 4096 / f)) { rows in
                for row in rows {
                    let head = (start + row % channels) / headDim
                    pv_spectral_filter(zp + 2 * row * f, wp + (row / channels * h + head) * f, bias + head * f, f,
                                       ortho, eps, up + 2 * row * f)
                }
            }
        }
        var output = Tensor(uninitialized: [b, channels, n])
        u.withUnsafeMutableBufferPointer { us in
            output.withUnsafeMutableBufferPointer { ys in
                FFT.realInverse(input: us.baseAddress!, output: ys.baseAddress!, outer: b * channels, length: n,
                                inner: 1, scaling: .unnormalized)
            }
        }
        spectrum = z
        return tokenBlocks(output)
    }

    // MARK: - Backward

    /// As `FFTNetMixing.backward` on this rank's channels: the adjoint of irfft_ortho is
    /// rfft_ortho with interior bins doubled, that of rfft_ortho is irfft_ortho with them halved.
    func backward(_ gradient: Tensor, filter: Tensor, bias: UnsafePointer<Float>)
        -> (input: Tensor, filter: Tensor, bias: Tensor) {
        let (b, n, f, h, channels) = (spectrum.shape[0], length, bins, heads, localChannels)
        let headDim = dim / h, start = channelStart
        var gu = Tensor(uninitialized: spectrum.shape)
        var gradientSequences = channelBlocks(gradient)
        gradientSequences.withUnsafeMutableBufferPointer { gs in
            gu.withUnsafeMutableBufferPointer { us in
                FFT.realForward(input: gs.baseAddress!, output: us.baseAddress!, outer: b * channels, length: n,
                                inner: 1, scaling: .unnormalized)
            }
        }
        var gw = Tensor(zeros: [b, h, f]), gBias = Tensor(zeros: [h, f])
        let ortho = 1 / Float(n).squareRoot(), eps = FFTNetMixing.epsilon
        Tensor.withUnsafeBufferPointers(writing: &gu, &gw, &gBias, reading: spectrum, filter) { us, gws, gbs, zs, ws in
            let zp = zs.baseAddress!, wp = ws.baseAddress!, gp = us.baseAddress!
            let gwp = gws.baseAddress!, gbp = gbs.baseAddress!
            // Parallel over bins: each thread owns its bins' W and β gradient entries.
            parallelFor(f, grain: max(1, 65_536 / (b * channels))) { binRange in
                for row in 0..<(b * channels) {
                    let head = (start + row % channels) / headDim, filterRow = (row / channels * h + head) * f
                    pv_spectral_filter_backward(zp + 2 * row * f, wp + filterRow, bias + head * f,
                                                gp + 2 * row * f, gwp + filterRow, gbp + head * f,
                                                binRange.lowerBound, binRange.upperBound, n, ortho, eps)
                }
            }
        }
        var dxSequences = Tensor(uninitialized: [b, channels, n])
        gu.withUnsafeMutableBufferPointer { us in
            dxSequences.withUnsafeMutableBufferPointer { dxs in
                FFT.realInverse(input: us.baseAddress!, output: dxs.baseAddress!, outer: b * channels, length: n,
                                inner: 1, scaling: .unnormalized)
            }
        }
        spectrum = Tensor.empty
        return (tokenBlocks(dxSequences), gw, gBias)
    }
}
