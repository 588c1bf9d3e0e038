import Layers
import Parameters
import TensorCore

/// The classifier over the pooled vector (`model.head`).
public enum HeadKind: String, Sendable, Codable, CaseIterable {
    /// One Linear(D, classes): `head.weight`, `head.bias`.
    case linear
    /// Linear(D, H) → ReLU → Linear(H, classes), H = `mlp_hidden`: LRA's `classifier_head`
    /// (Dense(mlp_dim) → relu → Dense) and the LUMIA code's `SCHead`. `head.fc1.*`, `head.fc2.*`.
    case mlp
}

/// Pooled (B, D) → logits (B, classes), as `HeadKind` says.
public final class ClassifierHead {
    public var kind: HeadKind { hidden == nil ? .linear : .mlp }
    /// The hidden layer of `mlp`; nil for `linear`.
    public let hidden: Linear?
    let activation = ReLU()
    public let output: Linear

    public init(_ name: String = "head", arena: ParameterArena, kind: HeadKind, dim: Int, hiddenSize: Int, classes: Int) {
        switch kind {
        case .linear:
            hidden = nil
            output = Linear(name, arena: arena, inputSize: dim, outputSize: classes)
        case .mlp:
            hidden = Linear("\(name).fc1", arena: arena, inputSize: dim, outputSize: hiddenSize)
            output = Linear("\(name).fc2", arena: arena, inputSize: hiddenSize, outputSize: classes)
        }
    }

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        guard let hidden else { return output.forward(x, context: context) }
        return output.forward(activation.forward(hidden.forward(x, context: context), context: context), context: context)
    }

    /// Gradient of the logits → parameter gradients; returns the pooled vector's.
    public func backward(_ dy: Tensor) -> Tensor {
        let g = output.backward(dy)
        guard let hidden else { return g }
        return hidden.backward(activation.backward(g))
    }
}
