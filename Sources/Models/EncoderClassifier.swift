import Distributed
import Layers
import Parameters
import SequenceParallel
import TensorCore

/// A sequence classifier: `EncoderTower` then a head over the pooled vector (ListOps, Text,
/// Image, Pathfinder): `head.weight`, `head.bias`, or with `model.head: mlp` `head.fc1.*`,
/// `head.fc2.*` (`ClassifierHead`), after the tower's parameters.
public final class EncoderClassifier {
    public let configuration: ModelConfiguration
    public let arena: ParameterArena
    public let tower: EncoderTower
    public let head: ClassifierHead
    let headFirstParameter: Int

    public convenience init(_ configuration: ModelConfiguration, seed: UInt64) {
        // Cannot throw: without a sequence group every mixer is the single-rank layer.
        try! self.init(configuration, seed: seed, sharding: nil)
    }

    /// The classifier on this rank's token block of sequences split as `sharding` says
    /// (`EncoderTower`); nil: whole sequences. Collective over the sequence group.
    public init(_ configuration: ModelConfiguration, seed: UInt64, sharding: SequenceSharding?) throws {
        self.configuration = configuration
        arena = ParameterArena()
        tower = try EncoderTower(configuration, arena: arena, seed: seed, sharding: sharding)
        headFirstParameter = arena.entries.count
        head = ClassifierHead(arena: arena, kind: configuration.head, dim: configuration.dim,
                              hiddenSize: configuration.mlpHidden, classes: configuration.classes)
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
    /// With a sequence group the head runs on every rank of the group from the same pooled
    /// vector (`SequenceSharding.replicatedBackward`).
    public func backward(_ dLogits: Tensor, gradientsReady: ((Int) -> Void)? = nil) {
        let dPooled = tower.sharding?.replicatedBackward(dLogits, head.backward) ?? head.backward(dLogits)
        gradientsReady?(headFirstParameter)
        tower.backward(dPooled, gradientsReady: gradientsReady)
    }
}
