import TensorCore

/// The Toeplitz matrix–vector product of kernelized attention with relative positional
/// encoding (Luo et al., "Stable, Fast and Accurate: Kernelized Attention with Relative
/// Positional Encoding", NeurIPS 2021, §3.2) in O(N log N):
///
///     y = C x,   C_ij = c_{j−i},   t = j − i ∈ [−(N−1), N−1]        x, y: (N, channels)
///
/// C is the top-left N×N block of the 2N×2N circulant whose first row is
/// r = [c_0, c_1, …, c_{N−1}, 0, c_{−(N−1)}, …, c_{−1}] (MODELS.md's layout; C_ij = r_{(j−i) mod 2N}).
/// A circulant with first row r is a circular cross-correlation, so with x zero-padded to 2N
/// and R, X their DFTs of length 2N: y = IDFT(conj(R) ⊙ X)[:N]. The causal variant sets
/// c_t = 0 for t > 0 (token i sees only j ≤ i).
///
/// Backward, for upstream gradient g = ∂L/∂y:
///
///     ∂L/∂x = Cᵀ g,  (Cᵀ)_ij = c_{i−j}:  IDFT(R ⊙ G)[:N]           (no conjugate)
///     ∂L/∂c_t = Σ_i Σ_channels g_i x_{i+t}:  IDFT(Σ_channels conj(G) ⊙ X)[t mod 2N]
///
/// Real FFTs of length 2N (N + 1 bins) throughout. Data is `[groups, 2N, channels]`; every
/// transform of a call is one FFTW plan with howmany = groups·channels, and each group has
/// its own coefficients (a head, or a batch-and-head pair).
public struct ToeplitzFFT: Sendable {
    /// N, the number of tokens.
    public let length: Int
    /// c_t = 0 for t > 0.
    public let causal: Bool

    public init(length: Int, causal: Bool) {
        precondition(length >= 1, "ToeplitzFFT: length must be at least 1, got \(length)")
        self.length = length
        self.causal = causal
    }

    /// 2N, the circulant's size.
    public var transformLength: Int { 2 * length }
    /// N + 1 real-FFT bins of length 2N.
    public var bins: Int { length + 1 }
    /// 2N − 1 coefficients, offset t at index t + N − 1.
    public var coefficientCount: Int { 2 * length - 1 }

    // MARK: - Steps on raw buffers

    /// R / 2N for each group's coefficients `[groups, 2N−1]` → `spectra` `[groups, N+1, 2]`.
    /// The 1/2N of the inverse transforms is folded in here.
    public func coefficientSpectra(_ coefficients: UnsafePointer<Float>, groups: Int,
                                   into spectra: UnsafeMutablePointer<Float>) {
        let n = length, size = transformLength
        var rows = Tensor(zeros: [groups, size])
        rows.withUnsafeMutableBufferPointer { rs in
            let r = rs.baseAddress!
            for g in 0..<groups {
                let c = coefficients + g * coefficientCount, row = r + g * size
                row[0] = c[n - 1]
                if !causal { for t in 1..<n { row[t] = c[n - 1 + t] } }
                for t in 1..<n { row[size - t] = c[n - 1 - t] }
            }
            FFT.realForward(input: r, output: spectra, outer: groups, length: size, inner: 1, scaling: .unnormalized)
        }
        Kernels.scale(UnsafeMutableBufferPointer(start: spectra, count: groups * bins * 2), by: 1 / Float(size))
    }

    /// DFT of `padded` `[groups, 2N, channels]` (rows N..<2N must be zero) → `spectrum`
    /// `[groups, N+1, channels, 2]`. `padded` is left intact.
    public func transform(_ padded: UnsafeMutablePointer<Float>, groups: Int, channels: Int,
                          into spectrum: UnsafeMutablePointer<Float>) {
        FFT.realForward(input: padded, output: spectrum, outer: groups, length: transformLength, inner: channels,
                        scaling: .unnormalized)
    }

