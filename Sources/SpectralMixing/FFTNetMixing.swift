import Foundation
import Layers
import Parameters
import TensorCore

/// FFTNet's adaptive spectral filtering (Fein-Ashley, "The FFT Strikes Back: An Efficient
/// Alternative to Self-Attention", arXiv 2502.18394 v1, §3), the v1 layer of docs/models.md:
///
///     Z  = rfft(x_heads, along N, norm=ortho)          x_heads: (B, H, N, d_h) → Z: (B, H, F, d_h)
///     c  = mean over valid tokens of x                  (B, D)
///     ΔW = W2 · GELU(W1 · c + b1) + b2                  (B, H, F)
///     Z' = Z ⊙ (base + ΔW)                              base: (H, F), init 1; broadcast over d_h
///     modReLU(z) = z · ReLU(|z| + b) / (|z| + 1e-6)     b: (H, F), init −0.1
///     y  = irfft(modReLU(Z'), n = N, norm=ortho)        (B, N, D)
///
/// F = N/2 + 1. Heads split D into H contiguous groups of d_h = D/H channels. The input is
/// transposed to (B, D, N) so that Z is one real FFT plan over B·D contiguous sequences
/// (FFTW runs these several times faster than transforms at stride D), giving (B, D, F) =
/// (B, H, d_h, F); the output is transposed back.
///
/// `filterKnots: K` has the MLP emit H·K values, linearly interpolated (end points aligned)
/// to the F bins; K = F (the default) is the paper's layer exactly. The layer is built for
/// one sequence length N (the filter has F bins); pad shorter inputs to N. Pad tokens take
/// part in the FFT as in the paper; the context mean runs over valid tokens only.
///
/// Parameters: `<name>.filter.fc1` (D → D), `<name>.filter.fc2` (D → H·K),
/// `<name>.filter.base` (H, F), `<name>.modrelu.bias` (H, F).
public final class FFTNetMixing: TokenMixer {
    public let arena: ParameterArena
    public let dim: Int
    public let heads: Int
    public let sequenceLength: Int
    /// F = N/2 + 1 frequency bins.
    public let bins: Int
    /// K, the number of filter values per head the MLP produces.
    public let filterKnots: Int
    /// c → W = base + interp(MLP(c)).
    let filterNetwork: SpectralFilterNetwork
    public var filterHidden: Linear { filterNetwork.hidden }
    public var filterOutput: Linear { filterNetwork.output }
    public var baseFilter: Parameter { filterNetwork.base }
    public let modReLUBias: Parameter
    let contextMean = Pooling(.mean)  // c: the mean over valid tokens
    /// rfft → modReLU(Z ⊙ W) → irfft on all D channel sequences.
    let spectral: ChannelSpectralFilter
    package static let epsilon: Float = 1e-6

    // Kept by forward for backward.
    var spectrum = Tensor.empty     // Ẑ = √N · Z, unnormalised: (B, D, F, 2)
    var filter = Tensor.empty       // base + ΔW: (B, H, F)

    /// Registers the filter MLP, base filter and modReLU bias under `name`.
    /// - Parameters:
    ///   - sequenceLength: N, the length every input must have (the filter has N/2 + 1 bins).
    ///   - filterKnots: K in 1…F, the filter values per head the MLP produces; nil for K = F.
    ///   - modReLUBias: the bias's initial value: −0.1 (the official code from its commit after
    ///     72d20e1), or 0 (at 72d20e1, the paper's v1 layer).
    public init(_ name: String, arena: ParameterArena, dim: Int, heads: Int, sequenceLength: Int,
                filterKnots: Int? = nil, modReLUBias initialBias: Float = -0.1) {
        precondition(dim % heads == 0, "FFTNetMixing: dim \(dim) is not divisible by heads \(heads)")
        self.arena = arena
        self.dim = dim
        self.heads = heads
        self.sequenceLength = sequenceLength
        bins = sequenceLength / 2 + 1
        self.filterKnots = filterKnots ?? bins
        precondition(self.filterKnots >= 1 && self.filterKnots <= bins,
                     "FFTNetMixing: filterKnots must be in 1...\(bins) for length \(sequenceLength), got \(self.filterKnots)")
        filterNetwork = SpectralFilterNetwork(name, arena: arena, dim: dim, heads: heads, bins: bins,
                                              filterKnots: self.filterKnots)
        modReLUBias = arena.register("\(name).modrelu.bias", shape: [heads, bins], initializer: .constant(initialBias),
                                     weightDecay: false)
        spectral = ChannelSpectralFilter(length: sequenceLength, dim: dim, heads: heads, channels: dim, channelStart: 0)
    }

