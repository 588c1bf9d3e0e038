import Parameters
import TensorCore

/// An encoder block: a token mixer and an MLP, each with a residual connection and a
/// LayerNorm, arranged as one of the `Layout`s (docs/models.md, "Paper blocks"). Parseval's default
/// is pre-norm:
///
///     h = x + Dropout(Mixer(LN1(x)));  y = h + Dropout(MLP(LN2(h)))
///
/// The mixer is any `TokenMixer`: softmax attention, FNet, FFTNet, kernelized attention.
/// Parameters `NAME.norm1.*`, `NAME.mixer.*`, `NAME.norm2.*`, `NAME.mlp.*` in every layout (a
/// norm's name says which of the two it is, not where it sits), so layouts share checkpoints'
/// names and shapes.
public final class EncoderBlock: SequenceLayer {
    /// Where the norms and residuals sit: each paper's official code, exactly.
    public enum Layout {
        /// Parseval's default and LRA's Transformer (`lra_benchmarks/models/transformer`):
        /// h = x + D(M(LN1 x)); y = h + D(MLP(LN2 h)).
        case preNorm
        /// FNet (`f_net/layers.py` EncoderBlock): h = LN1(x + M(x)); y = LN2(h + D(MLP(h))).
        case postNorm
        /// FFTNet v1 (`fftnet_modules.py` at 72d20e1): the mixer normalises its own output,
        /// h = LN1(x + D(M(x))); then y = h + D(MLP(LN2 h)). The mixer sees x, pads included
        /// (its context mean runs over every token).
        case mixerPostNorm
        /// The Fourier Transformer's shortening layer (LUMIA-Group `attention_dct.py` and
        /// `model.py`): s = S(LN1 x) with S the DCT downsampling (`DCTDownsampler`); h = s + D(M(s)); y = h + D(MLP(LN2 h)).
        /// The shortened, normalised sequence is the residual; the mixer sees no padding mask.
        case shortenedResidual(any SequenceLayer)
        /// GFNet (`gfnet.py` `Block`): mixer and MLP in series under one residual,
        /// y = x + D(MLP(LN2(M(LN1 x)))).
        case serial
    }

    public let layout: Layout
    public let norm1: LayerNorm
    public let mixer: any TokenMixer
    public let dropout1: Dropout
    public let norm2: LayerNorm
    public let mlp: MLP
    public let dropout2: Dropout

    /// `makeMixer` receives the mixer's parameter-name prefix (`NAME.mixer`) so that it
    /// registers its parameters between norm1's and norm2's, in execution order.
    /// - Parameters:
    ///   - epsilon: both LayerNorms' ε (PyTorch 1e-5, Flax 1e-6, FNet 1e-12).
    ///   - tanhGELU: the MLP's GELU in its tanh form (JAX's default) instead of the exact one.
    public init(_ name: String, arena: ParameterArena, dim: Int, mlpHidden: Int, dropout: Float, streamID: UInt64,
                layout: Layout = .preNorm, epsilon: Float = 1e-5, tanhGELU: Bool = false,
                makeMixer: (String) -> any TokenMixer) {
        self.layout = layout
        norm1 = LayerNorm("\(name).norm1", arena: arena, size: dim, epsilon: epsilon)
        mixer = makeMixer("\(name).mixer")
        dropout1 = Dropout(rate: dropout, streamID: streamID &* 2)
        norm2 = LayerNorm("\(name).norm2", arena: arena, size: dim, epsilon: epsilon)
        mlp = MLP("\(name).mlp", arena: arena, dim: dim, hidden: mlpHidden, tanhGELU: tanhGELU)
        dropout2 = Dropout(rate: dropout, streamID: streamID &* 2 &+ 1)
    }

    /// Residual sums are formed inside the LayerNorm passes (`LayerNorm.forward(_:adding:)`).
    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        switch layout {
        case .preNorm:
            let mixed = dropout1.forward(mixer.forward(norm1.forward(x, context: context), context: context), context: context)
            let (h, normalized) = norm2.forward(mixed, adding: x)
            return mlpResidual(normalized, adding: h, context: context)
        case .postNorm:
            let mixed = dropout1.forward(mixer.forward(x, context: context), context: context)
            let h = norm1.forward(mixed, adding: x).normalized
            let fed = dropout2.forward(mlp.forward(h, context: context), context: context)
            return norm2.forward(fed, adding: h).normalized
        case .mixerPostNorm:
            var unmasked = context
            unmasked.mask = nil
            let mixed = dropout1.forward(mixer.forward(x, context: unmasked), context: context)
            let h = norm1.forward(mixed, adding: x).normalized
            return mlpResidual(norm2.forward(h, context: context), adding: h, context: context)
        case .shortenedResidual(let shortening):
            var unmasked = context
            unmasked.mask = nil
            let short = shortening.forward(norm1.forward(x, context: context), context: context)
            let mixed = dropout1.forward(mixer.forward(short, context: unmasked), context: context)
            let (h, normalized) = norm2.forward(mixed, adding: short)
            return mlpResidual(normalized, adding: h, context: context)
        case .serial:
            let mixed = mixer.forward(norm1.forward(x, context: context), context: context)
            return mlpResidual(norm2.forward(mixed, context: context), adding: x, context: context)
        }
    }

    /// y = h + Dropout(MLP(normalized)).
    func mlpResidual(_ normalized: Tensor, adding h: Tensor, context: ForwardContext) -> Tensor {
        var y = dropout2.forward(mlp.forward(normalized, context: context), context: context)
        add(h, into: &y)
        return y
    }

    /// The residual gradients are added inside the LayerNorm backward passes where they can be.
    public func backward(_ dy: Tensor) -> Tensor {
        switch layout {
        case .preNorm:
            let dh = norm2.backward(mlp.backward(dropout2.backward(dy)), adding: dy)
            return norm1.backward(mixer.backward(dropout1.backward(dh)), adding: dh)
        case .postNorm:
            let dSum2 = norm2.backward(dy)
            var dh = mlp.backward(dropout2.backward(dSum2))
            add(dSum2, into: &dh)
            let dSum1 = norm1.backward(dh)
            var dx = mixer.backward(dropout1.backward(dSum1))
            add(dSum1, into: &dx)
            return dx
        case .mixerPostNorm:
            let dh = norm2.backward(mlp.backward(dropout2.backward(dy)), adding: dy)
            let dSum1 = norm1.backward(dh)
            var dx = mixer.backward(dropout1.backward(dSum1))
            add(dSum1, into: &dx)
            return dx
        case .shortenedResidual(let shortening):
            let dh = norm2.backward(mlp.backward(dropout2.backward(dy)), adding: dy)
            var dShort = mixer.backward(dropout1.backward(dh))
            add(dh, into: &dShort)
            return norm1.backward(shortening.backward(dShort))
        case .serial:
            let dMixed = norm2.backward(mlp.backward(dropout2.backward(dy)))
            return norm1.backward(mixer.backward(dMixed), adding: dy)
        }
    }
}

/// y ← y + x for tensors of the same shape (residual connections).
func add(_ x: Tensor, into y: inout Tensor) {
    precondition(x.shape == y.shape, "residual: shapes \(x.shape) and \(y.shape) differ")
    x.withUnsafeBufferPointer { xs in y.withUnsafeMutableBufferPointer { Kernels.axpy(1, xs, $0) } }
}
