import Distributed
import Layers
import Parameters
import TensorCore

/// A sequence classifier: `EncoderTower` then a linear head over the pooled vector
/// (ListOps, Text, Image, Pathfinder). Parameters `head.weight`, `head.bias` after the tower's.
public final class EncoderClassifier {
    public let configuration: ModelConfiguration
    public let arena: ParameterArena
    public let tower: EncoderTower
    public let head: Linear
    let headFirstParameter: Int

    public convenience init(_ configuration: ModelConfiguration, seed: UInt64) {
        // Cannot throw: without a sequence group every mixer is the single-rank layer.
        try! self.init(configuration, seed: seed, sequenceGroup: nil)
    }

    /// The classifier on this rank's token block of sequences split over `sequenceGroup`
    /// (`EncoderTower`); nil: whole sequences. Collective over the group.
    public init(_ configuration: ModelConfiguration, seed: UInt64, sequenceGroup: Communicator?) throws {
        self.configuration = configuration
        arena = ParameterArena()
        tower = try EncoderTower(configuration, arena: arena, seed: seed, sequenceGroup: sequenceGroup)
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
    ///
    /// With a sequence group of P ranks the head runs on every rank of the group from the same
    /// pooled vector: its gradient is counted once per group (1/P on each rank), while the
    /// gradient of the pooled vector passed down stays the full value on every rank.
    public func backward(_ dLogits: Tensor, gradientsReady: ((Int) -> Void)? = nil) {
        let ranks = tower.sequenceGroup?.size ?? 1
        var dPooled: Tensor
        if ranks > 1 {
            var shared = dLogits
            shared.withUnsafeMutableBufferPointer { Kernels.scale($0, by: 1 / Float(ranks)) }
            dPooled = head.backward(shared)
            dPooled.withUnsafeMutableBufferPointer { Kernels.scale($0, by: Float(ranks)) }
        } else {
            dPooled = head.backward(dLogits)
        }
        gradientsReady?(headFirstParameter)
        tower.backward(dPooled, gradientsReady: gradientsReady)
    }
}
