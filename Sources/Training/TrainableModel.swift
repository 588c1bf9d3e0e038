import Datasets
import Layers
import Models
import TensorCore

/// What the trainer needs of a model: logits for a batch, and a backward pass that reports
/// when gradients are final (for overlapped all-reduce).
public protocol TrainableModel: AnyObject {
    var arena: ParameterArena { get }
    func logits(for batch: Batch, context: ForwardContext) -> Tensor
    func backward(_ dLogits: Tensor, gradientsReady: ((Int) -> Void)?)
}

extension EncoderClassifier: TrainableModel {
    public func logits(for batch: Batch, context: ForwardContext) -> Tensor {
        forward(tokens: batch.tokens, mask: Tensor(shape: [batch.size, batch.sequenceLength], values: batch.mask),
                batch: batch.size, length: batch.sequenceLength, context: context)
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
/// a sequence classifier.
public func makeModel(_ configuration: ModelConfiguration, for data: TaskData, seed: UInt64) -> any TrainableModel {
    if data.images { return VisionClassifier(configuration, imageChannels: 3, patchSize: configuration.patchSize, seed: seed) }
    return data.paired ? DualEncoder(configuration, seed: seed) : EncoderClassifier(configuration, seed: seed)
}
