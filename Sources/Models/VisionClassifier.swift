import Layers
import Parameters
import TensorCore

/// The FFTNet ViT (docs/models.md): non-overlapping P×P patches → Linear to D, learned positions,
/// encoder blocks over the patch sequence (any mixer), mean pooling, a linear head.
/// Parameters: `patch_embedding.*`, then the tower's (`position`, `blocks.L.…`, `norm.*`), `head.*`.
public final class VisionClassifier {
    public let configuration: ModelConfiguration
    public let arena: ParameterArena
    public let patches: PatchEmbedding
    public let tower: EncoderTower
    public let head: Linear
    let headFirstParameter: Int

    /// `configuration.maxLength` must be at least the patch count (H/P)·(W/P).
    public init(_ configuration: ModelConfiguration, imageChannels: Int, patchSize: Int, seed: UInt64) {
        self.configuration = configuration
        arena = ParameterArena()
        patches = PatchEmbedding("patch_embedding", arena: arena, patchSize: patchSize, channels: imageChannels,
                                 dim: configuration.dim)
        tower = EncoderTower(configuration, arena: arena, embedsTokens: false, seed: seed)
        headFirstParameter = arena.entries.count
        head = Linear("head", arena: arena, inputSize: configuration.dim, outputSize: configuration.classes)
        arena.allocate(seed: seed)
    }

    /// (B, H, W, C) images → logits (B, classes).
    public func forward(images: Tensor, context: ForwardContext) -> Tensor {
        head.forward(tower.forward(embedded: patches.forward(images, context: context), mask: nil, context: context),
                     context: context)
    }

    public func backward(_ dLogits: Tensor, gradientsReady: ((Int) -> Void)? = nil) {
        let dPooled = head.backward(dLogits)
        gradientsReady?(headFirstParameter)
        _ = patches.backward(tower.backward(dPooled, gradientsReady: gradientsReady))
        gradientsReady?(0)
    }
}
