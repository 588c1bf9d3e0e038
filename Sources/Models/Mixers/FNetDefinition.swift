import Layers
import Parameters
import SequenceParallel
import SpectralMixing

extension MixerKind {
    /// FNet: the real part of a 2-D DFT over sequence and hidden axes (no parameters).
    public static let fnet = MixerKind(FNetDefinition())
}

/// FNet (`Sources/SpectralMixing/FNetMixing.swift`; sequence parallel:
/// `SequenceParallelFNetMixing`).
struct FNetDefinition: MixerDefinition {
    let name = "fnet"
    let title = "FNet"
    let supportsSequenceParallel = true
    let referenceFixtures = ["fnet", "fnet-first"]
    let checkpointTensors = [MixerTensor([], shape: "", "no parameters")]

    /// google-research f_net/layers.py: post-norm, LAYER_NORM_EPSILON 1e-12, Flax's gelu; no final norm.
    func paperBlock(_ c: ModelConfiguration) -> BlockDesign {
        BlockDesign(.postNorm, epsilon: 1e-12, tanhGELU: true, finalNorm: false)
    }

    func memoryLowerBound(_ c: ModelConfiguration, length: Int) -> (parameters: Double, activationBytes: Double) {
        (0, 8 * (Double(length) / 2 + 1) * Double(c.dim))
    }

    func makeMixer(_ c: ModelConfiguration, name: String, arena: ParameterArena, length: Int, seed: UInt64) -> any TokenMixer {
        FNetMixing()
    }

    func makeSequenceParallelMixer(_ c: ModelConfiguration, name: String, arena: ParameterArena, length: Int,
                                   sharding: SequenceSharding) throws -> any TokenMixer {
        try SequenceParallelFNetMixing(sequenceLength: length, dim: c.dim, group: sharding.group)
    }
}
