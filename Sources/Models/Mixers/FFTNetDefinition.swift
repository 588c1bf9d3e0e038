import Layers
import Parameters
import SequenceParallel
import SpectralMixing

extension MixerKind {
    /// FFTNet: an adaptive spectral filter conditioned on the global context, with modReLU.
    public static let fftnet = MixerKind(FFTNetDefinition())
}

/// FFTNet v1 (`Sources/SpectralMixing/FFTNetMixing.swift`; sequence parallel:
/// `SequenceParallelFFTNetMixing`). Reads `model.filter_knots`.
struct FFTNetDefinition: MixerDefinition {
    let name = "fftnet"
    let title = "FFTNet"
    let supportsSequenceParallel = true
    let filtersFixedLength = true
    let settings = ["filter_knots"]
    let referenceFixtures = ["fftnet", "fftnet-cls"]
    let checkpointTensors = [
        MixerTensor(["filter.base"], shape: "(H, F)", "base filter, F = N/2 + 1 bins"),
        MixerTensor(["filter.fc1.weight", "filter.fc1.bias"], shape: "(D, D), (D)", "filter MLP in (from the context vector)"),
        MixerTensor(["filter.fc2.weight", "filter.fc2.bias"], shape: "(H·K, D), (H·K)", "filter MLP out: K = F, or `model.filter_knots`"),
        MixerTensor(["modrelu.bias"], shape: "(H, F)", "modReLU's bias"),
    ]

    /// The initial modReLU bias: 0 in the paper's v1 layer (72d20e1), −0.1 otherwise (the
    /// official code's later commit).
    static func modReLUBias(_ c: ModelConfiguration) -> Float { c.block == .paper ? 0 : -0.1 }

    /// jacobfa/fft fftnet_modules.py at 72d20e1: the mixer normalises its own output; nn.LayerNorm
    /// and nn.GELU defaults.
    func paperBlock(_ c: ModelConfiguration) -> BlockDesign {
        BlockDesign(.mixerPostNorm, epsilon: 1e-5, tanhGELU: false, finalNorm: true)
    }

    func memoryLowerBound(_ c: ModelConfiguration, length: Int) -> (parameters: Double, activationBytes: Double) {
        let (d, h, n) = (Double(c.dim), Double(c.heads), Double(length))
        let bins = c.filterKnots > 0 ? Double(c.filterKnots) : n / 2 + 1
        return (d * d + h * bins * d, 8 * (n / 2 + 1) * d)
    }

    func makeMixer(_ c: ModelConfiguration, name: String, arena: ParameterArena, length: Int, seed: UInt64) -> any TokenMixer {
        FFTNetMixing(name, arena: arena, dim: c.dim, heads: c.heads, sequenceLength: length,
                     filterKnots: c.filterKnots > 0 ? c.filterKnots : nil, modReLUBias: Self.modReLUBias(c))
    }

    func makeSequenceParallelMixer(_ c: ModelConfiguration, name: String, arena: ParameterArena, length: Int,
                                   sharding: SequenceSharding) throws -> any TokenMixer {
        try SequenceParallelFFTNetMixing(name, arena: arena, dim: c.dim, heads: c.heads, sequenceLength: length,
                                         filterKnots: c.filterKnots > 0 ? c.filterKnots : nil, group: sharding.group,
                                         modReLUBias: Self.modReLUBias(c), failures: sharding.failures)
    }
}
