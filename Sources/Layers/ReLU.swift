import TensorCore

/// y = max(x, 0); dy/dx = 1 where x > 0, else 0.
public final class ReLU: SequenceLayer {
    var input = Tensor.empty

    public init() {}

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        input = x
        var y = x
        y.withUnsafeMutableBufferPointer { ys in
            let p = ys.baseAddress!
            parallelFor(ys.count) { range in for i in range where p[i] < 0 { p[i] = 0 } }
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        var dx = dy
        input.withUnsafeBufferPointer { xs in
            dx.withUnsafeMutableBufferPointer { gs in
                let x = xs.baseAddress!, g = gs.baseAddress!
                parallelFor(gs.count) { range in for i in range where x[i] <= 0 { g[i] = 0 } }
            }
        }
        input = Tensor.empty
        return dx
    }
}
