import CKernels
import TensorCore

/// The Toeplitz matrix–vector product of kernelized attention with relative positional
/// encoding (Luo et al., "Stable, Fast and Accurate: Kernelized Attention with Relative
/// Positional Encoding", NeurIPS 2021, §3.2) in O(N log N) per channel:
///
///     y = C x,   C_ij = c_{j−i},   t = j − i ∈ [−(N−1), N−1]        x, y: N tokens per channel
///
/// C is the top-left N×N block of the L×L circulant whose first row is
/// r = [c_0, c_1, …, c_{N−1}, 0, …, 0, c_{−(N−1)}, …, c_{−1}] (docs/models.md's layout;
/// C_ij = r_{(j−i) mod L}), for any L ≥ 2N − 1: the offsets j − i ∈ [−(N−1), N−1] never wrap onto
/// each other. A circulant with first row r is a circular cross-correlation, so with x zero-padded
/// to L and R, X their DFTs of length L: y = IDFT(conj(R) ⊙ X)[:N]. The causal variant sets
/// c_t = 0 for t > 0 (token i sees only j ≤ i).
///
/// L is the smallest even 7-smooth number (2^a·3^b·5^c·7^d) at or above 2N − 1, not 2N: FFTW's
/// codelets cover the factors 2–7, and 2N is often far from them once a learned class token
/// makes LRA's lengths odd — ListOps' 2 001 tokens gave 4 002 = 2·3·23·29 (now 4 032 = 2⁶·3²·7),
/// Text's 4 001 gave 8 002 = 2·4001, a prime (now 8 064 = 2⁷·3²·7). Powers of two keep 2N.
///
/// Backward, for upstream gradient g = ∂L/∂y:
///
///     ∂L/∂x = Cᵀ g,  (Cᵀ)_ij = c_{i−j}:  IDFT(R ⊙ G)[:N]           (no conjugate)
///     ∂L/∂c_t = Σ_i Σ_channels g_i x_{i+t}:  IDFT(Σ_channels conj(G) ⊙ X)[t mod L]
///
/// Layout: every channel is one contiguous sequence, `[groups, channels, L]` padded (and
/// `[groups, channels, L/2 + 1]` complex spectra), so each call is one FFTW plan over
/// groups·channels contiguous transforms of length L (real FFTs, L/2 + 1 bins). Each group
/// (a head, or a batch-and-head pair) has its own coefficients.
public struct ToeplitzFFT: Sendable {
    /// N, the number of tokens.
    public let length: Int
    /// c_t = 0 for t > 0.
    public let causal: Bool

    /// A product for sequences of `length` tokens; `causal` drops the offsets t > 0.
    public init(length: Int, causal: Bool) {
        precondition(length >= 1, "ToeplitzFFT: length must be at least 1, got \(length)")
        self.length = length
        self.causal = causal
        transformLength = Self.fastLength(atLeast: 2 * length - 1)
    }

    /// L, the circulant's size: the smallest even 7-smooth number ≥ 2N − 1.
    public let transformLength: Int
    /// L/2 + 1 real-FFT bins of length L.
    public var bins: Int { transformLength / 2 + 1 }

    /// The smallest even number ≥ `minimum` with no prime factor above 7.
    public static func fastLength(atLeast minimum: Int) -> Int {
        var candidate = max(2, minimum + minimum % 2)
        while true {
            var rest = candidate
            for p in [2, 3, 5, 7] { while rest % p == 0 { rest /= p } }
            if rest == 1 { return candidate }
            candidate += 2
        }
    }
    /// 2N − 1 coefficients, offset t at index t + N − 1.
    public var coefficientCount: Int { 2 * length - 1 }

    // MARK: - Steps on raw buffers

    /// R / L for each group's coefficients `[groups, 2N−1]` → `spectra` `[groups, L/2+1, 2]`.
    /// The 1/L of the inverse transforms is folded in here.
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

    /// DFT of `padded` `[groups, channels, L]` (entries N..<L of every channel must be zero)
    /// → `spectrum` `[groups, channels, L/2+1, 2]`. `padded` is left intact.
    public func transform(_ padded: UnsafeMutablePointer<Float>, groups: Int, channels: Int,
                          into spectrum: UnsafeMutablePointer<Float>) {
        FFT.realForward(input: padded, output: spectrum, outer: groups * channels, length: transformLength, inner: 1,
                        scaling: .unnormalized)
    }

    /// spectrum ← spectrum ⊙ conj(R) (the product C x) or ⊙ R (`transposed`: Cᵀ x), per group.
    public func multiply(_ spectrum: UnsafeMutablePointer<Float>, groups: Int, channels: Int,
                         by spectra: UnsafePointer<Float>, transposed: Bool) {
        let bins = bins, sign: Float = transposed ? 1 : -1
        parallelFor(groups * channels, grain: max(1, 8192 / bins)) { rows in
            for row in rows {
                pv_complex_multiply(spectrum + 2 * row * bins, spectra + 2 * (row / channels) * bins, bins, sign)
            }
        }
    }

    /// Inverse DFT of `spectrum` `[groups, channels, L/2+1, 2]` (destroyed) → `padded`
    /// `[groups, channels, L]`; entries 0..<N of each channel hold the product.
    public func inverseTransform(_ spectrum: UnsafeMutablePointer<Float>, groups: Int, channels: Int,
                                 into padded: UnsafeMutablePointer<Float>) {
        FFT.realInverse(input: spectrum, output: padded, outer: groups * channels, length: transformLength, inner: 1,
                        scaling: .unnormalized)
    }

