import Datasets
import Distributed
import Layers
import Models
import Parameters
import SequenceParallel
import TensorCore

/// What the trainer needs of a model: logits for a batch, and a backward pass that reports
/// when gradients are final (for overlapped all-reduce).
public protocol TrainableModel: AnyObject {
    var arena: ParameterArena { get }
    func logits(for batch: Batch, context: ForwardContext) -> Tensor
    func backward(_ dLogits: Tensor, gradientsReady: ((Int) -> Void)?)
}

extension EncoderClassifier: TrainableModel {
    /// With a sequence group, this rank's block of the batch's tokens and mask goes in.
    public func logits(for batch: Batch, context: ForwardContext) -> Tensor {
        guard let group = tower.sequenceGroup else {
            return forward(tokens: batch.tokens, mask: Tensor(shape: [batch.size, batch.sequenceLength], values: batch.mask),
                           batch: batch.size, length: batch.sequenceLength, context: context)
        }
        let full = batch.sequenceLength, length = full / group.size, start = group.rank * length
        var tokens: [Int32] = [], mask: [Float] = []
        tokens.reserveCapacity(batch.size * length)
        mask.reserveCapacity(batch.size * length)
        for example in 0..<batch.size {
            let block = (example * full + start)..<(example * full + start + length)
            tokens += batch.tokens[block]
            mask += batch.mask[block]
        }
        return forward(tokens: tokens, mask: Tensor(shape: [batch.size, length], values: mask), batch: batch.size,
                       length: length, context: context)
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
/// a sequence classifier — on token blocks when a `sequenceGroup` shares each sequence.
public func makeModel(_ configuration: ModelConfiguration, for data: TaskData, seed: UInt64,
                      sequenceGroup: Communicator? = nil) throws -> any TrainableModel {
    try makeModel(configuration, images: data.images, paired: data.paired, seed: seed, sequenceGroup: sequenceGroup)
}

/// The model of a task kind: images (cifar10, imagenet), pairs (retrieval) or sequences, the
/// last on token blocks when a `sequenceGroup` shares each sequence.
public func makeModel(_ configuration: ModelConfiguration, images: Bool, paired: Bool, seed: UInt64,
                      sequenceGroup: Communicator? = nil) throws -> any TrainableModel {
    if let sequenceGroup {
        guard !images && !paired else {
            throw ConfigurationError("parallel.seq_parallel > 1 supports sequence classification tasks only")
        }
        do {
            return try EncoderClassifier(configuration, seed: seed, sequenceGroup: sequenceGroup)
        } catch let error as SequenceParallelError {
            throw ConfigurationError("parallel.seq_parallel \(sequenceGroup.size): \(error.description)")
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
