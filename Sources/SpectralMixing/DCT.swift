import Foundation
import TensorCore

/// The orthonormal discrete cosine transforms that the Fourier Transformer (He et al.,
/// ACL Findings 2023, §3) uses to shorten sequences, computed with one FFT each by
/// Makhoul's reordering (J. Makhoul, "A fast cosine transform in one and two dimensions",
/// IEEE TASSP 1980), batched along any axis.
///
/// DCT-II (`forward`), for x of length n:
///
///     X_k = s_k Σ_t x_t cos(πk(2t+1) / 2n),   s_0 = √(1/n),  s_k = √(2/n)
///
/// Makhoul: reorder v = [x_0, x_2, …, x_{n−1 or n−2}, …, x_3, x_1] (evens ascending, odds
/// descending), V = FFT_n(v), then X_k = s_k · Re(e^{−iπk/2n} V_k). The LUMIA-Group code
/// writes this as Re(2 e^{−iπk/2n} V_k) / (2√n) for k = 0 and / (2√(n/2)) otherwise: the same
/// numbers. v is real, so the n-point FFT is FFTW's real-to-complex transform (half the
/// work); the bins k > n/2 follow from V_k = conj(V_{n−k}).
///
/// DCT-III (`inverse`) is the transpose and inverse of the orthonormal DCT-II:
///
///     x_t = Σ_k s_k X_k cos(πk(2t+1) / 2n)
///
/// With U_k = X_k / s_k and U_n = 0, the spectrum of the reordered sequence is
/// V_k = e^{iπk/2n} (U_k − i U_{n−k}); v = IFFT_n(V) (complex-to-real, scaled 1/n), and
/// x_{2m} = v_m, x_{2m+1} = v_{n−1−m}.
///
/// Data is viewed as `[outer, n, inner]` around the transformed axis: one FFTW plan with
/// howmany = outer·inner per call.
public enum DCT {
    // MARK: - Raw buffers

    /// Orthonormal DCT-II of `input` `[outer, n, inner]` into `output` (which may be `input`).
    public static func forward(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                               outer: Int, length n: Int, inner: Int) {
        let bins = n / 2 + 1
        withWorkspace(outer: outer, length: n, inner: inner) { v, s, twiddles in
            // v_m = x_{2m}; v_{n−1−m} = x_{2m+1}.
            reorder(outer: outer, length: n, inner: inner) { row, m in
                (v + (row / n * n + m) * inner).update(from: input + row * inner, count: inner)
            }
            FFT.realForward(input: v, output: s, outer: outer, length: n, inner: inner, scaling: .unnormalized)
            // X_k = s_k Re(e^{−iθ_k} V_k), θ_k = πk/2n; V_k = conj(V_{n−k}) above n/2.
            parallelFor(outer * n, grain: max(1, 8192 / inner)) { rows in
                for row in rows {
                    let o = row / n, k = row % n
                    let (bin, sign): (Int, Float) = k < bins ? (k, 1) : (n - k, -1)
                    let c = twiddles.cosine[k] * twiddles.scale[k]
                    let sn = sign * twiddles.sine[k] * twiddles.scale[k]
                    let source = s + 2 * (o * bins + bin) * inner
                    let target = output + row * inner
                    for i in 0..<inner { target[i] = source[2 * i] * c + source[2 * i + 1] * sn }
                }
            }
        }
    }