    /// spectrum ← spectrum ⊙ conj(R) (the product C x) or ⊙ R (`transposed`: Cᵀ x), per group.
    public func multiply(_ spectrum: UnsafeMutablePointer<Float>, groups: Int, channels: Int,
                         by spectra: UnsafePointer<Float>, transposed: Bool) {
        let bins = bins, sign: Float = transposed ? 1 : -1
        parallelFor(groups * bins, grain: max(1, 4096 / channels)) { range in
            for row in range {
                let cr = spectra[2 * row], ci = sign * spectra[2 * row + 1]
                let z = spectrum + 2 * row * channels
                for ch in 0..<channels {
                    let a = z[2 * ch], b = z[2 * ch + 1]
                    z[2 * ch] = a * cr - b * ci
                    z[2 * ch + 1] = a * ci + b * cr
                }
            }
        }
    }

    /// Inverse DFT of `spectrum` `[groups, N+1, channels, 2]` (destroyed) → `padded`
    /// `[groups, 2N, channels]`; rows 0..<N hold the product.
    public func inverseTransform(_ spectrum: UnsafeMutablePointer<Float>, groups: Int, channels: Int,
                                 into padded: UnsafeMutablePointer<Float>) {
        FFT.realInverse(input: spectrum, output: padded, outer: groups, length: transformLength, inner: channels,
                        scaling: .unnormalized)
    }

    /// correlation[g, k] += Σ_channels conj(G[g, k, ch]) · X[g, k, ch]: the spectrum of
    /// ∂L/∂c before the inverse transform (`correlation` `[groups, N+1, 2]`).
    public func accumulateCorrelation(gradientSpectrum: UnsafePointer<Float>, inputSpectrum: UnsafePointer<Float>,
                                      groups: Int, channels: Int, into correlation: UnsafeMutablePointer<Float>) {
        parallelFor(groups * bins, grain: max(1, 4096 / channels)) { range in
            for row in range {
                let gs = gradientSpectrum + 2 * row * channels, xs = inputSpectrum + 2 * row * channels
                var re: Float = 0, im: Float = 0
                for ch in 0..<channels {
                    let gr = gs[2 * ch], gi = gs[2 * ch + 1], xr = xs[2 * ch], xi = xs[2 * ch + 1]
                    re += gr * xr + gi * xi
                    im += gr * xi - gi * xr
                }
                correlation[2 * row] += re
                correlation[2 * row + 1] += im
            }
        }
    }

    /// ∂L/∂c from `correlation` `[groups, N+1, 2]` (destroyed), *added* into `gradient`
    /// `[groups, 2N−1]`; zero for t > 0 when causal.
    public func addCoefficientGradient(correlation: UnsafeMutablePointer<Float>, groups: Int,
                                       into gradient: UnsafeMutablePointer<Float>) {
        let n = length, size = transformLength
        var lags = Tensor(zeros: [groups, size])
        lags.withUnsafeMutableBufferPointer { ls in
            let l = ls.baseAddress!
            FFT.realInverse(input: correlation, output: l, outer: groups, length: size, inner: 1,
                            scaling: .unnormalized)
            let scale = 1 / Float(size)
            for g in 0..<groups {
                let row = l + g * size, out = gradient + g * coefficientCount
                out[n - 1] += row[0] * scale
                if !causal { for t in 1..<n { out[n - 1 + t] += row[t] * scale } }
                for t in 1..<n { out[n - 1 - t] += row[size - t] * scale }
            }
        }
    }

    // MARK: - Tensors

