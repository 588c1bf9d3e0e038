import TensorCore

/// A pre-norm residual encoder block (MODELS.md):
/// h = x + Dropout(Mixer(LN1(x)));  y = h + Dropout(MLP(LN2(h))).
/// The mixer is any `TokenMixer`: softmax attention, FNet, FFTNet, kernelized attention.
/// Parameters `NAME.norm1.*`, `NAME.mixer.*`, `NAME.norm2.*`, `NAME.mlp.*`.
public final class EncoderBlock: SequenceLayer {
    public let norm1: LayerNorm
    public let mixer: any TokenMixer
    public let dropout1: Dropout
    public let norm2: LayerNorm
    public let mlp: MLP
    public let dropout2: Dropout

    /// `makeMixer` receives the mixer's parameter-name prefix (`NAME.mixer`) so that it
    /// registers its parameters between norm1's and norm2's, in execution order.
    public init(_ name: String, arena: ParameterArena, dim: Int, mlpHidden: Int, dropout: Float, streamID: UInt64,
                makeMixer: (String) -> any TokenMixer) {
        norm1 = LayerNorm("\(name).norm1", arena: arena, size: dim)
        mixer = makeMixer("\(name).mixer")
        dropout1 = Dropout(rate: dropout, streamID: streamID &* 2)
        norm2 = LayerNorm("\(name).norm2", arena: arena, size: dim)
        mlp = MLP("\(name).mlp", arena: arena, dim: dim, hidden: mlpHidden)
        dropout2 = Dropout(rate: dropout, streamID: streamID &* 2 &+ 1)
    }

    /// h = x + mixed is formed inside norm2's pass (`LayerNorm.forward(_:adding:)`).
    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        let mixed = dropout1.forward(mixer.forward(norm1.forward(x, context: context), context: context), context: context)
        let (h, normalized) = norm2.forward(mixed, adding: x)
        var y = dropout2.forward(mlp.forward(normalized, context: context), context: context)
        add(h, into: &y)
        return y
    }

    /// The residual gradients are added inside the LayerNorm backward passes.
    public func backward(_ dy: Tensor) -> Tensor {
        let dh = norm2.backward(mlp.backward(dropout2.backward(dy)), adding: dy)
        return norm1.backward(mixer.backward(dropout1.backward(dh)), adding: dh)
    }
}

/// y ← y + x for tensors of the same shape (residual connections).
func add(_ x: Tensor, into y: inout Tensor) {
    precondition(x.shape == y.shape, "residual: shapes \(x.shape) and \(y.shape) differ")
    x.withUnsafeBufferPointer { xs in y.withUnsafeMutableBufferPointer { Kernels.axpy(1, xs, $0) } }
}
