import Layers
import TensorCore

/// A sequence classifier: `EncoderTower` then a linear head over the pooled vector
/// (ListOps, Text, Image, Pathfinder). Parameters `head.weight`, `head.bias` after the tower's.
public final class EncoderClassifier {
    public let configuration: ModelConfiguration
    public let arena: ParameterArena
    public let tower: EncoderTower
    public let head: Linear
    let headFirstParameter: Int

    public init(_ configuration: ModelConfiguration, seed: UInt64) {
        self.configuration = configuration
        arena = ParameterArena()
        tower = EncoderTower(configuration, arena: arena, seed: seed)
        headFirstParameter = arena.entries.count
        head = Linear("head", arena: arena, inputSize: configuration.dim, outputSize: configuration.classes)
        arena.allocate(seed: seed)
    }

    /// Logits (batch, classes).
    public func forward(tokens: [Int32], mask: Tensor?, batch: Int, length: Int, context: ForwardContext) -> Tensor {
        head.forward(tower.forward(tokens: tokens, mask: mask, batch: batch, length: length, context: context),
                     context: context)
    }

    /// Gradient of the logits → parameter gradients in the arena (see
    /// `EncoderTower.backward` for `gradientsReady`).
    public func backward(_ dLogits: Tensor, gradientsReady: ((Int) -> Void)? = nil) {
        let dPooled = head.backward(dLogits)
        gradientsReady?(headFirstParameter)
        tower.backward(dPooled, gradientsReady: gradientsReady)
    }
}
