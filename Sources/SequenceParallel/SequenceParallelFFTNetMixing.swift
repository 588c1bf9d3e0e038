import Distributed
import Layers
import Parameters
import SpectralMixing
import TensorCore

/// FFTNet's adaptive spectral filtering (`FFTNetMixing`, docs/models.md "FFTNet v1") on sequences
/// split by tokens over a sequence group of P ranks: each rank holds `(B, N/P, D)`, the
/// tokens `[r·N/P, (r+1)·N/P)` of every sequence, and returns the same block of the
/// single-rank layer's output:
///
///     c  = mean over valid tokens of x        local sums and counts, all-reduced in the group
///     ΔW = W2 · GELU(W1 · c + b1) + b2        evaluated on every rank from the same c
///     y  = irfft(modReLU(rfft(x) ⊙ (base + ΔW)))   the scheme's distributed transforms
///
/// The transforms run through `TransposeSpectralFilter`: FFTW-MPI transposes to channel blocks
/// and local real FFTs along the whole sequence.
///
/// Gradients: every parameter gradient this rank adds is a partial sum — summing over the
/// group gives the single-rank layer's gradient. The filter gradient of each rank covers its
/// own channels, and the filter MLP's backward is linear in
/// it, so the MLP's gradients are partial too; ∂L/∂c is all-reduced in the group before it
/// is spread over the local tokens. Parameters and their names are those of `FFTNetMixing`,
/// registered in the same order, so the same arena seed gives the same values.
public final class SequenceParallelFFTNetMixing: TokenMixer {
    public let arena: ParameterArena
    public let dim: Int
    public let heads: Int
    /// N, the whole sequence's length; each rank holds N/P tokens.
    public let sequenceLength: Int
    public let bins: Int
    public let filterKnots: Int
    public let group: Communicator
    /// c → W = base + interp(MLP(c)), the single-rank layer's filter network.
    let filterNetwork: SpectralFilterNetwork
    public let modReLUBias: Parameter
    let contextMean: ShardedPooling
    let spectral: TransposeSpectralFilter

    var filter = Tensor.empty  // base + ΔW: (B, H, F), kept for backward

    /// Registers the same parameters as `FFTNetMixing` and plans the distributed transposes
    /// (collective over `group`). `failures` records a failed collective of a step
    /// (`SequenceSharding.failures`; by default one of the layer's own, `contextMean.failures`).
    /// - Throws: `SequenceParallelError` when N or D is not divisible by P, or when FFTW-MPI
    ///   cannot plan the transposes.
    public init(_ name: String, arena: ParameterArena, dim: Int, heads: Int, sequenceLength: Int,
                filterKnots: Int? = nil, group: Communicator, modReLUBias initialBias: Float = -0.1,
                failures: ShardFailures? = nil) throws {
        let ranks = group.size
        guard dim % heads == 0 else { throw SequenceParallelError("FFTNet: dim \(dim) is not divisible by heads \(heads)") }
        guard sequenceLength % ranks == 0 else {
            throw SequenceParallelError("FFTNet: sequence length \(sequenceLength) is not divisible by seq_parallel \(ranks)")
        }
        self.arena = arena
        self.dim = dim
        self.heads = heads
        self.sequenceLength = sequenceLength
        bins = sequenceLength / 2 + 1
        self.filterKnots = filterKnots ?? bins
        guard self.filterKnots >= 1 && self.filterKnots <= bins else {
            throw SequenceParallelError("FFTNet: filterKnots must be in 1...\(bins) for length \(sequenceLength), got \(self.filterKnots)")
        }
        self.group = group
        guard dim % ranks == 0 else {
            throw SequenceParallelError("FFTNet: dim \(dim) is not divisible by seq_parallel \(ranks) (the transposes "
                                        + "split the channels over the ranks)")
        }
        spectral = try TransposeSpectralFilter(length: sequenceLength, dim: dim, heads: heads, group: group)
        contextMean = ShardedPooling(.mean, group: group, failures: failures)
        filterNetwork = SpectralFilterNetwork(name, arena: arena, dim: dim, heads: heads, bins: bins,
                                              filterKnots: self.filterKnots)
        modReLUBias = arena.register("\(name).modrelu.bias", shape: [heads, bins], initializer: .constant(initialBias),
                                     weightDecay: false)
    }

    // MARK: - Forward

    /// This rank's block (B, N/P, D) → the same block of the output; `context.mask` is this
    /// block's (B, N/P) mask. Collective over the group.
    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        let localLength = sequenceLength / group.size
        precondition(x.rank == 3 && x.shape[1] == localLength && x.shape[2] == dim,
                     "SequenceParallelFFTNetMixing: (B, \(localLength), \(dim)) block expected, got \(x.shape)")
        filter = filterNetwork.forward(contextMean.forward(x, mask: context.mask), context: context)
        return spectral.forward(x, filter: filter, bias: arena.value(modReLUBias))
    }

    // MARK: - Backward

    /// Reverse order of forward; adds this rank's partial parameter gradients. Collective.
    public func backward(_ gradient: Tensor) -> Tensor {
        let result = spectral.backward(gradient, filter: filter, bias: arena.value(modReLUBias))
        var dx = result.input
        // ∂L/∂β from the scheme; base and the filter MLP get their (partial) gradients from the
        // partial ∂L/∂W, and ∂L/∂c, partial too, is summed over the group.
        let dBias = arena.gradient(modReLUBias)
        result.bias.withUnsafeBufferPointer { gb in for i in 0..<(heads * bins) { dBias[i] += gb[i] } }
        var gc = filterNetwork.backward(result.filter)
        gc.withUnsafeMutableBufferPointer { buffer in
            contextMean.failures.collective("all-reduce of the context gradient") { try group.allreduce(buffer) }
        }
        contextMean.backward(gc).withUnsafeBufferPointer { fromContext in
            dx.withUnsafeMutableBufferPointer { Kernels.axpy(1, fromContext, $0) }
        }
        filter = Tensor.empty
        return dx
    }
}
