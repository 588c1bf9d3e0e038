import TensorCore

/// Multi-head softmax self-attention, the Transformer baseline (Vaswani et al. 2017):
/// Attn(Q, K, V) = softmax(Q Kᵀ / √d_h + M) V per head, Q|K|V = x W_qkvᵀ + b, y = concat(heads) W_outᵀ + b.
///
/// x: (B, N, D) → y: (B, N, D), H heads of d_h = D / H. M is −∞ for padded keys
/// (`context.mask`) and, when `causal`, for keys after the query. Backward keeps the
/// attention probabilities P (B·H·N² floats): with dP = dC Vᵀ,
/// dS = P ⊙ (dP − rowsum(dP ⊙ P)), dQ = dS K / √d_h, dK = dSᵀ Q / √d_h, dV = Pᵀ dC.
public final class SoftmaxAttention: TokenMixer {
    public let dim: Int
    public let heads: Int
    public let causal: Bool
    public let qkv: Linear
    public let output: Linear
    var projected = Tensor.empty      // (B, N, 3D)
    var probabilities = Tensor.empty  // (B, H, N, N)

    public init(_ name: String, arena: ParameterArena, dim: Int, heads: Int, causal: Bool = false) {
        precondition(dim % heads == 0, "SoftmaxAttention: dim \(dim) is not divisible by heads \(heads)")
        self.dim = dim
        self.heads = heads
        self.causal = causal
        qkv = Linear("\(name).qkv", arena: arena, inputSize: dim, outputSize: 3 * dim)
        output = Linear("\(name).out", arena: arena, inputSize: dim, outputSize: dim)
    }

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        let (batch, length) = (x.shape[0], x.shape[1])
        let headDim = dim / heads, scale = 1 / Float(headDim).squareRoot()
        projected = qkv.forward(x, context: context)
        probabilities = Tensor(uninitialized: [batch, heads, length, length])
        var attended = Tensor(uninitialized: [batch, length, dim])
        let mask = context.mask
        projected.withUnsafeBufferPointer { qkvBuffer in
            probabilities.withUnsafeMutableBufferPointer { pBuffer in
                attended.withUnsafeMutableBufferPointer { cBuffer in
                    for b in 0..<batch {
                        for h in 0..<heads {
                            let q = qkvBuffer.baseAddress! + b * length * 3 * dim + h * headDim
                            let k = q + dim, v = q + 2 * dim
                            let p = pBuffer.baseAddress! + (b * heads + h) * length * length
                            // S = Q Kᵀ / √d_h
                            gemm(.none, .transposed, m: length, n: length, k: headDim, alpha: scale,
                                 a: q, lda: 3 * dim, b: k, ldb: 3 * dim, beta: 0, c: p, ldc: length)
                            SoftmaxAttention.maskedSoftmax(p, length: length, keyMask: mask, batch: b, causal: causal)
                            // C_h = P V
                            gemm(.none, .none, m: length, n: headDim, k: length,
                                 a: p, lda: length, b: v, ldb: 3 * dim,
                                 beta: 0, c: cBuffer.baseAddress! + b * length * dim + h * headDim, ldc: dim)
                        }
                    }
                }
            }
        }
        return output.forward(attended, context: context)
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let (batch, length) = (projected.shape[0], projected.shape[1])
        let headDim = dim / heads, scale = 1 / Float(headDim).squareRoot()
        let dAttended = output.backward(dy)
        var dProjected = Tensor(zeros: projected.shape)
        let dScores = TensorStorage(count: length * length)
        projected.withUnsafeBufferPointer { qkvBuffer in
            probabilities.withUnsafeBufferPointer { pBuffer in
                dAttended.withUnsafeBufferPointer { dcBuffer in
                    dProjected.withUnsafeMutableBufferPointer { dqkvBuffer in
                        for b in 0..<batch {
                            for h in 0..<heads {
                                let offset = b * length * 3 * dim + h * headDim
                                let q = qkvBuffer.baseAddress! + offset, k = q + dim, v = q + 2 * dim
                                let dq = dqkvBuffer.baseAddress! + offset, dk = dq + dim, dv = dq + 2 * dim
                                let p = pBuffer.baseAddress! + (b * heads + h) * length * length
                                let dc = dcBuffer.baseAddress! + b * length * dim + h * headDim
                                let ds = dScores.pointer
                                // dV = Pᵀ dC;  dP = dC Vᵀ
                                gemm(.transposed, .none, m: length, n: headDim, k: length,
                                     a: p, lda: length, b: dc, ldb: dim, beta: 0, c: dv, ldc: 3 * dim)
                                gemm(.none, .transposed, m: length, n: length, k: headDim,
                                     a: dc, lda: dim, b: v, ldb: 3 * dim, beta: 0, c: ds, ldc: length)
                                SoftmaxAttention.softmaxBackward(probabilities: p, gradient: ds, length: length)
                                // dQ = dS K / √d_h;  dK = dSᵀ Q / √d_h
                                gemm(.none, .none, m: length, n: headDim, k: length, alpha: scale,
                                     a: ds, lda: length, b: k, ldb: 3 * dim, beta: 0, c: dq, ldc: 3 * dim)
                                gemm(.transposed, .none, m: length, n: headDim, k: length, alpha: scale,
                                     a: ds, lda: length, b: q, ldb: 3 * dim, beta: 0, c: dk, ldc: 3 * dim)
                            }
                        }
                    }
                }
            }
        }
        projected = Tensor.empty
        probabilities = Tensor.empty
        return qkv.backward(dProjected)
    }

    /// Row-wise softmax of an N×N score matrix in place; masked keys get probability 0.
    /// A row with no admissible key (all keys padded) becomes all zeros. The loops are
    /// branch-free (admissibility as a 0/1 factor, `Kernels.exp`) so they vectorise.
    static func maskedSoftmax(_ scores: UnsafeMutablePointer<Float>, length: Int, keyMask: Tensor?,
                              batch: Int, causal: Bool) {
        // 1 for a key that may be attended, 0 for a padded one.
        let valid = keyMask.map { Array(UnsafeBufferPointer(start: $0.storage.pointer + batch * length, count: length)) }
            ?? [Float](repeating: 1, count: length)
        valid.withUnsafeBufferPointer { validBuffer in
            let keys = validBuffer.baseAddress!
            parallelFor(length, grain: max(1, 16_384 / length)) { rows in
                for i in rows {
                    let row = scores + i * length
                    let limit = causal ? i + 1 : length
                    let highest = Kernels.maskedRowMaximum(row, mask: keys, count: limit)
                    if highest == -.infinity {
                        row.update(repeating: 0, count: length)
                        continue
                    }
                    for j in 0..<limit { row[j] = keys[j] * Kernels.exp(row[j] - highest) }
                    if limit < length { (row + limit).update(repeating: 0, count: length - limit) }
                    let inverse = 1 / Kernels.rowSum(row, count: limit)
                    for j in 0..<limit { row[j] *= inverse }
                }
            }
        }
    }

    /// dS = P ⊙ (dP − Σ_j dP ⊙ P) row by row, in place of dP.
    static func softmaxBackward(probabilities: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>, length: Int) {
        parallelFor(length, grain: max(1, 16_384 / length)) { rows in
            for i in rows {
                let p = probabilities + i * length, g = gradient + i * length
                let dot = Kernels.rowDot(p, g, count: length)
                for j in 0..<length { g[j] = p[j] * (g[j] - dot) }
            }
        }
    }
}
