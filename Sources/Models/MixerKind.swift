import Distributed
import Layers
import Parameters
import SequenceParallel
import SpectralMixing

/// The token mixer in each encoder block, and the one place that builds it (docs/models.md,
/// "Adding a mixer"): the single-rank layer, the sequence-parallel layer where one exists, the
/// paper's own block, and what the mixer supports. Configuration checks, benchmarks, tests and
/// docs iterate `allCases`.
public enum MixerKind: String, Sendable, Codable, CaseIterable {
    /// Softmax multi-head attention, the Transformer baseline (with `downsample`, the
    /// Fourier Transformer).
    case attention
    /// FNet: the real part of a 2-D DFT over sequence and hidden axes (no parameters).
    case fnet
    /// FFTNet: an adaptive spectral filter conditioned on the global context, with modReLU.
    case fftnet
    /// Kernelized attention with relative positional encoding, its Toeplitz products by FFT.
    case kernelizedRPE = "kernelized_rpe"
    /// Kernelized attention with positive random features and no RPE (Performer).
    case performer
    /// GFNet: a learnable complex filter per frequency and channel (Rao et al., NeurIPS 2021).
    case gfnet

    /// The name in benchmark tables and docs.
    public var title: String {
        switch self {
        case .attention: return "softmax attention"
        case .fnet: return "FNet"
        case .fftnet: return "FFTNet"
        case .kernelizedRPE: return "kernelized attention + RPE"
        case .performer: return "Performer (no RPE)"
        case .gfnet: return "GFNet global filter"
        }
    }

    /// Whether `parallel.seq_parallel > 1` can split the sequence for this mixer.
    public var supportsSequenceParallel: Bool {
        switch self {
        case .fnet, .fftnet: return true
        case .attention, .kernelizedRPE, .performer, .gfnet: return false
        }
    }

    /// Whether the mixer's parameters are sized for one sequence length, so that inputs must have
    /// exactly `model.max_length` tokens (a filter per frequency).
    public var filtersFixedLength: Bool { self == .fftnet || self == .gfnet }

    /// Whether `model.causal` applies.
    public var supportsCausal: Bool { self == .attention || self == .kernelizedRPE || self == .performer }

    /// A lower bound on the mixer's parameters and on the activation bytes its backward keeps per
    /// sequence, for a block that sees `length` tokens (`MemoryEstimate`): the weight matrices
    /// and filters, and the N × N probabilities of softmax attention, the random-feature maps of
    /// the kernelized mixers, the spectra of the FFT mixers.
    public func memoryLowerBound(_ c: ModelConfiguration, length: Int) -> (parameters: Double, activationBytes: Double) {
        let (d, h, n) = (Double(c.dim), Double(c.heads), Double(length))
        let bins = c.filterKnots > 0 ? Double(c.filterKnots) : n / 2 + 1
        switch self {
        case .attention: return (4 * d * d, 4 * h * n * n)
        case .kernelizedRPE, .performer: return (4 * d * d, 4 * 2 * h * n * Double(c.randomFeatures))
        case .fftnet: return (d * d + h * bins * d, 8 * (n / 2 + 1) * d)
        case .gfnet: return (2 * bins * d, 8 * (n / 2 + 1) * d)
        case .fnet: return (0, 8 * (n / 2 + 1) * d)
        }
    }

    /// FFTNet's initial modReLU bias: 0 in the paper's v1 layer (72d20e1), −0.1 otherwise (the
    /// official code's later commit).
    static func fftnetModReLUBias(_ c: ModelConfiguration) -> Float { c.block == .paper ? 0 : -0.1 }