    // MARK: - Forward

    /// (B, N, D) → (B, N, D); the context mean skips tokens whose `context.mask` is 0.
    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        precondition(x.rank == 3 && x.shape[1] == sequenceLength && x.shape[2] == dim,
                     "FFTNetMixing: (B, \(sequenceLength), \(dim)) input expected, got \(x.shape)")
        // c = mean of x over valid tokens, and the filter W = base + interp(MLP(c)).
        filter = filterNetwork.forward(contextMean.forward(x, mask: context.mask), context: context)
        // The spectral half on (B, D, N): one real FFT plan over B·D contiguous sequences.
        var sequences = MatrixTranspose.transposed(x)
        let (output, z) = spectral.forward(&sequences, filter: filter, bias: arena.value(modReLUBias))
        spectrum = z
        return MatrixTranspose.transposed(output)
    }

    // MARK: - Backward

    /// Reverse order of forward (`ChannelSpectralFilter.backward` for the spectral half).
    public func backward(_ gradient: Tensor) -> Tensor {
        let (b, n, d) = (spectrum.shape[0], sequenceLength, dim)
        precondition(gradient.shape == [b, n, d], "FFTNetMixing.backward: gradient \(gradient.shape), expected \([b, n, d])")
        var gradientSequences = MatrixTranspose.transposed(gradient)
        let result = spectral.backward(&gradientSequences, spectrum: spectrum, filter: filter, bias: arena.value(modReLUBias),
                                       biasGradient: arena.gradient(modReLUBias))
        var dx = MatrixTranspose.transposed(result.input)

        // Filter: ∂L/∂W (B, H, F) → base, knots (B, H·K) → fc2 → GELU → fc1 → ∂L/∂c (B, D).
        let gc = filterNetwork.backward(result.filter)

        // c = mean over valid tokens → dx += its backward.
        contextMean.backward(gc).withUnsafeBufferPointer { fromContext in
            dx.withUnsafeMutableBufferPointer { Kernels.axpy(1, fromContext, $0) }
        }
        spectrum = Tensor.empty
        filter = Tensor.empty
        return dx
    }
}

/// Linear interpolation of K knots onto F bins with the end points aligned: bin k reads
/// position k·(K−1)/(F−1) in knot coordinates. K = F is the identity.
struct KnotInterpolation {
    let lower: [Int]
    let fraction: [Float]
    let knots: Int

    init(knots: Int, bins: Int) {
        self.knots = knots
        var lower = [Int](repeating: 0, count: bins), fraction = [Float](repeating: 0, count: bins)
        if knots > 1 && bins > 1 {
            for k in 0..<bins {
                let numerator = k * (knots - 1)
                lower[k] = numerator / (bins - 1)
                fraction[k] = Float(numerator % (bins - 1)) / Float(bins - 1)
            }
        }
        self.lower = lower
        self.fraction = fraction
    }

    /// out[k] = (1 − a_k) knots[i_k] + a_k knots[i_k + 1].
    func apply(_ values: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        for k in lower.indices {
            let i = lower[k], a = fraction[k]
            out[k] = a == 0 ? values[i] : (1 - a) * values[i] + a * values[i + 1]
        }
    }

    /// The transpose: knots[i_k] += (1 − a_k) g[k], knots[i_k + 1] += a_k g[k].
    func addAdjoint(_ gradient: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        for k in lower.indices {
            let i = lower[k], a = fraction[k]
            out[i] += (1 - a) * gradient[k]
            if a != 0 { out[i + 1] += a * gradient[k] }
        }
    }
}
