import Layers
import Parameters
import TensorCore

/// The LRA Retrieval model: one shared `EncoderTower` encodes both documents, and a
/// two-layer head classifies [a, b, a ⊙ b, a − b] (LRA's `classifier_head_dual`: Dense →
/// ReLU → Dense). Both documents go through the tower as one batch of 2B sequences, so
/// the shared weights receive both gradients in one backward. Parameters after the
/// tower's: `head.fc1.*`, `head.fc2.*`.
public final class DualEncoder {
    public let configuration: ModelConfiguration
    public let arena: ParameterArena
    public let tower: EncoderTower
    public let hidden: Linear
    public let activation = ReLU()
    public let output: Linear
    var pooled = Tensor.empty
    let headFirstParameter: Int

    public init(_ configuration: ModelConfiguration, seed: UInt64) {
        self.configuration = configuration
        arena = ParameterArena()
        tower = EncoderTower(configuration, arena: arena, seed: seed)
        headFirstParameter = arena.entries.count
        hidden = Linear("head.fc1", arena: arena, inputSize: 4 * configuration.dim, outputSize: configuration.mlpHidden)
        output = Linear("head.fc2", arena: arena, inputSize: configuration.mlpHidden, outputSize: configuration.classes)
        arena.allocate(seed: seed)
    }

    /// `first` and `second` (batch, length) token ids with their masks → logits (batch, classes).
    public func forward(first: [Int32], firstMask: Tensor?, second: [Int32], secondMask: Tensor?,
                        batch: Int, length: Int, context: ForwardContext) -> Tensor {
        var mask: Tensor? = nil
        if firstMask != nil || secondMask != nil {
            let ones = [Float](repeating: 1, count: batch * length)
            mask = Tensor(shape: [2 * batch, length],
                          values: (firstMask?.scalars ?? ones) + (secondMask?.scalars ?? ones))
        }
        pooled = tower.forward(tokens: first + second, mask: mask, batch: 2 * batch, length: length, context: context)
        let d = configuration.dim
        var features = Tensor(zeros: [batch, 4 * d])
        pooled.withUnsafeBufferPointer { ps in
            features.withUnsafeMutableBufferPointer { fs in
                for b in 0..<batch {
                    let a = ps.baseAddress! + b * d, c = ps.baseAddress! + (batch + b) * d
                    let row = fs.baseAddress! + b * 4 * d
                    for j in 0..<d {
                        row[j] = a[j]
                        row[d + j] = c[j]
                        row[2 * d + j] = a[j] * c[j]
                        row[3 * d + j] = a[j] - c[j]
                    }
                }
            }
        }
        return output.forward(activation.forward(hidden.forward(features, context: context), context: context),
                              context: context)
    }

    public func backward(_ dLogits: Tensor, gradientsReady: ((Int) -> Void)? = nil) {
        let dFeatures = hidden.backward(activation.backward(output.backward(dLogits)))
        gradientsReady?(headFirstParameter)
        let batch = dFeatures.shape[0], d = configuration.dim
        var dPooled = Tensor(zeros: pooled.shape)
        Tensor.withUnsafeBufferPointers(writing: &dPooled, reading: pooled, dFeatures) { ds, ps, gs in
            for b in 0..<batch {
                let a = ps.baseAddress! + b * d, c = ps.baseAddress! + (batch + b) * d
                let g = gs.baseAddress! + b * 4 * d
                let da = ds.baseAddress! + b * d, dc = ds.baseAddress! + (batch + b) * d
                for j in 0..<d {
                    da[j] = g[j] + g[2 * d + j] * c[j] + g[3 * d + j]
                    dc[j] = g[d + j] + g[2 * d + j] * a[j] - g[3 * d + j]
                }
            }
        }
        tower.backward(dPooled, gradientsReady: gradientsReady)
    }
}
