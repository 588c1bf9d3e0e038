import CKernels
import TensorCore

/// Layer normalisation over the last axis (D), eps 1e-5, weight 1 and bias 0 at init:
/// y = (x − μ) / √(σ² + ε) · γ + β, σ² the biased variance.
///
/// Backward: with x̂ the normalised input and g = dy ⊙ γ,
/// dx = (g − mean(g) − x̂ · mean(g ⊙ x̂)) / √(σ² + ε); dγ += Σ dy ⊙ x̂; dβ += Σ dy.
public final class LayerNorm: SequenceLayer {
    public let arena: ParameterArena
    public let weight: Parameter
    public let bias: Parameter
    public let size: Int
    public let epsilon: Float
    var normalized = Tensor.empty
    var inverseStd: [Float] = []

    public init(_ name: String, arena: ParameterArena, size: Int, epsilon: Float = 1e-5) {
        self.arena = arena
        self.size = size
        self.epsilon = epsilon
        weight = arena.register("\(name).weight", shape: [size], initializer: .constant(1), weightDecay: false)
        bias = arena.register("\(name).bias", shape: [size], initializer: .zeros, weightDecay: false)
    }

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        precondition(x.shape.last == size, "LayerNorm: input \(x.shape) does not end in \(size)")
        let rows = x.count / size, d = size, eps = epsilon
        var y = Tensor(uninitialized: x.shape)
        var xhat = Tensor(uninitialized: x.shape)
        var rstd = [Float](repeating: 0, count: rows)
        let gamma = arena.value(weight), beta = arena.value(bias)
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { ys in
                xhat.withUnsafeMutableBufferPointer { hs in
                    rstd.withUnsafeMutableBufferPointer { rs in
                        let xp = xs.baseAddress!, yp = ys.baseAddress!, hp = hs.baseAddress!, rp = rs.baseAddress!
                        parallelFor(rows, grain: max(1, 8192 / d)) { range in
                            for r in range {
                                let row = xp + r * d, out = yp + r * d, h = hp + r * d
                                let mean = Kernels.rowSum(row, count: d) / Float(d)
                                for j in 0..<d { h[j] = row[j] - mean }
                                let inv = 1 / (Kernels.rowDot(h, h, count: d) / Float(d) + eps).squareRoot()
                                rp[r] = inv
                                for j in 0..<d {
                                    h[j] *= inv
                                    out[j] = h[j] * gamma[j] + beta[j]
                                }
                            }
                        }
                    }
                }
            }
        }
        normalized = xhat
        inverseStd = rstd
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        backward(dy, adding: nil)
    }

    /// Backward with a residual branch's gradient added to dx in the same pass (the pre-norm
    /// block's dx = LN.backward(g) + residual), saving a sweep over the activation.
    package func backward(_ dy: Tensor, adding residual: Tensor?) -> Tensor {
        let rows = normalized.count / size, d = size
        precondition(residual.map { $0.count == normalized.count } ?? true,
                     "LayerNorm.backward: residual gradient \(residual?.shape ?? []) for input \(normalized.shape)")
        var dx = Tensor(uninitialized: normalized.shape)
        let gamma = arena.value(weight)
        dy.withUnsafeBufferPointer { gs in
            normalized.withUnsafeBufferPointer { hs in
                dx.withUnsafeMutableBufferPointer { dxs in
                    inverseStd.withUnsafeBufferPointer { rs in
                        let gp = gs.baseAddress!, hp = hs.baseAddress!, out = dxs.baseAddress!, rp = rs.baseAddress!
                        // Read-only; `residual` is held for the whole call.
                        let ep = residual.map { UnsafePointer($0.storage.pointer) }
                        // One pass per row: γ and β gradients (column sums of g ⊙ x̂ and g, in
                        // fixed row blocks) and dx = rstd · (g ⊙ γ − mean(g ⊙ γ) − x̂ · mean(g ⊙ γ ⊙ x̂)).
                        Kernels.accumulateColumnSums(rows: rows, width: d,
                                                     into: [arena.gradient(weight), arena.gradient(bias)]) { range, partial in
                            let offset = range.lowerBound * d
                            pv_layernorm_backward(gp + offset, hp + offset, gamma, rp + range.lowerBound,
                                                  ep.map { $0 + offset }, range.count, d, out + offset, partial)
                        }
                    }
                }
            }
        }
        normalized = Tensor.empty
        return dx
    }
}
