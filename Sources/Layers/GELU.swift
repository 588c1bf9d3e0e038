import Foundation
import TensorCore

/// GELU in its exact (erf) form, PyTorch's default: y = x · Φ(x) = ½x(1 + erf(x/√2)).
/// dy/dx = Φ(x) + x · φ(x), φ the standard normal density.
public final class GELU: SequenceLayer {
    var input = Tensor(zeros: [0])

    public init() {}

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        input = x
        var y = Tensor(zeros: x.shape)
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { ys in
                let xp = xs.baseAddress!, yp = ys.baseAddress!
                parallelFor(xs.count, grain: 8192) { range in
                    for i in range { yp[i] = 0.5 * xp[i] * (1 + erff(xp[i] * 0.707_106_78)) }
                }
            }
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        var dx = Tensor(zeros: input.shape)
        input.withUnsafeBufferPointer { xs in
            dy.withUnsafeBufferPointer { dys in
                dx.withUnsafeMutableBufferPointer { dxs in
                    let xp = xs.baseAddress!, gp = dys.baseAddress!, out = dxs.baseAddress!
                    parallelFor(xs.count, grain: 8192) { range in
                        for i in range {
                            let x = xp[i]
                            let cdf = 0.5 * (1 + erff(x * 0.707_106_78))
                            let pdf = 0.398_942_28 * expf(-0.5 * x * x)
                            out[i] = gp[i] * (cdf + x * pdf)
                        }
                    }
                }
            }
        }
        input = Tensor(zeros: [0])
        return dx
    }
}
