import CKernels
import Foundation
import TensorCore

// MARK: - The two products: Toeplitz (RPE or causal) and plain (Performer)
//
// The kernels below take their tensors' base pointers from one `Tensor.withUnsafeBufferPointers`
// call (outputs they create themselves and return, inputs read) and their work buffers from
// `withScratch`.

/// Fresh zeroed work buffers of the given sizes, alive while `body` runs.
func withScratch<R>(_ counts: [Int], _ body: ([UnsafeMutablePointer<Float>]) -> R) -> R {
    let storages = counts.map { TensorStorage(count: $0) }
    return withExtendedLifetime(storages) { body(storages.map(\.pointer)) }
}

extension KernelizedAttention {
    /// c_t = exp(b_t) per head for t ∈ [−(N−1), N−1] (the central 2N − 1 of the 2·maxLength − 1
    /// biases), or all ones without relative positions: (H, 2N − 1).
    func relativeCoefficients(length n: Int) -> Tensor {
        var c = Tensor(shape: [heads, 2 * n - 1], repeating: 1)
        guard let positionBias else { return c }
        let bias = arena.value(positionBias), stride = 2 * maxLength - 1, offset = maxLength - n
        c.withUnsafeMutableBufferPointer { cs in
            for head in 0..<heads {
                for t in 0..<(2 * n - 1) { cs[head * (2 * n - 1) + t] = expf(bias[head * stride + offset + t]) }
            }
        }
        return c
    }

    /// Features per chunk so that one [chunk·(d_h+1), L] buffer holds at most `chunkBudget` floats.
    func featuresPerChunk(_ toeplitz: ToeplitzFFT) -> Int {
        max(1, min(featureCount, chunkBudget / (toeplitz.transformLength * (headDim + 1))))
    }

    // The Toeplitz products work channel-major: each channel is a row of length L ≥ 2N − 1 for
    // the FFTs (`ToeplitzFFT.transformLength`).
    // φ(Q), φ(K), V (and ∂L/∂sums in backward) are transposed once per layer to (features or
    // columns) × N, so every per-position step below is an elementwise pass over contiguous
    // positions (`pv_scaled_rows`, `pv_row_dots_add`), split over the
    // threads by position; the results are accumulated channel-major and transposed back once.
    // A position's value never depends on how positions are split, so neither do the bits.

    /// Runs `body` over 0..<n split into one range of positions per thread (at least 256 each).
    func forEachPositionRange(_ n: Int, _ body: (_ start: Int, _ count: Int) -> Void) {
        parallelFor(n, grain: 256) { range in body(range.lowerBound, range.count) }
    }

    /// Channel (slot·(d_h+1) + c) of `padded` [f·(d_h+1), L] ← φᵀ[r, i] · wᵀ[c, i] for i < N and
    /// the features r = features[slot] of one (batch, head), where φᵀ is m × N and wᵀ is `count`
    /// rows of N, followed by φᵀ[r] itself (the channel of a column of ones) when count = d_h.
    /// The Toeplitz products' inputs: φ(k) ⊗ [v, 1] in forward, φ(q) ⊗ ∂L/∂u in backward.
    func fillOuterProductChannels(_ padded: UnsafeMutablePointer<Float>, phiT: UnsafePointer<Float>,
                                  vectorsT: UnsafePointer<Float>, count: Int, length n: Int, size: Int, features: Range<Int>) {
        let width = headDim + 1
        forEachPositionRange(n) { start, span in
            for (slot, r) in features.enumerated() {
                let phi = phiT + r * n + start, out = padded + slot * width * size + start
                pv_scaled_rows(phi, vectorsT + start, n, count, span, out, size, 0)
                if count < width { (out + count * size).update(from: phi, count: span) }
            }
        }
    }

