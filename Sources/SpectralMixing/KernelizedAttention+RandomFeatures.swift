import Foundation
import TensorCore

// MARK: - Positive random features (Choromanski et al., "Rethinking Attention with Performers", ICLR 2021)

extension KernelizedAttention {
    /// Ω: `count` × `dimension` rows drawn in blocks of `dimension` mutually orthogonal rows
    /// (Gram–Schmidt on a Gaussian block, in Double), each row then scaled by the norm of an
    /// independent Gaussian vector so that rows keep the length distribution of N(0, I) rows.
    public static func orthogonalGaussianFeatures(count: Int, dimension d: Int, random: RandomStream) -> Tensor {
        var stream = random
        var rows = [Double](repeating: 0, count: count * d)
        var filled = 0
        while filled < count {
            var block = (0..<d * d).map { _ in Double(stream.normal()) }
            for r in 0..<d {
                for p in 0..<r {
                    var projection = 0.0
                    for j in 0..<d { projection += block[r * d + j] * block[p * d + j] }
                    for j in 0..<d { block[r * d + j] -= projection * block[p * d + j] }
                }
                var norm = 0.0
                for j in 0..<d { norm += block[r * d + j] * block[r * d + j] }
                norm = norm.squareRoot()
                for j in 0..<d { block[r * d + j] /= norm }
            }
            let take = min(d, count - filled)
            for r in 0..<take { for j in 0..<d { rows[(filled + r) * d + j] = block[r * d + j] } }
            filled += take
        }
        for r in 0..<count {
            var length = 0.0
            for _ in 0..<d { let g = Double(stream.normal()); length += g * g }
            for j in 0..<d { rows[r * d + j] *= length.squareRoot() }
        }
        return Tensor(shape: [count, d], values: rows.map(Float.init))
    }

    /// φ(x) = exp(Ω x′ − |x′|²/2 − s) / √m with x′ = x / d_h^{1/4}, for each head's columns of
    /// x (B, N, D) → (B, H, N, m).
    ///
    /// s is a stabiliser that cancels between numerator and denominator: for queries the
    /// row's largest exponent, for keys the largest exponent over the valid tokens of the
    /// (batch, head) block. Being a constant of the ratio it is also held constant in backward.
    /// Keys at pad positions (`mask` 0) get φ = 0.
    func randomFeatures(_ x: Tensor, omega: Tensor, isQuery: Bool, mask: Tensor?) -> Tensor {
        let (b, n, d, h, dh, m) = (x.shape[0], x.shape[1], dim, heads, headDim, featureCount)
        var phi = Tensor(zeros: [b, h, n, m])
        var rowMaxima = Tensor(zeros: [n])
        let inputScale = 1 / Float(dh).squareRoot().squareRoot(), featureScale = 1 / Float(m).squareRoot()
        Tensor.withUnsafeBufferPointers(writing: &phi, &rowMaxima,
                                        reading: x, omega, mask) { ps, ms, xs, os, validity in
            let maxima = ms.baseAddress!
            for batch in 0..<b {
                let valid = validity.map { $0.baseAddress! + batch * n }  // 0 marks a pad key
                for head in 0..<h {
                    let input = xs.baseAddress! + batch * n * d + head * dh
                    let block = ps.baseAddress! + (batch * h + head) * n * m
                    // a = x′ Ωᵀ − |x′|²/2  (N × m)
                    gemm(.none, .transposed, m: n, n: m, k: dh, alpha: inputScale, a: input, lda: d,
                         b: os.baseAddress!, ldb: dh, beta: 0, c: block, ldc: m)
                    parallelFor(n, grain: max(1, 4096 / m)) { rows in
                        for i in rows {
                            var squares: Float = 0
                            for j in 0..<dh { squares += input[i * d + j] * input[i * d + j] }
                            let half = 0.5 * squares * inputScale * inputScale
                            var largest = -Float.infinity
                            for r in 0..<m {
                                block[i * m + r] -= half
                                largest = max(largest, block[i * m + r])
                            }
                            maxima[i] = largest
                        }
                    }
                    var blockMaximum = -Float.infinity
                    if !isQuery { for i in 0..<n where valid?[i] != 0 { blockMaximum = max(blockMaximum, maxima[i]) } }
                    parallelFor(n, grain: max(1, 4096 / m)) { rows in
                        for i in rows {
                            let row = block + i * m
                            if !isQuery && valid?[i] == 0 {
                                for r in 0..<m { row[r] = 0 }
                                continue
                            }
                            let shift = isQuery ? maxima[i] : blockMaximum
                            for r in 0..<m { row[r] = expf(row[r] - shift) * featureScale }
                        }
                    }
                }
            }
        }
        return phi
    }

    /// Backward of `randomFeatures`: with E = ∂L/∂φ ⊙ φ (N × m) per head,
    /// ∂L/∂x′ = E Ω − rowsum(E) ⊙ x′, and ∂L/∂x = ∂L/∂x′ / d_h^{1/4}. Returns (B, N, D);
    /// overwrites `phiGradient` with E.
    func randomFeaturesBackward(_ phiGradient: inout Tensor, phi: Tensor, input x: Tensor, omega: Tensor) -> Tensor {
        let (b, n, d, h, dh, m) = (x.shape[0], x.shape[1], dim, heads, headDim, featureCount)
        var dx = Tensor(zeros: x.shape)
        let inputScale = 1 / Float(dh).squareRoot().squareRoot()
        Tensor.withUnsafeBufferPointers(writing: &phiGradient, &dx, reading: phi, x, omega) { gs, dxs, ps, xs, os in
            let e = gs.baseAddress!
            Kernels.multiply(UnsafeBufferPointer(gs), ps, into: gs)
            for batch in 0..<b {
                for head in 0..<h {
                    let block = e + (batch * h + head) * n * m
                    let input = xs.baseAddress! + batch * n * d + head * dh
                    let output = dxs.baseAddress! + batch * n * d + head * dh
                    gemm(.none, .none, m: n, n: dh, k: m, alpha: inputScale, a: block, lda: m,
                         b: os.baseAddress!, ldb: dh, beta: 0, c: output, ldc: d)
                    parallelFor(n, grain: max(1, 4096 / m)) { rows in
                        for i in rows {
                            var total: Float = 0
                            for r in 0..<m { total += block[i * m + r] }
                            let factor = total * inputScale * inputScale
                            for j in 0..<dh { output[i * d + j] -= factor * input[i * d + j] }
                        }
                    }
                }
            }
        }
        return dx
    }
}
