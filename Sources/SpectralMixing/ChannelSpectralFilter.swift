import CKernels
import TensorCore

/// FFTNet's spectral half on whole channel sequences, the one pipeline behind both the
/// single-rank layer (`FFTNetMixing`: all D channels) and the sequence-parallel one
/// (`TransposeSpectralFilter`: the D/P channels an FFTW-MPI transpose gathered on this rank):
///
///     Ẑ = rfft(x) along N, unnormalised        x: (B, C, N) → Ẑ: (B, C, F, 2)
///     U = modReLU(Ẑ/√N ⊙ W) · √N … folded       W: (B, H, F), the filter; β: (H, F), the modReLU bias
///     y = irfft(U) along N, unnormalised        (B, C, N)
///
/// The ortho factors 1/√N of both transforms are folded into the filter pass
/// (`pv_spectral_filter`). Channel c of the block is global channel `channelStart + c`, in head
/// (channelStart + c) / (D/H). Backward (`pv_spectral_filter_backward`): the adjoint of
/// irfft_ortho is rfft_ortho with interior bins doubled, that of rfft_ortho is irfft_ortho with
/// them halved.
package struct ChannelSpectralFilter {
    /// N, the sequence length; F = N/2 + 1 bins.
    package let length: Int
    package let bins: Int
    /// D and H of the whole layer, and this block's C channels starting at `channelStart`.
    package let dim: Int
    package let heads: Int
    package let channels: Int
    package let channelStart: Int

    package init(length: Int, dim: Int, heads: Int, channels: Int, channelStart: Int) {
        (self.length, self.dim, self.heads, self.channels, self.channelStart) = (length, dim, heads, channels, channelStart)
        bins = length / 2 + 1
    }

    /// The filter row and bias row of block row `row` (one channel of one example).
    @inline(__always)
    func rows(_ row: Int) -> (filter: Int, head: Int) {
        let head = (channelStart + row % channels) / (dim / heads)
        return ((row / channels * heads + head) * bins, head)
    }

    /// Sequences (B, C, N) → the filtered sequences (B, C, N) and Ẑ (B, C, F, 2), which backward
    /// needs. `filter` is (B, H, F); `bias` points at β (H, F). `sequences` is used as scratch.
    package func forward(_ sequences: inout Tensor, filter: Tensor, bias: UnsafePointer<Float>) -> (output: Tensor, spectrum: Tensor) {
        let (b, n, f) = (sequences.shape[0], length, bins)
        var z = Tensor(uninitialized: [b, channels, f, 2])
        Tensor.withUnsafeBufferPointers(writing: &sequences, &z) { xs, zs in
            FFT.realForward(input: xs.baseAddress!, output: zs.baseAddress!, outer: b * channels, length: n, inner: 1,
                            scaling: .unnormalized)
        }
        // U = modReLU(Z ⊙ W), then y = irfft(U) (c2r overwrites U, a scratch copy).
        var u = Tensor(uninitialized: z.shape)
        let ortho = 1 / Float(n).squareRoot(), eps = FFTNetMixing.epsilon
        Tensor.withUnsafeBufferPointers(writing: &u, reading: z, filter) { us, zs, ws in
            let zp = zs.baseAddress!, wp = ws.baseAddress!, up = us.baseAddress!
            parallelFor(b * channels, grain: max(1, 4096 / f)) { block in
                for row in block {
                    let (filterRow, head) = rows(row)
                    pv_spectral_filter(zp + 2 * row * f, wp + filterRow, bias + head * f, f, ortho, eps, up + 2 * row * f)
                }
            }
        }
        var output = Tensor(uninitialized: [b, channels, n])
        Tensor.withUnsafeBufferPointers(writing: &u, &output) { us, ys in
            FFT.realInverse(input: us.baseAddress!, output: ys.baseAddress!, outer: b * channels, length: n, inner: 1,
                            scaling: .unnormalized)
        }
        return (output, z)
    }

    /// The gradient of the filtered sequences (B, C, N) → that of the input sequences (B, C, N)
    /// and of the filter (B, H, F); adds ∂L/∂β into `biasGradient` (H, F). `gradientSequences`
    /// is used as scratch.
    ///
    /// Through modReLU and Z' = Z ⊙ W. With z = Z', r = |z|, s = (r + β)/(r + ε) where r + β > 0:
    ///   ∂L/∂z = s G + (G·z)(ε − β) / ((r + ε)² r) · z,   ∂L/∂β += (G·z)/(r + ε)
    ///   ∂L/∂Z = W ∂L/∂z,   ∂L/∂W += ∂L/∂z · Z   (real dot products of (re, im) pairs)
    package func backward(_ gradientSequences: inout Tensor, spectrum: Tensor, filter: Tensor, bias: UnsafePointer<Float>,
                          biasGradient: UnsafeMutablePointer<Float>) -> (input: Tensor, filter: Tensor) {
        let (b, n, f) = (spectrum.shape[0], length, bins)
        // G_U = rfft(g) (its 1/√N is applied where G_U is read), (B, C, F) like Z.
        var gu = Tensor(uninitialized: spectrum.shape)
        Tensor.withUnsafeBufferPointers(writing: &gradientSequences, &gu) { gs, us in
            FFT.realForward(input: gs.baseAddress!, output: us.baseAddress!, outer: b * channels, length: n, inner: 1,
                            scaling: .unnormalized)
        }
        var gw = Tensor(zeros: [b, heads, f])
        let ortho = 1 / Float(n).squareRoot(), eps = FFTNetMixing.epsilon
        Tensor.withUnsafeBufferPointers(writing: &gu, &gw, reading: spectrum, filter) { us, gws, zs, ws in
            let zp = zs.baseAddress!, wp = ws.baseAddress!, gp = us.baseAddress!, gwp = gws.baseAddress!
            // Parallel over bins: each thread owns its bins' W and β gradient entries.
            parallelFor(f, grain: max(1, 65_536 / (b * channels))) { binRange in
                for row in 0..<(b * channels) {
                    let (filterRow, head) = rows(row)
                    pv_spectral_filter_backward(zp + 2 * row * f, wp + filterRow, bias + head * f,
                                                gp + 2 * row * f, gwp + filterRow, biasGradient + head * f,
                                                binRange.lowerBound, binRange.upperBound, n, ortho, eps)
                }
            }
        }
        // dx = irfft(∂L/∂Z / w_k) (already divided above).
        var dx = Tensor(uninitialized: [b, channels, n])
        Tensor.withUnsafeBufferPointers(writing: &gu, &dx) { us, dxs in
            FFT.realInverse(input: us.baseAddress!, output: dxs.baseAddress!, outer: b * channels, length: n, inner: 1,
                            scaling: .unnormalized)
        }
        return (dx, gw)
    }
}