    /// Orthonormal DCT-III (the inverse of `forward`) of `input` `[outer, n, inner]` into
    /// `output` (which may be `input`).
    public static func inverse(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                               outer: Int, length n: Int, inner: Int) {
        let bins = n / 2 + 1
        withWorkspace(outer: outer, length: n, inner: inner) { v, s, twiddles in
            // V_k / n = e^{iθ_k} (U_k − i U_{n−k}) / n, U = X / s.
            parallelFor(outer * bins, grain: max(1, 8192 / inner)) { rows in
                for row in rows {
                    let o = row / bins, k = row % bins
                    let a = input + (o * n + k) * inner
                    let b = input + (o * n + n - k) * inner  // unused when k = 0
                    let unscaleA = 1 / (twiddles.scale[k] * Float(n))
                    let unscaleB = k == 0 ? 0 : 1 / (twiddles.scale[n - k] * Float(n))
                    let c = twiddles.cosine[k], sn = twiddles.sine[k]
                    let target = s + 2 * row * inner
                    for i in 0..<inner {
                        let u = a[i] * unscaleA
                        let w = k == 0 ? 0 : b[i] * unscaleB
                        target[2 * i] = u * c + w * sn
                        target[2 * i + 1] = u * sn - w * c
                    }
                }
            }
            FFT.realInverse(input: s, output: v, outer: outer, length: n, inner: inner, scaling: .unnormalized)
            // x_{2m} = v_m; x_{2m+1} = v_{n−1−m}.
            reorder(outer: outer, length: n, inner: inner) { row, m in
                (output + row * inner).update(from: v + (row / n * n + m) * inner, count: inner)
            }
        }
    }

    /// The reordered sequence v `[outer, n, inner]`, its spectrum `[outer, n/2+1, inner, 2]` and
    /// the twiddles, alive while `body` runs.
    static func withWorkspace(outer: Int, length n: Int, inner: Int,
                              _ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, Twiddles) -> Void) {
        var reordered = Tensor(zeros: [outer * n * inner]), spectrum = Tensor(zeros: [outer * (n / 2 + 1) * inner * 2])
        reordered.withUnsafeMutableBufferPointer { vs in
            spectrum.withUnsafeMutableBufferPointer { ss in body(vs.baseAddress!, ss.baseAddress!, Twiddles(length: n)) }
        }
    }

    /// Makhoul's permutation: calls `move(row, m)` for every row = o·n + t of `[outer, n]`, with
    /// m the position of x_t in v (evens ascending, then odds descending).
    static func reorder(outer: Int, length n: Int, inner: Int, _ move: (_ row: Int, _ m: Int) -> Void) {
        parallelFor(outer * n, grain: max(1, 8192 / inner)) { rows in
            for row in rows {
                let t = row % n
                move(row, t % 2 == 0 ? t / 2 : n - 1 - t / 2)
            }
        }
    }

    // MARK: - Tensors

    /// Orthonormal DCT-II along `axis`.
    public static func forward(_ x: Tensor, axis: Int) -> Tensor {
        transform(x, axis: axis, inverse: false)
    }

    /// Orthonormal DCT-III along `axis` (the inverse of `forward`).
    public static func inverse(_ x: Tensor, axis: Int) -> Tensor {
        transform(x, axis: axis, inverse: true)
    }

    static func transform(_ x: Tensor, axis: Int, inverse: Bool) -> Tensor {
        precondition(axis >= 0 && axis < x.rank, "DCT: axis \(axis) out of range for shape \(x.shape)")
        let outer = x.shape[..<axis].reduce(1, *), n = x.shape[axis], inner = x.shape[(axis + 1)...].reduce(1, *)
        var y = Tensor(zeros: x.shape)
        if x.count == 0 { return y }
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { ys in
                if inverse {
                    DCT.inverse(input: xs.baseAddress!, output: ys.baseAddress!, outer: outer, length: n, inner: inner)
                } else {
                    DCT.forward(input: xs.baseAddress!, output: ys.baseAddress!, outer: outer, length: n, inner: inner)
                }
            }
        }
        return y
    }

    /// cos θ_k, sin θ_k with θ_k = πk/2n, and the orthonormal scale s_k, for k in 0..<n.
    struct Twiddles {
        let cosine: [Float], sine: [Float], scale: [Float]

        init(length n: Int) {
            let angles = (0..<n).map { Double.pi * Double($0) / Double(2 * n) }
            cosine = angles.map { Float(cos($0)) }
            sine = angles.map { Float(sin($0)) }
            scale = (0..<n).map { Float(($0 == 0 ? 1.0 : 2.0) / Double(n)).squareRoot() }
        }
    }
}
