import Layers
import Parameters
import SpectralMixing

extension MixerKind {
    /// Kernelized attention with relative positional encoding, its Toeplitz products by FFT.
    public static let kernelizedRPE = MixerKind(KernelizedAttentionDefinition(usesRelativePositions: true))
    /// Kernelized attention with positive random features and no RPE (Performer).
    public static let performer = MixerKind(KernelizedAttentionDefinition(usesRelativePositions: false))
}

/// Kernelized attention (`Sources/SpectralMixing/KernelizedAttention.swift`), with RPE
/// (`kernelized_rpe`, Luo et al.) or without (`performer`). Reads `model.random_features` and
/// `model.feature_redraw_interval`; its paper block is LRA's Transformer block.
struct KernelizedAttentionDefinition: MixerDefinition {
    let usesRelativePositions: Bool
    var name: String { usesRelativePositions ? "kernelized_rpe" : "performer" }
    var title: String { usesRelativePositions ? "kernelized attention + RPE" : "Performer (no RPE)" }
    let supportsCausal = true
    let settings = ["random_features", "feature_redraw_interval"]
    var referenceFixtures: [String] { usesRelativePositions ? ["kernelized-rpe", "kernelized-rpe-causal"] : ["performer"] }
    var checkpointTensors: [MixerTensor] {
        [MixerTensor(["query.weight", "query.bias", "key.weight", "key.bias", "value.weight", "value.bias",
                      "output.weight", "output.bias"], shape: "(D, D), (D)", "projections")]
            + (usesRelativePositions
                ? [MixerTensor(["rpe.bias"], shape: "(H, 2·max_length − 1)", "b_t for offset t at index t + max_length − 1")] : [])
            + [MixerTensor(["features"], shape: "(m, D/H)", "the random features Ω in use (a buffer: not trained; shared by the layer's heads)")]
    }

    func paperBlock(_ c: ModelConfiguration) -> BlockDesign { .lra }

    func memoryLowerBound(_ c: ModelConfiguration, length: Int) -> (parameters: Double, activationBytes: Double) {
        let (d, h, n) = (Double(c.dim), Double(c.heads), Double(length))
        return (4 * d * d, 4 * 2 * h * n * Double(c.randomFeatures))
    }

    func makeMixer(_ c: ModelConfiguration, name: String, arena: ParameterArena, length: Int, seed: UInt64) -> any TokenMixer {
        KernelizedAttention(name, arena: arena, dim: c.dim, heads: c.heads, maxLength: length, features: c.randomFeatures,
                            causal: c.causal, usesRelativePositions: usesRelativePositions,
                            redrawInterval: c.featureRedrawInterval > 0 ? c.featureRedrawInterval : nil, seed: seed)
    }
}
