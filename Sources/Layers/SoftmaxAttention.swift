import Foundation
import TensorCore

/// Multi-head softmax self-attention, the Transformer baseline (Vaswani et al. 2017):
/// Attn(Q, K, V) = softmax(Q Kᵀ / √d_h + M) V per head, Q|K|V = x W_qkvᵀ + b, y = concat(heads) W_outᵀ + b.
///
/// x: (B, N, D) → y: (B, N, D), H heads of d_h = D / H. M is −∞ for padded keys
/// (`context.mask`) and, when `causal`, for keys after the query; a query with no key left
/// attends to nothing (a zero context row).
///
/// Memory-efficient, after FlashAttention (Dao et al. 2022) on a CPU: each (batch, head) runs
/// on one thread, over blocks of `queryBlock` queries against all keys, so a block's scores
/// S = Q Kᵀ / √d_h (`queryBlock` × N) stay in that core's cache and the B·H·N² probabilities
/// are never stored. Forward keeps only each query's log-sum-exp ℓ; backward recomputes
/// P = exp(S − ℓ) block by block and, with dP = dC Vᵀ,
/// dS = P ⊙ (dP − rowsum(dP ⊙ P)), dQ = dS K / √d_h, dK += dSᵀ Q / √d_h, dV += Pᵀ dC.
/// A (batch, head) task owns its dK and dV columns, so the sums need no locks and do not
/// depend on the thread count. BLAS runs single-threaded inside the tasks.
public final class SoftmaxAttention: TokenMixer {
    public let dim: Int
    public let heads: Int
    public let causal: Bool
    public let qkv: Linear
    public let output: Linear
    /// Queries per block: the block's scores (`queryBlock` × N floats) are one thread's scratch.
    public let queryBlock: Int
    var projected = Tensor.empty  // (B, N, 3D)
    var logSumExp = Tensor.empty  // ℓ: (B, H, N); −∞ for a query with no admissible key
    var mask: Tensor? = nil

