import Layers
import Parameters

extension MixerKind {
    /// Softmax multi-head attention, the Transformer baseline (with `model.downsample`, the
    /// Fourier Transformer).
    public static let attention = MixerKind(SoftmaxAttentionDefinition())
}

/// Softmax attention (`Sources/Layers/SoftmaxAttention.swift`): its paper block is LRA's
/// Transformer, or with `model.downsample` the Fourier Transformer's (LUMIA-Group `model.py`,
/// PyTorch defaults); its fixtures cover both, the class token and LRA's MLP head.
struct SoftmaxAttentionDefinition: MixerDefinition {
    let name = "attention"
    let title = "softmax attention"
    let supportsCausal = true
    let downsampledName = "fourier_transformer"
    let referenceFixtures = ["attention", "attention-causal", "attention-cls", "fourier-transformer",
                             "fourier-transformer-cls", "transformer-lra"]
    let checkpointTensors = [
        MixerTensor(["qkv.weight", "qkv.bias"], shape: "(3D, D), (3D)",
                    "rows [0, D) give Q, [D, 2D) K, [2D, 3D) V; head h is columns h·D/H…(h+1)·D/H of each, as `nn.MultiheadAttention`'s `in_proj_weight`"),
        MixerTensor(["out.weight", "out.bias"], shape: "(D, D), (D)", "output projection"),
    ]

    func paperBlock(_ c: ModelConfiguration) -> BlockDesign {
        c.downsample.isEmpty ? .lra : .preNorm  // LUMIA-Group model.py: PyTorch defaults
    }

    /// Backward keeps the projected Q, K, V and the attended context (4·N·D) and each query's
    /// log-sum-exp (H·N): the layer is memory-efficient and never stores the N × N probabilities
    /// (`SoftmaxAttention`), so they are not part of the bound.
    func memoryLowerBound(_ c: ModelConfiguration, length: Int) -> (parameters: Double, activationBytes: Double) {
        let (d, h, n) = (Double(c.dim), Double(c.heads), Double(length))
        return (4 * d * d, 4 * (4 * n * d + h * n))
    }

    func makeMixer(_ c: ModelConfiguration, name: String, arena: ParameterArena, length: Int, seed: UInt64) -> any TokenMixer {
        SoftmaxAttention(name, arena: arena, dim: c.dim, heads: c.heads, causal: c.causal)
    }
}
