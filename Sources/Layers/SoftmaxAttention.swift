import Foundation
import Parameters
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
    /// Under `KernelChoices` the measured plan for the shape overrides it and the precision.
    public let queryBlock: Int
    /// The plan of the last forward pass, which its backward pass follows.
    var plan = AttentionPlan(precision: .fp32, queryBlock: 64)
    /// A plan that overrides every choice (the layers `measure` times).
    var fixedPlan: AttentionPlan? = nil
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
        plan = resolvePlan(length: length)
        let (dim, heads, block, causal, bf16) = (dim, heads, plan.queryBlock, causal, plan.precision == .bf16)
        projected = qkv.forward(x, context: context)
        mask = context.mask
        var attended = Tensor(uninitialized: [batch, length, dim])
        var lse = Tensor(uninitialized: [batch, heads, length])
        Tensor.withUnsafeBufferPointers(writing: &attended, &lse,
                                        reading: projected, mask) { cBuffer, lseBuffer, qkvBuffer, maskBuffer in
            let qkvBase = qkvBuffer.baseAddress!, cBase = cBuffer.baseAddress!, lseBase = lseBuffer.baseAddress!
            let maskBase = maskBuffer?.baseAddress
            SoftmaxAttention.perHead(batch * heads, scratchRows: block * length) { task, scores in
                let (b, h) = (task / heads, task % heads)
                let keys = KeyMask(maskBase, batch: b, length: length)
                let q = qkvBase + b * length * 3 * dim + h * headDim
                let c = cBase + b * length * dim + h * headDim, rowLSE = lseBase + task * length
                let head = HeadOperands(q: q, dim: dim, headDim: headDim, length: length, block: block,
                                        scale: scale, bf16: bf16)
                for q0 in stride(from: 0, to: length, by: block) {
                    let rows = min(block, length - q0), width = causal ? q0 + rows : length
                    // S = Q Kᵀ / √d_h for this block's queries, then P in place and ℓ.
                    head.product(.none, .transposed, m: rows, n: width, k: headDim, alpha: scale,
                                 head.queries(from: q0), head.keys, beta: 0, c: scores, ldc: width)
                    for r in 0..<rows {
                        let limit = causal ? q0 + r + 1 : width
                        rowLSE[q0 + r] = SoftmaxAttention.softmaxRow(scores + r * width, width: width, limit: limit,
                                                                     keys: keys)
                    }
                    // C = P V
                    head.product(.none, .none, m: rows, n: headDim, k: width, alpha: 1,
                                 head.block(scores, rows: rows, width: width, scale: 1), head.values,
                                 beta: 0, c: c + q0 * dim, ldc: dim)
                }
            }
        }
        logSumExp = lse
        return output.forward(attended, context: context)
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let (batch, length) = (projected.shape[0], projected.shape[1])
        let headDim = dim / heads, scale = 1 / Float(headDim).squareRoot()
        let (dim, heads, block, causal, mask) = (dim, heads, plan.queryBlock, causal, mask)
        let bf16 = plan.precision == .bf16
        let dAttended = output.backward(dy)
        var dProjected = Tensor(zeros: projected.shape)  // dK and dV accumulate over query blocks
        Tensor.withUnsafeBufferPointers(writing: &dProjected,
                                        reading: projected, logSumExp, dAttended,
                                        mask) { dqkvBuffer, qkvBuffer, lseBuffer, dcBuffer, maskBuffer in
            let qkvBase = qkvBuffer.baseAddress!, lseBase = lseBuffer.baseAddress!
            let dcBase = dcBuffer.baseAddress!, dqkvBase = dqkvBuffer.baseAddress!, maskBase = maskBuffer?.baseAddress
            SoftmaxAttention.perHead(batch * heads, scratchRows: 2 * block * length) { task, scratch in
                let (b, h) = (task / heads, task % heads)
                let keys = KeyMask(maskBase, batch: b, length: length)
                let offset = b * length * 3 * dim + h * headDim
                let q = qkvBase + offset
                let dq = dqkvBase + offset, dk = dq + dim, dv = dq + 2 * dim
                let rowLSE = lseBase + task * length
                let p = scratch, ds = scratch + block * length
                let head = HeadOperands(q: q, dim: dim, headDim: headDim, length: length, block: block,
                                        scale: scale, bf16: bf16, outputGradient: dcBase + b * length * dim + h * headDim)
                for q0 in stride(from: 0, to: length, by: block) {
                    let rows = min(block, length - q0), width = causal ? q0 + rows : length
                    // P = exp(S − ℓ), recomputed.
                    head.product(.none, .transposed, m: rows, n: width, k: headDim, alpha: scale,
                                 head.queries(from: q0), head.keys, beta: 0, c: p, ldc: width)
                    for r in 0..<rows {
                        SoftmaxAttention.recomputeRow(p + r * width, width: width,
                                                      limit: causal ? q0 + r + 1 : width,
                                                      logSumExp: rowLSE[q0 + r], keys: keys)
                    }
                    // dV += Pᵀ dC;  dP = dC Vᵀ;  dS = P ⊙ (dP − rowsum(dP ⊙ P))
                    head.product(.transposed, .none, m: width, n: headDim, k: rows, alpha: 1,
                                 head.block(p, rows: rows, width: width, scale: 1), head.outputGradient(from: q0),
                                 beta: 1, c: dv, ldc: 3 * dim)
                    head.product(.none, .transposed, m: rows, n: width, k: headDim, alpha: 1,
                                 head.outputGradient(from: q0), head.values, beta: 0, c: ds, ldc: width)
                    for r in 0..<rows {
                        let pr = p + r * width, dr = ds + r * width
                        let dot = Kernels.rowDot(pr, dr, count: width)
                        for j in 0..<width { dr[j] = pr[j] * (dr[j] - dot) }
                    }
                    // dQ = dS K / √d_h;  dK += dSᵀ Q / √d_h
                    head.product(.none, .none, m: rows, n: headDim, k: width, alpha: scale,
                                 head.block(ds, rows: rows, width: width, scale: scale), head.keys,
                                 beta: 0, c: dq + q0 * 3 * dim, ldc: 3 * dim)
                    head.product(.transposed, .none, m: width, n: headDim, k: rows, alpha: scale,
                                 head.block(ds, rows: rows, width: width, scale: 1), head.queries(from: q0),
                                 beta: 1, c: dk, ldc: 3 * dim)
                }
            }
        }
        projected = Tensor.empty
        logSumExp = Tensor.empty
        self.mask = nil
        return qkv.backward(dProjected)
    }

    // MARK: - The plan: precision and query block

    /// The configured plan (the process's precision, `queryBlock`), or under `KernelChoices`
    /// the one measured fastest for this shape: bf16 requests try fp32 too, so bf16 attention
    /// is never slower than fp32 attention where the choice was measured.
    func resolvePlan(length: Int) -> AttentionPlan {
        if let fixedPlan { return fixedPlan }
        let asked = Matmul.precision
        let configured = AttentionPlan(precision: asked, queryBlock: queryBlock)
        guard KernelChoices.mode != .off else { return configured }
        let (headDim, causal) = (dim / heads, causal)
        let shape = AttentionShape(length: length, headDim: headDim, causal: causal, threads: Threading.count, precision: asked)
        let precisions: [MatmulPrecision] = asked == .bf16 ? [.bf16, .fp32] : [.fp32]
        let candidates = [configured] + precisions.flatMap { precision in
            AttentionPlan.queryBlocks.map { AttentionPlan(precision: precision, queryBlock: $0) }
        }.filter { $0 != configured }
        return KernelChoices.attentionPlan(shape, candidates: candidates) { candidate in
            SoftmaxAttention.timeHead(candidate, length: length, headDim: headDim, causal: causal)
        } ?? configured
    }

    /// Seconds one head of width `headDim` over `length` positions takes forward and backward
    /// under `plan` (a one-head layer on random inputs: the per-head work that dominates).
    static func timeHead(_ plan: AttentionPlan, length: Int, headDim: Int, causal: Bool) -> Double {
        let arena = ParameterArena()
        let layer = SoftmaxAttention("tuning", arena: arena, dim: headDim, heads: 1, causal: causal, queryBlock: plan.queryBlock)
        layer.fixedPlan = plan
        arena.allocate(seed: 1)
        var random = RandomStream(seed: 2)
        let x = Tensor(shape: [1, length, headDim], values: (0..<length * headDim).map { _ in random.normal() })
        let context = ForwardContext(training: true)
        return KernelChoices.seconds { _ = layer.backward(layer.forward(x, context: context)) }
    }

    // MARK: - Operands in the plan's precision

    /// A matrix in one (batch, head)'s products: an fp32 view with its row stride, and under
    /// bf16 products a dense bf16 copy holding `scale` × the matrix. A product's `alpha` must
    /// equal the product of its bf16 operands' scales (the copies carry it), so both precisions
    /// compute the same alpha · op(A) · op(B).
    struct Operand {
        let values: UnsafePointer<Float>
        let ld: Int
        let bf16: UnsafeMutablePointer<UInt16>?
        let bf16LD: Int
        let scale: Float

        func rows(from row: Int) -> Operand {
            Operand(values: values + row * ld, ld: ld, bf16: bf16.map { $0 + row * bf16LD }, bf16LD: bf16LD, scale: scale)
        }
    }

    /// One (batch, head)'s Q, K, V (and dC in backward). With bf16 products, Q (scaled by 1/√d_h,
    /// as every product with it is), K, V and dC are converted once per head rather than once per
    /// query block, into the thread's bf16 scratch; the blocks of P and dS are converted per block.
    struct HeadOperands {
        let queryValues: Operand, keys: Operand, values: Operand
        let gradient: Operand?
        let blockScratch: UnsafeMutablePointer<UInt16>?

        init(q: UnsafePointer<Float>, dim: Int, headDim: Int, length: Int, block: Int, scale: Float, bf16: Bool,
             outputGradient: UnsafePointer<Float>? = nil) {
            let (k, v) = (q + dim, q + 2 * dim)
            guard bf16 else {
                queryValues = Operand(values: q, ld: 3 * dim, bf16: nil, bf16LD: 0, scale: 1)
                keys = Operand(values: k, ld: 3 * dim, bf16: nil, bf16LD: 0, scale: 1)
                values = Operand(values: v, ld: 3 * dim, bf16: nil, bf16LD: 0, scale: 1)
                gradient = outputGradient.map { Operand(values: $0, ld: dim, bf16: nil, bf16LD: 0, scale: 1) }
                blockScratch = nil
                return
            }
            let matrices = outputGradient == nil ? 3 : 4
            let scratch = ThreadScratch.bf16(.bf16Operands, count: matrices * length * headDim + block * length)
            func copy(_ source: UnsafePointer<Float>, ld: Int, slot: Int, scale: Float) -> Operand {
                let destination = scratch + slot * length * headDim
                Matmul.convertToBF16(source, ld: ld, into: destination, rows: length, columns: headDim, scale: scale)
                return Operand(values: source, ld: ld, bf16: destination, bf16LD: headDim, scale: scale)
            }
            queryValues = copy(q, ld: 3 * dim, slot: 0, scale: scale)
            keys = copy(k, ld: 3 * dim, slot: 1, scale: 1)
            values = copy(v, ld: 3 * dim, slot: 2, scale: 1)
            gradient = outputGradient.map { copy($0, ld: dim, slot: 3, scale: 1) }
            blockScratch = scratch + matrices * length * headDim
        }

        func queries(from row: Int) -> Operand { queryValues.rows(from: row) }
        func outputGradient(from row: Int) -> Operand { gradient!.rows(from: row) }

        /// A block of P or dS (rows × width, fp32, computed here) as an operand; under bf16 it is
        /// converted (× `scale`) into the block scratch, replacing the previous block's copy.
        func block(_ values: UnsafeMutablePointer<Float>, rows: Int, width: Int, scale: Float) -> Operand {
            guard let blockScratch else { return Operand(values: values, ld: width, bf16: nil, bf16LD: 0, scale: 1) }
            Matmul.convertToBF16(values, ld: width, into: blockScratch, rows: rows, columns: width, scale: scale)
            return Operand(values: values, ld: width, bf16: blockScratch, bf16LD: width, scale: scale)
        }

        /// C ← alpha · op(A) · op(B) + beta · C in the plan's precision.
        func product(_ transposeA: Transpose, _ transposeB: Transpose, m: Int, n: Int, k: Int, alpha: Float,
                     _ a: Operand, _ b: Operand, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
            if let a16 = a.bf16, let b16 = b.bf16 {
                precondition(a.scale * b.scale == alpha, "attention: bf16 operands carry \(a.scale * b.scale), alpha is \(alpha)")
                gemmBF16(transposeA, transposeB, m: m, n: n, k: k, a: a16, lda: a.bf16LD, b: b16, ldb: b.bf16LD,
                         beta: beta, c: c, ldc: ldc)
            } else {
                gemm(transposeA, transposeB, m: m, n: n, k: k, alpha: alpha, a: a.values, lda: a.ld,
                     b: b.values, ldb: b.ld, beta: beta, c: c, ldc: ldc, precision: .fp32)
            }
        }
    }

    // MARK: - Kernels

    /// Runs `body(task, scratch)` for tasks 0..<count, one (batch, head) each, in parallel
    /// with single-threaded BLAS; each thread gets `scratchRows` floats of scratch (its own
    /// `ThreadScratch`, so the tensor pool sees the same requests however tasks are scheduled).
    static func perHead(_ count: Int, scratchRows: Int,
                        _ body: (Int, UnsafeMutablePointer<Float>) -> Void) {
        Threading.withSingleThreadedBLAS {
            parallelFor(count, grain: 1) { tasks in
                let scratch = ThreadScratch.floats(.rows, count: scratchRows)
                for task in tasks { body(task, scratch) }
            }
        }
    }

    /// The padding mask's row for one batch element: 1 for a key that may be attended.
    struct KeyMask {
        let valid: UnsafePointer<Float>?
        init(_ mask: UnsafePointer<Float>?, batch: Int, length: Int) {
            valid = mask.map { $0 + batch * length }
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
