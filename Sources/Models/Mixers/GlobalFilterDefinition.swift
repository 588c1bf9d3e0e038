import Layers
import Parameters
import SpectralMixing

extension MixerKind {
    /// GFNet: a learnable complex filter per frequency and channel (Rao et al., NeurIPS 2021).
    public static let gfnet = MixerKind(GlobalFilterDefinition())
}

/// GFNet's global filter (`Sources/SpectralMixing/GlobalFilterMixing.swift`): one weight per
/// frequency of a fixed length.
struct GlobalFilterDefinition: MixerDefinition {
    let name = "gfnet"
    let title = "GFNet global filter"
    let filtersFixedLength = true
    let checkpointTensors = [
        MixerTensor(["filter"], shape: "(F, D, 2)", "the complex filter W, (re, im) per frequency and channel, F = N/2 + 1 (GFNet's `complex_weight`)"),
    ]

    /// raoyongming/GFNet gfnet.py Block: filter and MLP under one residual, LayerNorm ε 1e-6.
    func paperBlock(_ c: ModelConfiguration) -> BlockDesign {
        BlockDesign(.serial, epsilon: 1e-6, tanhGELU: false, finalNorm: true)
    }

    func memoryLowerBound(_ c: ModelConfiguration, length: Int) -> (parameters: Double, activationBytes: Double) {
        let (d, bins) = (Double(c.dim), Double(length / 2 + 1))
        return (2 * bins * d, 8 * bins * d)
    }

    func makeMixer(_ c: ModelConfiguration, name: String, arena: ParameterArena, length: Int, seed: UInt64) -> any TokenMixer {
        GlobalFilterMixing(name, arena: arena, dim: c.dim, sequenceLength: length)
    }
}