    /// The product C·X (Cᵀ·X when `transposed`) for one head and one chunk of `channels` channels,
    /// from `spectrum` (X's transform; overwritten) into `product` (channel-major, rows L apart;
    /// entries 0..<N of each row hold it).
    func toeplitzProduct(_ toeplitz: ToeplitzFFT, _ spectrum: UnsafeMutablePointer<Float>, by headSpectrum: UnsafePointer<Float>,
                         transposed: Bool, channels: Int, into product: UnsafeMutablePointer<Float>) {
        toeplitz.multiply(spectrum, groups: 1, channels: channels, by: headSpectrum, transposed: transposed)
        toeplitz.inverseTransform(spectrum, groups: 1, channels: channels, into: product)
    }

    /// sums (B, H, N, d_h+1) = Σ_r φ(q_i)_r (C (φ(K) ⊗ [V 1]))_{i,r,:}, one (batch, head) and
    /// feature chunk at a time; one FFT plan over the chunk's channels, each of length L.
    func toeplitzForward(phiQ: Tensor, phiK: Tensor, values: Tensor) -> Tensor {
        let (b, n, h, m, dh, width, d) = (values.shape[0], values.shape[1], heads, featureCount, headDim, headDim + 1, dim)
        let toeplitz = ToeplitzFFT(length: n, causal: causal), size = toeplitz.transformLength, bins = toeplitz.bins
        let perChunk = featuresPerChunk(toeplitz), chunkFloats = size * perChunk * width
        let coefficients = relativeCoefficients(length: n)
        let phiQT = MatrixTranspose.transposed(phiQ.reshaped([b * h, n, m]))  // (B·H, m, N)
        let phiKT = MatrixTranspose.transposed(phiK.reshaped([b * h, n, m]))
        let valuesT = MatrixTranspose.transposed(values)  // (B, D, N): head h's rows h·d_h ..< (h+1)·d_h
        var sumsT = Tensor(zeros: [b * h, width, n])
        Tensor.withUnsafeBufferPointers(writing: &sumsT,
                                        reading: phiQT, phiKT, valuesT, coefficients) { us, qs, ks, vs, cs in
            let q0 = qs.baseAddress!, k0 = ks.baseAddress!, v0 = vs.baseAddress!, u0 = us.baseAddress!
            withScratch([h * bins * 2, chunkFloats, chunkFloats, bins * perChunk * width * 2]) { buffers in
                let (spectra, padded, product, spectrum) = (buffers[0], buffers[1], buffers[2], buffers[3])
                toeplitz.coefficientSpectra(cs.baseAddress!, groups: h, into: spectra)
                for batch in 0..<b {
                    for head in 0..<h {
                        let block = batch * h + head
                        let q = q0 + block * m * n, k = k0 + block * m * n, u = u0 + block * width * n
                        let v = v0 + (batch * d + head * dh) * n
                        for start in stride(from: 0, to: m, by: perChunk) {
                            let features = start..<min(m, start + perChunk), channels = features.count * width
                            fillOuterProductChannels(padded, phiT: k, vectorsT: v, count: dh, length: n, size: size, features: features)
                            toeplitz.transform(padded, groups: 1, channels: channels, into: spectrum)
                            toeplitzProduct(toeplitz, spectrum, by: spectra + head * bins * 2, transposed: false,
                                            channels: channels, into: product)
                            // uᵀ[c] += φ(q)ᵀ[r] ⊙ T[r, c], features in order
                            forEachPositionRange(n) { i0, span in
                                for (slot, r) in features.enumerated() {
                                    pv_scaled_rows(q + r * n + i0, product + slot * width * size + i0, size, width, span,
                                                   u + i0, n, 1)
                                }
                            }
                        }
                    }
                }
            }
        }
        return MatrixTranspose.transposed(sumsT).reshaped([b, h, n, width])
    }