    public init(_ name: String, arena: ParameterArena, dim: Int, heads: Int, causal: Bool = false, queryBlock: Int = 64) {
        precondition(dim % heads == 0, "SoftmaxAttention: dim \(dim) is not divisible by heads \(heads)")
        precondition(queryBlock >= 1, "SoftmaxAttention: queryBlock must be at least 1, got \(queryBlock)")
        self.dim = dim
        self.heads = heads
        self.causal = causal
        self.queryBlock = queryBlock
        qkv = Linear("\(name).qkv", arena: arena, inputSize: dim, outputSize: 3 * dim)
        output = Linear("\(name).out", arena: arena, inputSize: dim, outputSize: dim)
    }

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        let (batch, length) = (x.shape[0], x.shape[1])
        let headDim = dim / heads, scale = 1 / Float(headDim).squareRoot()
        let (dim, heads, block, causal) = (dim, heads, queryBlock, causal)
        projected = qkv.forward(x, context: context)
        mask = context.mask
        var attended = Tensor(uninitialized: [batch, length, dim])
        var lse = Tensor(uninitialized: [batch, heads, length])
        projected.withUnsafeBufferPointer { qkvBuffer in
            attended.withUnsafeMutableBufferPointer { cBuffer in
                lse.withUnsafeMutableBufferPointer { lseBuffer in
                    let qkvBase = qkvBuffer.baseAddress!, cBase = cBuffer.baseAddress!, lseBase = lseBuffer.baseAddress!
                    SoftmaxAttention.perHead(batch * heads, scratchRows: block * length) { task, scores in
                        let (b, h) = (task / heads, task % heads)
                        let keys = KeyMask(mask, batch: b, length: length)
                        let q = qkvBase + b * length * 3 * dim + h * headDim, k = q + dim, v = q + 2 * dim
                        let c = cBase + b * length * dim + h * headDim, rowLSE = lseBase + task * length
                        for q0 in stride(from: 0, to: length, by: block) {
                            let rows = min(block, length - q0), width = causal ? q0 + rows : length
                            // S = Q Kᵀ / √d_h for this block's queries, then P in place and ℓ.
                            gemm(.none, .transposed, m: rows, n: width, k: headDim, alpha: scale,
                                 a: q + q0 * 3 * dim, lda: 3 * dim, b: k, ldb: 3 * dim, beta: 0, c: scores, ldc: width)
                            for r in 0..<rows {
                                let limit = causal ? q0 + r + 1 : width
                                rowLSE[q0 + r] = SoftmaxAttention.softmaxRow(scores + r * width, width: width, limit: limit,
                                                                             keys: keys)
                            }
                            // C = P V
                            gemm(.none, .none, m: rows, n: headDim, k: width, a: scores, lda: width, b: v, ldb: 3 * dim,
                                 beta: 0, c: c + q0 * dim, ldc: dim)
                        }
                    }
                }
            }
        }
        logSumExp = lse
        return output.forward(attended, context: context)
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let (batch, length) = (projected.shape[0], projected.shape[1])
        let headDim = dim / heads, scale = 1 / Float(headDim).squareRoot()
        let (dim, heads, block, causal, mask) = (dim, heads, queryBlock, causal, mask)
        let dAttended = output.backward(dy)
        var dProjected = Tensor(zeros: projected.shape)  // dK and dV accumulate over query blocks
        projected.withUnsafeBufferPointer { qkvBuffer in
            logSumExp.withUnsafeBufferPointer { lseBuffer in
                dAttended.withUnsafeBufferPointer { dcBuffer in
                    dProjected.withUnsafeMutableBufferPointer { dqkvBuffer in
                        let qkvBase = qkvBuffer.baseAddress!, lseBase = lseBuffer.baseAddress!
                        let dcBase = dcBuffer.baseAddress!, dqkvBase = dqkvBuffer.baseAddress!
                        SoftmaxAttention.perHead(batch * heads, scratchRows: 2 * block * length) { task, scratch in
                            let (b, h) = (task / heads, task % heads)
                            let keys = KeyMask(mask, batch: b, length: length)
                            let offset = b * length * 3 * dim + h * headDim
                            let q = qkvBase + offset, k = q + dim, v = q + 2 * dim
                            let dq = dqkvBase + offset, dk = dq + dim, dv = dq + 2 * dim
                            let dc = dcBase + b * length * dim + h * headDim, rowLSE = lseBase + task * length
                            let p = scratch, ds = scratch + block * length
                            for q0 in stride(from: 0, to: length, by: block) {
                                let rows = min(block, length - q0), width = causal ? q0 + rows : length
                                // P = exp(S − ℓ), recomputed.
                                gemm(.none, .transposed, m: rows, n: width, k: headDim, alpha: scale,
                                     a: q + q0 * 3 * dim, lda: 3 * dim, b: k, ldb: 3 * dim, beta: 0, c: p, ldc: width)
                                for r in 0..<rows {
                                    SoftmaxAttention.recomputeRow(p + r * width, width: width,
                                                                  limit: causal ? q0 + r + 1 : width,
                                                                  logSumExp: rowLSE[q0 + r], keys: keys)
                                }
                                // dV += Pᵀ dC;  dP = dC Vᵀ;  dS = P ⊙ (dP − rowsum(dP ⊙ P))
                                gemm(.transposed, .none, m: width, n: headDim, k: rows, a: p, lda: width,
                                     b: dc + q0 * dim, ldb: dim, beta: 1, c: dv, ldc: 3 * dim)
                                gemm(.none, .transposed, m: rows, n: width, k: headDim, a: dc + q0 * dim, lda: dim,
                                     b: v, ldb: 3 * dim, beta: 0, c: ds, ldc: width)
                                for r in 0..<rows {
                                    let pr = p + r * width, dr = ds + r * width
                                    let dot = Kernels.rowDot(pr, dr, count: width)
                                    for j in 0..<width { dr[j] = pr[j] * (dr[j] - dot) }
                                }
                                // dQ = dS K / √d_h;  dK += dSᵀ Q / √d_h
                                gemm(.none, .none, m: rows, n: headDim, k: width, alpha: scale, a: ds, lda: width,
                                     b: k, ldb: 3 * dim, beta: 0, c: dq + q0 * 3 * dim, ldc: 3 * dim)
                                gemm(.transposed, .none, m: width, n: headDim, k: rows, alpha: scale, a: ds, lda: width,
                                     b: q + q0 * 3 * dim, ldb: 3 * dim, beta: 1, c: dk, ldc: 3 * dim)
                            }
                        }
                    }
                }
            }
        }
        projected = Tensor.empty
        logSumExp = Tensor.empty
        self.mask = nil
        return qkv.backward(dProjected)
    }

    // MARK: - Kernels

    /// Runs `body(task, scratch)` for tasks 0..<count, one (batch, head) each, in parallel
    /// with single-threaded BLAS; each thread gets `scratchRows` floats of scratch.
    static func perHead(_ count: Int, scratchRows: Int,
                        _ body: (Int, UnsafeMutablePointer<Float>) -> Void) {
        Threading.withSingleThreadedBLAS {
            parallelFor(count, grain: 1) { tasks in
                var scratch = Tensor(uninitialized: [scratchRows])
                scratch.withUnsafeMutableBufferPointer { buffer in
                    for task in tasks { body(task, buffer.baseAddress!) }
                }
            }
        }
    }

    /// The padding mask's row for one batch element: 1 for a key that may be attended.
    struct KeyMask {
        let valid: UnsafePointer<Float>?
        init(_ mask: Tensor?, batch: Int, length: Int) {
            valid = mask.map { UnsafePointer($0.storage.pointer + batch * length) }
        }
    }

    /// Softmax in place over row[0..<limit] (row[limit..<width] set to 0), skipping padded
    /// keys; returns the log-sum-exp, −∞ (and a zero row) when no key is admissible. The loops
    /// are branch-free (admissibility as a 0/1 factor, `Kernels.exponentiate`) so they vectorise.
    @inline(__always)
    static func softmaxRow(_ row: UnsafeMutablePointer<Float>, width: Int, limit: Int, keys: KeyMask) -> Float {
        if limit < width { (row + limit).update(repeating: 0, count: width - limit) }
        let highest: Float
        if let valid = keys.valid {
            highest = Kernels.maskedRowMaximum(row, mask: valid, count: limit)
        } else {
            highest = Kernels.rowMaximum(row, count: limit)
        }
        if highest == -.infinity {
            row.update(repeating: 0, count: limit)
            return -.infinity
        }
        Kernels.exponentiate(row, count: limit, shift: highest, scale: keys.valid)
        let total = Kernels.rowSum(row, count: limit)
        let inverse = 1 / total
        for j in 0..<limit { row[j] *= inverse }
        return highest + Foundation.log(total)
    }

    /// P = exp(S − ℓ) over row[0..<limit] (0 beyond it, for padded keys, and for ℓ = −∞).
    @inline(__always)
    static func recomputeRow(_ row: UnsafeMutablePointer<Float>, width: Int, limit: Int, logSumExp: Float, keys: KeyMask) {
        if limit < width { (row + limit).update(repeating: 0, count: width - limit) }
        if logSumExp == -.infinity {
            row.update(repeating: 0, count: limit)
            return
        }
        Kernels.exponentiate(row, count: limit, shift: logSumExp, scale: keys.valid)
    }
}
