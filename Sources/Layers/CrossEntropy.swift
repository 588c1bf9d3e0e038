import Foundation
import TensorCore

/// Softmax cross-entropy over (B, C) logits with label smoothing and an ignore index,
/// averaged over the examples that are not ignored (PyTorch's `CrossEntropyLoss`).
///
/// With smoothing ε the target is q = (1 − ε)·onehot(y) + ε/C, the loss −Σ_c q_c log p_c,
/// and the gradient (p − q) / count.
public final class SoftmaxCrossEntropy {
    public let labelSmoothing: Float
    public let ignoreIndex: Int32
    var gradient = Tensor.empty

    public init(labelSmoothing: Float = 0, ignoreIndex: Int32 = -100) {
        precondition(labelSmoothing >= 0 && labelSmoothing < 1, "label smoothing must be in [0, 1), got \(labelSmoothing)")
        self.labelSmoothing = labelSmoothing
        self.ignoreIndex = ignoreIndex
    }

    public struct Result: Sendable {
        /// Mean loss over counted examples (0 if none).
        public var loss: Double
        /// Examples whose arg-max logit equals the label.
        public var correct: Int
        /// Examples counted (not ignored).
        public var count: Int
    }

    public func forward(logits: Tensor, labels: [Int32]) -> Result {
        let (batch, classes) = (logits.shape[0], logits.shape[1])
        precondition(labels.count == batch, "SoftmaxCrossEntropy: \(labels.count) labels for \(batch) examples")
        let counted = labels.filter { $0 != ignoreIndex }.count
        var grad = Tensor(zeros: logits.shape)
        var total = 0.0, correct = 0
        let epsilon = Double(labelSmoothing)
        logits.withUnsafeBufferPointer { zs in
            grad.withUnsafeMutableBufferPointer { gs in
                for b in 0..<batch where labels[b] != ignoreIndex {
                    let label = Int(labels[b])
                    precondition(label >= 0 && label < classes, "SoftmaxCrossEntropy: label \(label) outside 0..<\(classes)")
                    let row = zs.baseAddress! + b * classes, g = gs.baseAddress! + b * classes
                    var highest = -Double.infinity, best = 0
                    for c in 0..<classes where Double(row[c]) > highest { highest = Double(row[c]); best = c }
                    var sum = 0.0
                    for c in 0..<classes { sum += exp(Double(row[c]) - highest) }
                    let logSum = highest + log(sum)
                    for c in 0..<classes {
                        let logP = Double(row[c]) - logSum
                        let target = (c == label ? 1 - epsilon : 0) + epsilon / Double(classes)
                        total -= target * logP
                        g[c] = Float((exp(logP) - target) / Double(counted))
                    }
                    if best == label { correct += 1 }
                }
            }
        }
        gradient = grad
        return Result(loss: counted > 0 ? total / Double(counted) : 0, correct: correct, count: counted)
    }

    /// d(mean loss)/d(logits) of the last forward.
    public func backward() -> Tensor { gradient }
}