    /// Backward of `toeplitzForward`, per (batch, head) and feature chunk, with T = C·KV and
    /// ∂L/∂T_{r,c,i} = φ(q_i)_r ∂L/∂u_{i,c}:
    ///   ∂L/∂φ(q_i)_r = Σ_c ∂L/∂u_{i,c} T_{r,c,i}        (T recomputed, not stored)
    ///   ∂L/∂KV = Cᵀ ∂L/∂T;  ∂L/∂φ(k_j)_r = Σ_c ∂L/∂KV_{r,c,j} [v_j 1]_c;  ∂L/∂v_j += Σ_r ∂L/∂KV_{r,:,j} φ(k_j)_r
    ///   ∂L/∂c_t from the correlation of ∂L/∂T with KV (ToeplitzFFT), then ∂L/∂b_t += c_t ∂L/∂c_t.
    /// Returns ∂L/∂φ(Q), ∂L/∂φ(K) (B, H, N, m) and ∂L/∂V (B, N, D).
    func toeplitzBackward(_ saved: SavedState, sumGradient: Tensor) -> (phiQ: Tensor, phiK: Tensor, values: Tensor) {
        let (b, n, h, m, dh, width, d) = (saved.values.shape[0], saved.values.shape[1], heads, featureCount, headDim,
                                          headDim + 1, dim)
        let toeplitz = ToeplitzFFT(length: n, causal: causal), size = toeplitz.transformLength, bins = toeplitz.bins
        let perChunk = featuresPerChunk(toeplitz), chunkFloats = size * perChunk * width
        let spectrumFloats = bins * perChunk * width * 2
        let coefficients = relativeCoefficients(length: n)
        let phiQT = MatrixTranspose.transposed(saved.queryFeatures.reshaped([b * h, n, m]))  // (B·H, m, N)
        let phiKT = MatrixTranspose.transposed(saved.keyFeatures.reshaped([b * h, n, m]))
        let valuesT = MatrixTranspose.transposed(saved.values)  // (B, D, N)
        let gradientT = MatrixTranspose.transposed(sumGradient.reshaped([b * h, n, width]))  // (B·H, d_h+1, N)
        var phiQGradientT = Tensor(zeros: [b * h, m, n]), phiKGradientT = Tensor(zeros: [b * h, m, n])
        var valueGradientT = Tensor(zeros: [b, d, n])
        let correlationFloats = h * bins * 2
        Tensor.withUnsafeBufferPointers(writing: &phiQGradientT, &phiKGradientT, &valueGradientT,
                                        reading: phiQT, phiKT, valuesT, gradientT,
                                        coefficients) { dqs, dks, dvs, qs, ks, vs, dus, cs in
            let q0 = qs.baseAddress!, k0 = ks.baseAddress!, v0 = vs.baseAddress!, du0 = dus.baseAddress!
            let dq0 = dqs.baseAddress!, dk0 = dks.baseAddress!, dv0 = dvs.baseAddress!
            withScratch([correlationFloats, correlationFloats, chunkFloats, chunkFloats, chunkFloats,
                         spectrumFloats, spectrumFloats]) { buffers in
                let (spectra, correlation, kvIn, gradientIn, product) = (buffers[0], buffers[1], buffers[2], buffers[3], buffers[4])
                let (kvSpectrum, gradientSpectrum) = (buffers[5], buffers[6])
                toeplitz.coefficientSpectra(cs.baseAddress!, groups: h, into: spectra)
                for batch in 0..<b {
                    for head in 0..<h {
                        let block = batch * h + head
                        let q = q0 + block * m * n, k = k0 + block * m * n, du = du0 + block * width * n
                        let dq = dq0 + block * m * n, dk = dk0 + block * m * n
                        let v = v0 + (batch * d + head * dh) * n, dv = dv0 + (batch * d + head * dh) * n
                        let headSpectrum = spectra + head * bins * 2
                        for start in stride(from: 0, to: m, by: perChunk) {
                            let features = start..<min(m, start + perChunk), channels = features.count * width
                            fillOuterProductChannels(kvIn, phiT: k, vectorsT: v, count: dh, length: n, size: size, features: features)
                            fillOuterProductChannels(gradientIn, phiT: q, vectorsT: du, count: width, length: n, size: size,
                                                     features: features)
                            toeplitz.transform(kvIn, groups: 1, channels: channels, into: kvSpectrum)
                            toeplitz.transform(gradientIn, groups: 1, channels: channels, into: gradientSpectrum)
                            if usesRelativePositions {
                                toeplitz.accumulateCorrelation(gradientSpectrum: gradientSpectrum, inputSpectrum: kvSpectrum,
                                                               groups: 1, channels: channels,
                                                               into: correlation + head * bins * 2)
                            }
                            // T = C·KV → ∂L/∂φ(q)ᵀ[r] += Σ_c ∂L/∂uᵀ[c] ⊙ T[r, c].
                            toeplitzProduct(toeplitz, kvSpectrum, by: headSpectrum, transposed: false, channels: channels,
                                            into: product)
                            forEachPositionRange(n) { i0, span in
                                for (slot, r) in features.enumerated() {
                                    pv_row_dots_add(du + i0, n, product + slot * width * size + i0, size, width, span,
                                                    dq + r * n + i0)
                                }
                            }
                            // G = ∂L/∂KV = Cᵀ ∂L/∂T → ∂L/∂φ(k)ᵀ[r] += Σ_{c<d_h} vᵀ[c] ⊙ G[r, c] + G[r, d_h],
                            // ∂L/∂vᵀ[c] += φ(k)ᵀ[r] ⊙ G[r, c].
                            toeplitzProduct(toeplitz, gradientSpectrum, by: headSpectrum, transposed: true, channels: channels,
                                            into: product)
                            forEachPositionRange(n) { i0, span in
                                for (slot, r) in features.enumerated() {
                                    let g = product + slot * width * size + i0, dkr = dk + r * n + i0
                                    pv_row_dots_add(v + i0, n, g, size, dh, span, dkr)
                                    let ones = g + dh * size
                                    for i in 0..<span { dkr[i] += ones[i] }
                                    pv_scaled_rows(k + r * n + i0, g, size, dh, span, dv + i0, n, 1)
                                }
                            }
                        }
                    }
                }
                guard let positionBias else { return }
                // ∂L/∂c (H, 2N − 1), then ∂L/∂b_t += c_t ∂L/∂c_t into the central 2N − 1 biases.
                withScratch([h * (2 * n - 1)]) { gc in
                    toeplitz.addCoefficientGradient(correlation: correlation, groups: h, into: gc[0])
                    let target = arena.gradient(positionBias), stride = 2 * maxLength - 1, offset = maxLength - n
                    let c = cs.baseAddress!
                    for head in 0..<h {
                        for t in 0..<(2 * n - 1) {
                            target[head * stride + offset + t] += gc[0][head * (2 * n - 1) + t] * c[head * (2 * n - 1) + t]
                        }
                    }
                }
            }
        }
        return (MatrixTranspose.transposed(phiQGradientT).reshaped([b, h, n, m]),
                MatrixTranspose.transposed(phiKGradientT).reshaped([b, h, n, m]),
                MatrixTranspose.transposed(valueGradientT))
    }