    /// y = C x (or Cᵀ x) for x `[groups, N, channels]` and coefficients `[groups, 2N−1]`.
    public func apply(_ x: Tensor, coefficients: Tensor, transposed: Bool = false) -> Tensor {
        let (groups, channels) = checkShapes(x, coefficients)
        var padded = Tensor(zeros: [groups, transformLength, channels])
        var spectrum = Tensor(zeros: [groups, bins, channels, 2])
        var spectra = Tensor(zeros: [groups, bins, 2])
        var y = Tensor(zeros: x.shape)
        let n = length
        padded.withUnsafeMutableBufferPointer { ps in
            spectrum.withUnsafeMutableBufferPointer { ss in
                spectra.withUnsafeMutableBufferPointer { cs in
                    let p = ps.baseAddress!, s = ss.baseAddress!, r = cs.baseAddress!
                    coefficients.withUnsafeBufferPointer { coefficientSpectra($0.baseAddress!, groups: groups, into: r) }
                    x.withUnsafeBufferPointer { xs in copyRows(from: xs.baseAddress!, into: p, groups: groups, channels: channels) }
                    transform(p, groups: groups, channels: channels, into: s)
                    multiply(s, groups: groups, channels: channels, by: r, transposed: transposed)
                    inverseTransform(s, groups: groups, channels: channels, into: p)
                    y.withUnsafeMutableBufferPointer { ys in
                        for g in 0..<groups {
                            (ys.baseAddress! + g * n * channels).update(from: p + g * 2 * n * channels, count: n * channels)
                        }
                    }
                }
            }
        }
        return y
    }

    /// The gradients of L with respect to x (`[groups, N, channels]`) and the coefficients
    /// (`[groups, 2N−1]`) given g = ∂L/∂(C x).
    public func gradients(of gradient: Tensor, input x: Tensor, coefficients: Tensor) -> (input: Tensor, coefficients: Tensor) {
        let (groups, channels) = checkShapes(x, coefficients)
        precondition(gradient.shape == x.shape, "ToeplitzFFT: gradient \(gradient.shape) for input \(x.shape)")
        let dx = apply(gradient, coefficients: coefficients, transposed: true)
        var paddedX = Tensor(zeros: [groups, transformLength, channels]), paddedG = paddedX
        var spectrumX = Tensor(zeros: [groups, bins, channels, 2]), spectrumG = spectrumX
        var correlation = Tensor(zeros: [groups, bins, 2])
        var dc = Tensor(zeros: coefficients.shape)
        paddedX.withUnsafeMutableBufferPointer { px in
            paddedG.withUnsafeMutableBufferPointer { pg in
                spectrumX.withUnsafeMutableBufferPointer { sx in
                    spectrumG.withUnsafeMutableBufferPointer { sg in
                        x.withUnsafeBufferPointer { copyRows(from: $0.baseAddress!, into: px.baseAddress!, groups: groups, channels: channels) }
                        gradient.withUnsafeBufferPointer { copyRows(from: $0.baseAddress!, into: pg.baseAddress!, groups: groups, channels: channels) }
                        transform(px.baseAddress!, groups: groups, channels: channels, into: sx.baseAddress!)
                        transform(pg.baseAddress!, groups: groups, channels: channels, into: sg.baseAddress!)
                        correlation.withUnsafeMutableBufferPointer { cs in
                            accumulateCorrelation(gradientSpectrum: sg.baseAddress!, inputSpectrum: sx.baseAddress!,
                                                  groups: groups, channels: channels, into: cs.baseAddress!)
                            dc.withUnsafeMutableBufferPointer { addCoefficientGradient(correlation: cs.baseAddress!, groups: groups, into: $0.baseAddress!) }
                        }
                    }
                }
            }
        }
        return (dx, dc)
    }

    func checkShapes(_ x: Tensor, _ coefficients: Tensor) -> (groups: Int, channels: Int) {
        precondition(x.rank == 3 && x.shape[1] == length,
                     "ToeplitzFFT: input [groups, \(length), channels] expected, got \(x.shape)")
        precondition(coefficients.shape == [x.shape[0], coefficientCount],
                     "ToeplitzFFT: coefficients [\(x.shape[0]), \(coefficientCount)] expected, got \(coefficients.shape)")
        return (x.shape[0], x.shape[2])
    }

    /// [groups, N, channels] → rows 0..<N of [groups, 2N, channels] (rows N..<2N are left as they are).
    func copyRows(from source: UnsafePointer<Float>, into padded: UnsafeMutablePointer<Float>,
                  groups: Int, channels: Int) {
        let block = length * channels
        for g in 0..<groups { (padded + 2 * g * block).update(from: source + g * block, count: block) }
    }
}