    /// correlation[g, k] += Σ_channels conj(G[g, ch, k]) · X[g, ch, k]: the spectrum of
    /// ∂L/∂c before the inverse transform (`correlation` `[groups, L/2+1, 2]`).
    public func accumulateCorrelation(gradientSpectrum: UnsafePointer<Float>, inputSpectrum: UnsafePointer<Float>,
                                      groups: Int, channels: Int, into correlation: UnsafeMutablePointer<Float>) {
        let bins = bins
        for g in 0..<groups {
            let out = correlation + 2 * g * bins
            parallelFor(bins, grain: 1024) { binRange in  // each thread owns its bins
                let (first, count) = (binRange.lowerBound, binRange.count)
                for ch in 0..<channels {
                    let offset = 2 * ((g * channels + ch) * bins + first)
                    pv_conjugate_product_add(gradientSpectrum + offset, inputSpectrum + offset, count, out + 2 * first)
                }
            }
        }
    }

    /// ∂L/∂c from `correlation` `[groups, L/2+1, 2]` (destroyed), *added* into `gradient`
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

    /// y = C x (or Cᵀ x) for x `[groups, channels, N]` and coefficients `[groups, 2N−1]`.
    public func apply(_ x: Tensor, coefficients: Tensor, transposed: Bool = false) -> Tensor {
        let (groups, channels) = checkShapes(x, coefficients)
        var y = Tensor(zeros: x.shape)
        withPaddedSpectrum(of: x, channels: groups * channels) { padded, spectrum in
            var spectra = Tensor(zeros: [groups, bins, 2])
            spectra.withUnsafeMutableBufferPointer { rs in
                coefficients.withUnsafeBufferPointer { coefficientSpectra($0.baseAddress!, groups: groups, into: rs.baseAddress!) }
                multiply(spectrum, groups: groups, channels: channels, by: rs.baseAddress!, transposed: transposed)
            }
            inverseTransform(spectrum, groups: groups, channels: channels, into: padded)
            y.withUnsafeMutableBufferPointer { unpad(padded, channels: groups * channels, into: $0.baseAddress!) }
        }
        return y
    }

    /// The gradients of L with respect to x (`[groups, channels, N]`) and the coefficients
    /// (`[groups, 2N−1]`) given g = ∂L/∂(C x).
    public func gradients(of gradient: Tensor, input x: Tensor, coefficients: Tensor) -> (input: Tensor, coefficients: Tensor) {
        let (groups, channels) = checkShapes(x, coefficients)
        precondition(gradient.shape == x.shape, "ToeplitzFFT: gradient \(gradient.shape) for input \(x.shape)")
        var dc = Tensor(zeros: coefficients.shape)
        withPaddedSpectrum(of: x, channels: groups * channels) { _, inputSpectrum in
            withPaddedSpectrum(of: gradient, channels: groups * channels) { _, gradientSpectrum in
                var correlation = Tensor(zeros: [groups, bins, 2])
                correlation.withUnsafeMutableBufferPointer { cs in
                    accumulateCorrelation(gradientSpectrum: gradientSpectrum, inputSpectrum: inputSpectrum,
                                          groups: groups, channels: channels, into: cs.baseAddress!)
                    dc.withUnsafeMutableBufferPointer { addCoefficientGradient(correlation: cs.baseAddress!, groups: groups, into: $0.baseAddress!) }
                }
            }
        }
        return (apply(gradient, coefficients: coefficients, transposed: true), dc)
    }

    func checkShapes(_ x: Tensor, _ coefficients: Tensor) -> (groups: Int, channels: Int) {
        precondition(x.rank == 3 && x.shape[2] == length,
                     "ToeplitzFFT: input [groups, channels, \(length)] expected, got \(x.shape)")
        precondition(coefficients.shape == [x.shape[0], coefficientCount],
                     "ToeplitzFFT: coefficients [\(x.shape[0]), \(coefficientCount)] expected, got \(coefficients.shape)")
        return (x.shape[0], x.shape[1])
    }

    /// Zero-pads each of the `channels` sequences of x to L and transforms them; `body`
    /// gets the padded buffer and the spectrum.
    func withPaddedSpectrum(of x: Tensor, channels: Int,
                            _ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        var padded = Tensor(zeros: [channels, transformLength]), spectrum = Tensor(zeros: [channels, bins, 2])
        Tensor.withUnsafeBufferPointers(writing: &padded, &spectrum, reading: x) { ps, ss, xs in
            for ch in 0..<channels {
                (ps.baseAddress! + ch * transformLength).update(from: xs.baseAddress! + ch * length, count: length)
            }
            transform(ps.baseAddress!, groups: 1, channels: channels, into: ss.baseAddress!)
            body(ps.baseAddress!, ss.baseAddress!)
        }
    }

    /// The first N entries of each padded channel.
    func unpad(_ padded: UnsafePointer<Float>, channels: Int, into y: UnsafeMutablePointer<Float>) {
        for ch in 0..<channels { (y + ch * length).update(from: padded + ch * transformLength, count: length) }
    }
}