    /// [V 1] for one (batch, head) block into `extended` (N × (d_h+1)).
    func extendValues(_ values: UnsafePointer<Float>, length n: Int, into extended: UnsafeMutablePointer<Float>) {
        let (dh, width, d) = (headDim, headDim + 1, dim)
        for i in 0..<n {
            (extended + i * width).update(from: values + i * d, count: dh)
            extended[i * width + dh] = 1
        }
    }

    /// Performer without positions: sums = φ(Q) (φ(K)ᵀ [V 1]) per (batch, head).
    func linearForward(phiQ: Tensor, phiK: Tensor, values: Tensor) -> Tensor {
        let (b, n, h, m, dh, width, d) = (values.shape[0], values.shape[1], heads, featureCount, headDim, headDim + 1, dim)
        var sums = Tensor(zeros: [b, h, n, width])
        Tensor.withUnsafeBufferPointers(writing: &sums, reading: phiQ, phiK, values) { us, qs, ks, vs in
            let q0 = qs.baseAddress!, k0 = ks.baseAddress!, v0 = vs.baseAddress!, u0 = us.baseAddress!
            withScratch([n * width, m * width]) { buffers in
                let (extended, keyValues) = (buffers[0], buffers[1])
                for batch in 0..<b {
                    for head in 0..<h {
                        let block = (batch * h + head) * n
                        extendValues(v0 + batch * n * d + head * dh, length: n, into: extended)
                        gemm(.transposed, .none, m: m, n: width, k: n, a: k0 + block * m, lda: m,
                             b: extended, ldb: width, beta: 0, c: keyValues, ldc: width)
                        gemm(.none, .none, m: n, n: width, k: m, a: q0 + block * m, lda: m,
                             b: keyValues, ldb: width, beta: 0, c: u0 + block * width, ldc: width)
                    }
                }
            }
        }
        return sums
    }

