import TensorCore

/// The Transformer's position-wise feed-forward network: Linear → GELU → Linear,
/// (B, N, D) → (B, N, hidden) → (B, N, D). Parameters `NAME.fc1.*`, `NAME.fc2.*`.
public final class MLP: SequenceLayer {
    public let fc1: Linear
    public let activation = GELU()
    public let fc2: Linear

    public init(_ name: String, arena: ParameterArena, dim: Int, hidden: Int) {
        fc1 = Linear("\(name).fc1", arena: arena, inputSize: dim, outputSize: hidden)
        fc2 = Linear("\(name).fc2", arena: arena, inputSize: hidden, outputSize: dim)
    }

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        fc2.forward(activation.forward(fc1.forward(x, context: context), context: context), context: context)
    }

    public func backward(_ dy: Tensor) -> Tensor {
        fc1.backward(activation.backward(fc2.backward(dy)))
    }
}
