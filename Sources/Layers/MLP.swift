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
public final class MLP: SequenceLayer {
    public let fc1: Linear
    public let fc2: Linear
    public let tanhGELU: Bool
    var preActivation = Tensor.empty  // x · W1ᵀ + b1, kept for GELU's backward

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
        return fc2.forward(h, context: context)
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let dh = fc2.backward(dy)
        let hidden = fc1.outputSize, rows = dh.count / hidden
        var da = Tensor(uninitialized: dh.shape)
        Tensor.withUnsafeBufferPointers(writing: &da, reading: preActivation, dh) { out, pre, g in
            Kernels.geluBackwardBiasGradient(pre, g, rows: rows, cols: hidden, into: out,
                                             biasGradient: fc1.arena.gradient(fc1.bias!), tanhForm: tanhGELU)
        }
        preActivation = Tensor.empty
        return fc1.backward(da, biasGradientDone: true)
    }
}
