import Parameters
import TensorCore

/// The Transformer's position-wise feed-forward network: Linear → GELU → Linear,
/// (B, N, D) → (B, N, hidden) → (B, N, D). Parameters `NAME.fc1.*`, `NAME.fc2.*`. GELU is the
/// exact erf form (PyTorch's default), or with `tanhGELU` the tanh approximation that JAX and
/// Flax use by default (the FNet and LRA codebases).
///
/// fc1's bias add and the GELU run as one pass over the (B, N, hidden) activation
/// (`Kernels.biasGELU`), and so do GELU's backward and fc1's bias gradient
/// (`Kernels.geluBackwardBiasGradient`): the same values as `Linear` then `GELU`.
///
/// Only the pre-activation a is kept for backward, not GELU(a) as well: the pass that computes
/// GELU's backward recomputes GELU(a) (the same bits) for fc2's weight gradient, so each layer
/// keeps one (B, N, hidden) activation instead of two — 67 MB per layer of the standard encoder.
/// (With bf16 products fc2 keeps its half-size bf16 copy of GELU(a) instead, as before.)
public final class MLP: SequenceLayer {
    public let fc1: Linear
    public let fc2: Linear
    public let tanhGELU: Bool
    var preActivation = Tensor.empty  // x · W1ᵀ + b1, kept for GELU's backward
    /// Whether backward recomputes GELU(a), fc2's input, instead of keeping it (on by default;
    /// off only to compare the two in tests).
    var recomputesHidden = true

    public init(_ name: String, arena: ParameterArena, dim: Int, hidden: Int, tanhGELU: Bool = false) {
        self.tanhGELU = tanhGELU
        fc1 = Linear("\(name).fc1", arena: arena, inputSize: dim, outputSize: hidden)
        fc2 = Linear("\(name).fc2", arena: arena, inputSize: hidden, outputSize: dim)
    }

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        var a = fc1.product(x)
        var h = Tensor(uninitialized: a.shape)
        let hidden = fc1.outputSize, rows = a.count / hidden
        a.withUnsafeMutableBufferPointer { pre in
            h.withUnsafeMutableBufferPointer { out in
                Kernels.biasGELU(pre, bias: fc1.arena.value(fc1.bias!), rows: rows, cols: hidden, into: out, tanhForm: tanhGELU)
            }
        }
        preActivation = a
        let y = fc2.forward(h, context: context)
        if recomputesHidden { fc2.releaseInput() }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        // fc2 released GELU(a) in forward (fp32 products): the pass that computes GELU's backward
        // writes it again, for fc2's weight gradient.
        let recomputes = fc2.inputReleased
        let dh = recomputes ? fc2.inputGradient(dy) : fc2.backward(dy)
        let hidden = fc1.outputSize, rows = dh.count / hidden
        var da = Tensor(uninitialized: dh.shape)
        var h: Tensor? = recomputes ? Tensor(uninitialized: dh.shape) : nil
        Tensor.withUnsafeBufferPointers(writing: &da, &h, reading: preActivation, dh) { out, values, pre, g in
            Kernels.geluBackwardBiasGradient(pre, g, rows: rows, cols: hidden, into: out,
                                             biasGradient: fc1.arena.gradient(fc1.bias!), tanhForm: tanhGELU,
                                             recomputing: values)
        }
        if let h { fc2.addParameterGradients(dy, input: h) }
        preActivation = Tensor.empty
        return fc1.backward(da, biasGradientDone: true)
    }
}
