import Datasets
import Distributed
import Layers
import Models
import Parameters
import SequenceParallel
import TensorCore

/// What the trainer needs of a model: logits for a batch, and a backward pass that reports
/// when gradients are final (for overlapped all-reduce). A collective that fails inside a
/// sharded layer is recorded, not thrown (layers cannot throw): the caller asks
/// `SequenceSharding.throwIfFailed` after each forward and backward.
public protocol TrainableModel: AnyObject {
    var arena: ParameterArena { get }
    func logits(for batch: Batch, context: ForwardContext) -> Tensor
    func backward(_ dLogits: Tensor, gradientsReady: ((Int) -> Void)?)
}

extension EncoderClassifier: TrainableModel {
    /// With a sequence group, this rank's block of the batch's tokens and mask goes in.
    public func logits(for batch: Batch, context: ForwardContext) -> Tensor {
        let sharding = tower.sharding
        let block = sharding?.block(tokens: batch.tokens, mask: batch.mask, batch: batch.size, length: batch.sequenceLength,
                                    classToken: tower.classToken != nil)
            ?? (tokens: batch.tokens, mask: batch.mask, length: batch.sequenceLength)
        return forward(tokens: block.tokens, mask: Tensor(shape: [batch.size, block.length], values: block.mask),
                       batch: batch.size, length: block.length, context: context)
    }
}

extension DualEncoder: TrainableModel {
    public func logits(for batch: Batch, context: ForwardContext) -> Tensor {
        let shape = [batch.size, batch.sequenceLength]
        return forward(first: batch.tokens, firstMask: Tensor(shape: shape, values: batch.mask),
                       second: batch.pairedTokens ?? [], secondMask: batch.pairedMask.map { Tensor(shape: shape, values: $0) },
                       batch: batch.size, length: batch.sequenceLength, context: context)
    }
}

extension VisionClassifier: TrainableModel {
    public func logits(for batch: Batch, context: ForwardContext) -> Tensor {
        guard let images = batch.images else { preconditionFailure("VisionClassifier: a batch without images") }
        return forward(images: images, context: context)
    }
}

/// The model a task needs: a vision classifier for images, a dual encoder for pairs, else
/// a sequence classifier — on token blocks when `sharding` splits each sequence.
public func makeModel(_ configuration: ModelConfiguration, for data: TaskData, seed: UInt64,
                      sharding: SequenceSharding? = nil) throws -> any TrainableModel {
    try makeModel(configuration, images: data.images, paired: data.paired, seed: seed, sharding: sharding)
}

/// The model of a task kind: images (cifar10, imagenet), pairs (retrieval) or sequences, the
/// last on token blocks when `sharding` splits each sequence (P > 1; it must be a sequence task,
/// `SequenceSharding.check`).
public func makeModel(_ configuration: ModelConfiguration, images: Bool, paired: Bool, seed: UInt64,
                      sharding: SequenceSharding? = nil) throws -> any TrainableModel {
    if let sharding, sharding.isSharded {
        do {
            // The tower checks the model's side (`EncoderTower.init`); only the task is known here.
            if images || paired {
                try SequenceSharding.check(configuration.shardingRequest(
                    ranks: sharding.ranks, task: images ? "(an image task)" : "(a pair task)",
                    taskSupported: false, sequenceLength: configuration.maxLength))
            }
            return try EncoderClassifier(configuration, seed: seed, sharding: sharding)
        } catch let error as SequenceParallelError {
            throw ConfigurationError(error.description)
        }
    }
    if images { return VisionClassifier(configuration, imageChannels: 3, patchSize: configuration.patchSize, seed: seed) }
    return paired ? DualEncoder(configuration, seed: seed) : EncoderClassifier(configuration, seed: seed)
}

extension DataConfiguration {
    /// Whether the task's examples are images or pairs: what `makeModel` builds, without the data.
    public var taskShape: (images: Bool, paired: Bool) {
        (task.images, task.paired)
    }
}
