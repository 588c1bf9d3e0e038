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

    /// Features per chunk so that one [chunk·(d_h+1), 2N] buffer holds at most `chunkBudget` floats.
    func featuresPerChunk(length n: Int) -> Int {
        max(1, min(featureCount, chunkBudget / (2 * n * (headDim + 1))))
    }

    /// Runs `body` over 0..<n in blocks of 64 rows (a block of φ, V and the sums stays in
    /// cache while every channel's stretch of those rows is read or written), blocks spread
    /// over the threads; blocks own their rows. Each thread has a row-major tile of 64 rows ×
    /// `tileWidth` floats: the Toeplitz products keep channels along rows of length 2N (for the
    /// FFTs) while φ, V and the sums are row-major, so a block's stretch of every channel is
    /// transposed into the tile (`gatherRows`) or out of it (`scatterRows`) in 8 × 8 register
    /// blocks, and the per-row loops run over contiguous memory instead of striding by m or D.
    func forEachRowBlock(_ n: Int, tileWidth: Int, _ body: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) {
        let block = 64
        parallelFor(n, grain: 4 * block) { range in
            // The thread's own buffer, not a pooled tensor: how many chunks run at once depends
            // on scheduling, and the pool's steady state must not.
            let tile = ThreadScratch.floats(.tile, count: block * tileWidth)
            for start in stride(from: range.lowerBound, to: range.upperBound, by: block) {
                body(start..<min(range.upperBound, start + block), tile)
            }
        }
    }

    /// tile[i − rows.lowerBound][ch] = channelMajor[ch · size + i] for ch < channels, i ∈ rows.
    func gatherRows(_ channelMajor: UnsafePointer<Float>, size: Int, channels: Int, rows: Range<Int>,
                    into tile: UnsafeMutablePointer<Float>) {
        pv_transpose_tile(channelMajor + rows.lowerBound, size, tile, channels, channels, rows.count)
    }

    /// channelMajor[ch · size + i] = tile[i − rows.lowerBound][ch]: `gatherRows` the other way.
    func scatterRows(_ tile: UnsafePointer<Float>, channels: Int, rows: Range<Int>,
                     into channelMajor: UnsafeMutablePointer<Float>, size: Int) {
        pv_transpose_tile(tile, channels, channelMajor + rows.lowerBound, size, rows.count, channels)
    }

    /// T = C·X, or Cᵀ·X when `transposed`, for one head and one chunk of `channels` channels:
    /// multiplies `spectrum` (the transform of X; overwritten) by the head's Toeplitz spectrum,
    /// transforms it back into `product` (channel-major, rows 2N apart), and hands each row i < N
    /// of T — its `channels` values, gathered tile by tile — to `body(i, row)`, rows in parallel.
    func forEachToeplitzRow(_ toeplitz: ToeplitzFFT, _ spectrum: UnsafeMutablePointer<Float>, by headSpectrum: UnsafePointer<Float>,
                            transposed: Bool,
                            channels: Int, product: UnsafeMutablePointer<Float>, length n: Int,
                            _ body: (Int, UnsafePointer<Float>) -> Void) {
        toeplitz.multiply(spectrum, groups: 1, channels: channels, by: headSpectrum, transposed: transposed)
        toeplitz.inverseTransform(spectrum, groups: 1, channels: channels, into: product)
        forEachRowBlock(n, tileWidth: channels) { rows, tile in
            gatherRows(product, size: 2 * n, channels: channels, rows: rows, into: tile)
            for i in rows { body(i, tile + (i - rows.lowerBound) * channels) }
        }
    }

    /// Channel (slot·(d_h+1) + c) of `padded` [f·(d_h+1), 2N] ← φ_{i,r} · w_{i,c} for i < N and
    /// the features r = features[slot] (one (batch, head) block), where w_i is the `count`
    /// floats at `vectors + i·stride`, followed by a 1 when count = d_h. The Toeplitz products'
    /// inputs: φ(k) ⊗ [v, 1] in forward, φ(q) ⊗ ∂L/∂u in backward.
    func fillOuterProductChannels(_ padded: UnsafeMutablePointer<Float>, phi: UnsafePointer<Float>,
                                  vectors: UnsafePointer<Float>, stride: Int, count: Int, length n: Int,
                                  features: Range<Int>) {
        let (m, width, size) = (featureCount, headDim + 1, 2 * n)
        let channels = features.count * width
        forEachRowBlock(n, tileWidth: channels) { rows, tile in
            for i in rows {
                let row = tile + (i - rows.lowerBound) * channels, p = phi + i * m, w = vectors + i * stride
                for (slot, r) in features.enumerated() {
                    let out = row + slot * width, pr = p[r]
                    for c in 0..<count { out[c] = pr * w[c] }
                    if count < width { out[count] = pr }
                }
            }
            scatterRows(tile, channels: channels, rows: rows, into: padded, size: size)
        }
    }

    /// sums (B, H, N, d_h+1) = Σ_r φ(q_i)_r (C (φ(K) ⊗ [V 1]))_{i,r,:}, one (batch, head) and
    /// feature chunk at a time; one FFT plan over the chunk's channels, each of length 2N.
    func toeplitzForward(phiQ: Tensor, phiK: Tensor, values: Tensor) -> Tensor {
        let (b, n, h, m, dh, width, d) = (values.shape[0], values.shape[1], heads, featureCount, headDim, headDim + 1, dim)
        let toeplitz = ToeplitzFFT(length: n, causal: causal), size = 2 * n
        let perChunk = featuresPerChunk(length: n), chunkFloats = size * perChunk * width
        let coefficients = relativeCoefficients(length: n)
        var sums = Tensor(zeros: [b, h, n, width])
        Tensor.withUnsafeBufferPointers(writing: &sums,
                                        reading: phiQ, phiK, values, coefficients) { us, qs, ks, vs, cs in
            let q0 = qs.baseAddress!, k0 = ks.baseAddress!, v0 = vs.baseAddress!, u0 = us.baseAddress!
            withScratch([h * (n + 1) * 2, chunkFloats, chunkFloats, (n + 1) * perChunk * width * 2]) { buffers in
                let (spectra, padded, product, spectrum) = (buffers[0], buffers[1], buffers[2], buffers[3])
                toeplitz.coefficientSpectra(cs.baseAddress!, groups: h, into: spectra)
                for batch in 0..<b {
                    for head in 0..<h {
                        let block = (batch * h + head) * n
                        let q = q0 + block * m, u = u0 + block * width
                        for start in stride(from: 0, to: m, by: perChunk) {
                            let features = start..<min(m, start + perChunk), channels = features.count * width
                            fillOuterProductChannels(padded, phi: k0 + block * m, vectors: v0 + batch * n * d + head * dh,
                                                     stride: d, count: dh, length: n, features: features)
                            toeplitz.transform(padded, groups: 1, channels: channels, into: spectrum)
                            // u_i += Σ_r φ(q_i)_r T_{r,:,i}
                            forEachToeplitzRow(toeplitz, spectrum, by: spectra + head * (n + 1) * 2, transposed: false,
                                               channels: channels, product: product, length: n) { i, row in
                                let ui = u + i * width, qi = q + i * m
                                for (slot, r) in features.enumerated() {
                                    let source = row + slot * width, qr = qi[r]
                                    for c in 0..<width { ui[c] += qr * source[c] }
                                }
                            }
                        }
                    }
                }
            }
        }
        return sums
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
        let toeplitz = ToeplitzFFT(length: n, causal: causal), size = 2 * n
        let perChunk = featuresPerChunk(length: n), chunkFloats = size * perChunk * width
        let spectrumFloats = (n + 1) * perChunk * width * 2
        let coefficients = relativeCoefficients(length: n)
        var phiQGradient = Tensor(zeros: saved.queryFeatures.shape), phiKGradient = Tensor(zeros: saved.keyFeatures.shape)
        var valueGradient = Tensor(zeros: saved.values.shape)
        let correlationFloats = h * (n + 1) * 2
        Tensor.withUnsafeBufferPointers(writing: &phiQGradient, &phiKGradient, &valueGradient,
                                        reading: saved.queryFeatures, saved.keyFeatures, saved.values, sumGradient,
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
                        let block = (batch * h + head) * n
                        let q = q0 + block * m, k = k0 + block * m, du = du0 + block * width
                        let dq = dq0 + block * m, dk = dk0 + block * m
                        let v = v0 + batch * n * d + head * dh, dv = dv0 + batch * n * d + head * dh
                        let headSpectrum = spectra + head * (n + 1) * 2
                        for start in stride(from: 0, to: m, by: perChunk) {
                            let features = start..<min(m, start + perChunk), channels = features.count * width
                            fillOuterProductChannels(kvIn, phi: k, vectors: v, stride: d, count: dh, length: n,
                                                     features: features)
                            fillOuterProductChannels(gradientIn, phi: q, vectors: du, stride: width, count: width,
                                                     length: n, features: features)
                            toeplitz.transform(kvIn, groups: 1, channels: channels, into: kvSpectrum)
                            toeplitz.transform(gradientIn, groups: 1, channels: channels, into: gradientSpectrum)
                            if usesRelativePositions {
                                toeplitz.accumulateCorrelation(gradientSpectrum: gradientSpectrum, inputSpectrum: kvSpectrum,
                                                               groups: 1, channels: channels,
                                                               into: correlation + head * (n + 1) * 2)
                            }
                            // T = C·KV → ∂L/∂φ(q).
                            forEachToeplitzRow(toeplitz, kvSpectrum, by: headSpectrum, transposed: false, channels: channels,
                                               product: product, length: n) { i, row in
                                let dui = du + i * width
                                for (slot, r) in features.enumerated() {
                                    dq[i * m + r] += Kernels.rowDot(dui, row + slot * width, count: width)
                                }
                            }
                            // ∂L/∂KV = Cᵀ ∂L/∂T → ∂L/∂φ(k), ∂L/∂v.
                            forEachToeplitzRow(toeplitz, gradientSpectrum, by: headSpectrum, transposed: true, channels: channels,
                                               product: product, length: n) { j, row in
                                let vj = v + j * d, dvj = dv + j * d
                                for (slot, r) in features.enumerated() {
                                    let source = row + slot * width, kr = k[j * m + r]
                                    dk[j * m + r] += Kernels.rowDot(source, vj, count: dh) + source[dh]
                                    for c in 0..<dh { dvj[c] += source[c] * kr }
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
        return (phiQGradient, phiKGradient, valueGradient)
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
