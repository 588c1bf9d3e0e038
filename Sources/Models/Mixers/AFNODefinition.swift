import Layers
import Parameters
import SpectralMixing

extension MixerKind {
    /// AFNO: a block-diagonal complex MLP over every frequency, with soft-thresholding (Guibas et
    /// al., ICLR 2022).
    public static let afno = MixerKind(AFNODefinition())
}

/// The Adaptive Fourier Neural Operator (`Sources/SpectralMixing/AdaptiveFourierNeuralOperator.swift`),
/// NVlabs/AFNO-transformer's `AFNO1D`. Its K channel blocks are `model.heads` (the official
/// `num_blocks`; `--fno-blocks`): `model.dim` must split into them, as into heads. The rest is
/// fixed at the official classification model's values (`afnonet.py`): sparsity threshold
/// λ = 0.01, hidden size factor 1, every frequency kept (`hard_thresholding_fraction` 1). Its
/// weights do not depend on the length, so any length runs and DCT downsampling applies; it reads
/// no padding mask, has no causal form and no sequence-parallel layer.
struct AFNODefinition: MixerDefinition {
    let name = "afno"
    let title = "AFNO"
    let checkpointTensors = [
        MixerTensor(["w1"], shape: "(2, K, D/K, D/K)", "first complex layer per channel block, (re, im) first; K = `model.heads`"),
        MixerTensor(["b1"], shape: "(2, K, D/K)", "its bias"),
        MixerTensor(["w2"], shape: "(2, K, D/K, D/K)", "second complex layer per channel block"),
        MixerTensor(["b2"], shape: "(2, K, D/K)", "its bias"),
    ]

    /// afnonet.py `Block` (no `--double-skip`, the default): y = x + D(MLP(LN₂(AFNO(LN₁x)))), the
    /// filter keeping its own residual; `partial(nn.LayerNorm, eps=1e-6)`, nn.GELU; a final norm.
    func paperBlock(_ c: ModelConfiguration) -> BlockDesign {
        BlockDesign(.serial, epsilon: 1e-6, tanhGELU: false, finalNorm: true)
    }

    func memoryLowerBound(_ c: ModelConfiguration, length: Int) -> (parameters: Double, activationBytes: Double) {
        let (d, blockSize, bins) = (Double(c.dim), Double(c.dim / c.heads), Double(length / 2 + 1))
        return (4 * d * blockSize, 4 * 6 * bins * d)  // w1, w2; Z, O₁, O₂ kept as (re, im)
    }

    func makeMixer(_ c: ModelConfiguration, name: String, arena: ParameterArena, length: Int, seed: UInt64) -> any TokenMixer {
        AdaptiveFourierNeuralOperator(name, arena: arena, dim: c.dim, blocks: c.heads)
    }
}