    /// The single-rank mixer for a block that sees sequences of `length` tokens; `seed` draws
    /// random features.
    public func makeMixer(_ c: ModelConfiguration, name: String, arena: ParameterArena, length: Int,
                          seed: UInt64) -> any TokenMixer {
        switch self {
        case .attention:
            return SoftmaxAttention(name, arena: arena, dim: c.dim, heads: c.heads, causal: c.causal)
        case .fnet:
            return FNetMixing()
        case .fftnet:
            return FFTNetMixing(name, arena: arena, dim: c.dim, heads: c.heads, sequenceLength: length,
                                filterKnots: c.filterKnots > 0 ? c.filterKnots : nil,
                                modReLUBias: MixerKind.fftnetModReLUBias(c))
        case .kernelizedRPE, .performer:
            return KernelizedAttention(name, arena: arena, dim: c.dim, heads: c.heads, maxLength: length,
                                       features: c.randomFeatures, causal: c.causal,
                                       usesRelativePositions: self == .kernelizedRPE,
                                       redrawInterval: c.featureRedrawInterval > 0 ? c.featureRedrawInterval : nil,
                                       seed: seed)
        case .gfnet:
            return GlobalFilterMixing(name, arena: arena, dim: c.dim, sequenceLength: length)
        }
    }

    /// The sequence-parallel mixer on `sharding`'s group for sequences of `length` tokens in
    /// all. Only for mixers that `supportsSequenceParallel` (`SequenceSharding.check` runs first).
    /// - Throws: `SequenceParallelError` when the shape does not split.
    public func makeSequenceParallelMixer(_ c: ModelConfiguration, name: String, arena: ParameterArena, length: Int,
                                          sharding: SequenceSharding) throws -> any TokenMixer {
        switch self {
        case .fftnet:
            return try SequenceParallelFFTNetMixing(name, arena: arena, dim: c.dim, heads: c.heads, sequenceLength: length,
                                                    filterKnots: c.filterKnots > 0 ? c.filterKnots : nil, group: sharding.group,
                                                    modReLUBias: MixerKind.fftnetModReLUBias(c), failures: sharding.failures)
        case .fnet:
            return try SequenceParallelFNetMixing(sequenceLength: length, dim: c.dim, group: sharding.group)
        case .attention, .kernelizedRPE, .performer, .gfnet:
            preconditionFailure("\(rawValue) has no sequence-parallel form: SequenceSharding.check refuses it")
        }
    }

    /// Each block's layout, LayerNorm ε and GELU form, and whether a final LayerNorm follows the
    /// blocks, for `model.block` (docs/models.md, "Paper blocks"). Shortening blocks of a paper
    /// Fourier Transformer become `.shortenedResidual` in `EncoderTower`.
    public func blockDesign(_ c: ModelConfiguration)
        -> (layout: EncoderBlock.Layout, epsilon: Float, tanhGELU: Bool, finalNorm: Bool) {
        guard c.block == .paper else { return (.preNorm, 1e-5, false, true) }
        switch self {
        case .fnet:  // f_net/layers.py: post-norm, LAYER_NORM_EPSILON 1e-12, Flax's gelu; no final norm
            return (.postNorm, 1e-12, true, false)
        case .fftnet:  // fftnet_modules.py: nn.LayerNorm and nn.GELU defaults
            return (.mixerPostNorm, 1e-5, false, true)
        case .attention where !c.downsample.isEmpty:  // LUMIA-Group model.py: PyTorch defaults
            return (.preNorm, 1e-5, false, true)
        case .attention, .performer, .kernelizedRPE:  // LRA: Flax LayerNorm, gelu
            return (.preNorm, 1e-6, true, true)
        case .gfnet:  // raoyongming/GFNet gfnet.py Block: filter and MLP under one residual, LayerNorm ε 1e-6
            return (.serial, 1e-6, false, true)
        }
    }
}

extension ModelConfiguration {
    /// What this model asks of sequence parallelism over `ranks` ranks, for `SequenceSharding.check`.
    public func shardingRequest(ranks: Int, task: String, taskSupported: Bool, sequenceLength: Int) -> SequenceSharding.Request {
        SequenceSharding.Request(ranks: ranks, mixer: mixer.rawValue, mixerSupported: mixer.supportsSequenceParallel,
                                 supportedMixers: MixerKind.allCases.filter(\.supportsSequenceParallel).map(\.rawValue),
                                 downsamples: !downsample.isEmpty, task: task, taskSupported: taskSupported,
                                 sequenceLength: sequenceLength, maxLength: maxLength, classToken: pooling.addsClassToken)
    }
}
