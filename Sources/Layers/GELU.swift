import TensorCore

/// GELU in its exact (erf) form, PyTorch's default: y = x · Φ(x) = ½x(1 + erf(x/√2)).
/// dy/dx = Φ(x) + x · φ(x), φ the standard normal density. Evaluated eight lanes at a time
/// (`Kernels.gelu`): erf to 1.5e-7, not libm's correctly-rounded erff.
public final class GELU: SequenceLayer {
    var input = Tensor.empty

    public init() {}

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        input = x
        var y = Tensor(uninitialized: x.shape)
        x.withUnsafeBufferPointer { xs in y.withUnsafeMutableBufferPointer { Kernels.gelu(xs, into: $0) } }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        var dx = Tensor(uninitialized: input.shape)
        Tensor.withUnsafeBufferPointers(writing: &dx, reading: input, dy) { dxs, xs, dys in
            Kernels.geluBackward(xs, dys, into: dxs)
        }
        input = Tensor.empty
        return dx
    }
}