    /// Backward of `linearForward` with KV = φ(K)ᵀ[V 1] recomputed:
    /// ∂φ(Q) = ∂U KVᵀ, ∂KV = φ(Q)ᵀ ∂U, ∂φ(K) = [V 1] ∂KVᵀ, ∂[V 1] = φ(K) ∂KV.
    func linearBackward(_ saved: SavedState, sumGradient: Tensor) -> (phiQ: Tensor, phiK: Tensor, values: Tensor) {
        let (b, n, h, m, dh, width, d) = (saved.values.shape[0], saved.values.shape[1], heads, featureCount, headDim,
                                          headDim + 1, dim)
        var phiQGradient = Tensor(zeros: saved.queryFeatures.shape), phiKGradient = Tensor(zeros: saved.keyFeatures.shape)
        var valueGradient = Tensor(zeros: saved.values.shape)
        Tensor.withUnsafeBufferPointers(writing: &phiQGradient, &phiKGradient, &valueGradient,
                                        reading: saved.queryFeatures, saved.keyFeatures, saved.values,
                                        sumGradient) { dqs, dks, dvs, qs, ks, vs, dus in
            let q0 = qs.baseAddress!, k0 = ks.baseAddress!, v0 = vs.baseAddress!, du0 = dus.baseAddress!
            let dq0 = dqs.baseAddress!, dk0 = dks.baseAddress!, dv0 = dvs.baseAddress!
            withScratch([n * width, m * width, m * width, n * width]) { buffers in
                let (extended, keyValues, keyValueGradient, extendedGradient) = (buffers[0], buffers[1], buffers[2], buffers[3])
                for batch in 0..<b {
                    for head in 0..<h {
                        let block = (batch * h + head) * n
                        let q = q0 + block * m, k = k0 + block * m, du = du0 + block * width
                        extendValues(v0 + batch * n * d + head * dh, length: n, into: extended)
                        gemm(.transposed, .none, m: m, n: width, k: n, a: k, lda: m, b: extended, ldb: width,
                             beta: 0, c: keyValues, ldc: width)
                        gemm(.none, .transposed, m: n, n: m, k: width, a: du, lda: width, b: keyValues, ldb: width,
                             beta: 0, c: dq0 + block * m, ldc: m)
                        gemm(.transposed, .none, m: m, n: width, k: n, a: q, lda: m, b: du, ldb: width,
                             beta: 0, c: keyValueGradient, ldc: width)
                        gemm(.none, .transposed, m: n, n: m, k: width, a: extended, lda: width, b: keyValueGradient, ldb: width,
                             beta: 0, c: dk0 + block * m, ldc: m)
                        gemm(.none, .none, m: n, n: width, k: m, a: k, lda: m, b: keyValueGradient, ldb: width,
                             beta: 0, c: extendedGradient, ldc: width)
                        let dv = dv0 + batch * n * d + head * dh
                        for i in 0..<n { (dv + i * d).update(from: extendedGradient + i * width, count: dh) }
                    }
                }
            }
        }
        return (phiQGradient, phiKGradient, valueGradient)
    }
}
