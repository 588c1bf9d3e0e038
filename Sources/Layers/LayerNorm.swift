import CKernels
import Parameters
import TensorCore

/// Layer normalisation over the last axis (D), eps 1e-5, weight 1 and bias 0 at init:
/// y = (x − μ) / √(σ² + ε) · γ + β, σ² the biased variance. The loops are `CKernels`'
/// `pv_layernorm_forward`/`_backward` (one clone per instruction set).
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
    var inverseStd = Tensor.empty  // 1/√(σ² + ε) per row

    public init(_ name: String, arena: ParameterArena, size: Int, epsilon: Float = 1e-5) {
        self.arena = arena
        self.size = size
        self.epsilon = epsilon
        weight = arena.register("\(name).weight", shape: [size], initializer: .constant(1), weightDecay: false)
        bias = arena.register("\(name).bias", shape: [size], initializer: .zeros, weightDecay: false)
    }

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        normalize(x, adding: nil).normalized
    }

    /// The pre-norm block's h = x + residual and LN(h) in one pass; returns both.
    package func forward(_ x: Tensor, adding residual: Tensor) -> (sum: Tensor, normalized: Tensor) {
        let (sum, normalized) = normalize(x, adding: residual)
        return (sum!, normalized)
    }

    func normalize(_ x: Tensor, adding residual: Tensor?) -> (sum: Tensor?, normalized: Tensor) {
        precondition(x.shape.last == size, "LayerNorm: input \(x.shape) does not end in \(size)")
        precondition(residual.map { $0.shape == x.shape } ?? true,
                     "LayerNorm: residual \(residual?.shape ?? []) for input \(x.shape)")
        let rows = x.count / size, d = size, eps = epsilon
        var y = Tensor(uninitialized: x.shape)
        var xhat = Tensor(uninitialized: x.shape)
        var rstd = Tensor(uninitialized: [rows])
        var sum = residual.map { _ in Tensor(uninitialized: x.shape) }
        let gamma = arena.value(weight), beta = arena.value(bias)
        Tensor.withUnsafeBufferPointers(writing: &y, &xhat, &rstd, &sum,
                                        reading: x, residual) { ys, hs, rs, ss, xs, es in
            let xp = xs.baseAddress!, yp = ys.baseAddress!, hp = hs.baseAddress!, rp = rs.baseAddress!
            let ep = es?.baseAddress, sp = ss?.baseAddress
            parallelFor(rows, grain: max(1, 8192 / d)) { range in
                let offset = range.lowerBound * d
                pv_layernorm_forward(xp + offset, ep.map { $0 + offset }, gamma, beta, range.count, d, eps,
                                     sp.map { $0 + offset }, hp + offset, rp + range.lowerBound, yp + offset)
            }
        }
        normalized = xhat
        inverseStd = rstd
        return (sum, y)
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
        Tensor.withUnsafeBufferPointers(writing: &dx,
                                        reading: dy, normalized, inverseStd, residual) { dxs, gs, hs, rs, es in
            let gp = gs.baseAddress!, hp = hs.baseAddress!, out = dxs.baseAddress!, rp = rs.baseAddress!
            let ep = es?.baseAddress
            // One pass per row: γ and β gradients (column sums of g ⊙ x̂ and g, in
            // fixed row blocks) and dx = rstd · (g ⊙ γ − mean(g ⊙ γ) − x̂ · mean(g ⊙ γ ⊙ x̂)).
            Kernels.accumulateColumnSums(rows: rows, width: d,
                                         into: [arena.gradient(weight), arena.gradient(bias)]) { range, partial in
                let offset = range.lowerBound * d
                pv_layernorm_backward(gp + offset, hp + offset, gamma, rp + range.lowerBound,
                                      ep.map { $0 + offset }, range.count, d, out + offset, partial)
            }
        }
        normalized = Tensor.empty
        return dx
    }
}
