import Layers
import Parameters
import TensorCore

/// GFNet's global filter (Rao et al., "Global Filter Networks for Image Classification",
/// NeurIPS 2021, eq. 3–4), along the token axis:
///
///     Z = rfft(x, ortho);   Y = Z ⊙ W;   y = irfft(Y, N, ortho)
///
/// for x: (B, N, D), W ∈ ℂ^{F×D} a learnable complex filter per frequency (F = N/2 + 1) and
/// channel. The paper filters the 2-D FFT of the patch grid (`torch.fft.rfft2` over h × w); this
/// is its 1-D form over the sequence, which is what a token task has (for images Parseval's
/// patches arrive as a row-major sequence, so this filters that sequence). Parameter
/// `<name>.filter`, shape (F, D, 2) = (re, im), initialised N(0, 0.02²) as the official code's
/// `torch.randn(…) * 0.02`.
///
/// Backward. With R = rfft(dy, ortho) — its DC and Nyquist bins real — and m_k = 2 for the bins
/// c2r counts twice (1 ≤ k < N/2), 1 for DC and Nyquist:
///
///     dx = irfft(R ⊙ conj(W), N, ortho)          dW = Σ_batch m ⊙ R ⊙ conj(Z)
///
/// (the filter's adjoint is the conjugate filter; the m's of irfft's adjoint and rfft's adjoint
/// cancel in dx). The imaginary parts of W at DC and Nyquist never reach y: their gradient is 0.
/// Tests: `Tests/SpectralMixingTests/GlobalFilterTests.swift` (explicit DFT matrices in Double,
/// central finite differences for x and W, odd and even N).
public final class GlobalFilterMixing: TokenMixer {
    public let arena: ParameterArena
    public let dim: Int
    /// N, the length every input must have (the filter has N/2 + 1 bins).
    public let sequenceLength: Int
    public let bins: Int
    public let filter: Parameter
    var spectrum = Tensor.empty  // Z, kept for dW: (B, D, F, 2)

    public init(_ name: String, arena: ParameterArena, dim: Int, sequenceLength: Int) {
        precondition(sequenceLength >= 1 && dim >= 1, "GlobalFilterMixing: dim and sequenceLength must be positive")
        self.arena = arena
        self.dim = dim
        self.sequenceLength = sequenceLength
        bins = sequenceLength / 2 + 1
        filter = arena.register("\(name).filter", shape: [bins, dim, 2], initializer: .normal(std: 0.02), weightDecay: true)
    }

    // The transforms run on contiguous sequences: x is transposed to (B, D, N) first and the
    // result back, as FFTNet does — FFTW's plans for transforms at stride D are several times
    // slower once a sequence outgrows the cache (docs/benchmarks.md), and two transposes cost less.

    /// (B, N, D) → (B, N, D). Padding is filtered like any token, as in GFNet (no mask).
    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        precondition(x.rank == 3 && x.shape[1] == sequenceLength && x.shape[2] == dim,
                     "GlobalFilterMixing: (B, \(sequenceLength), \(dim)) input expected, got \(x.shape)")
        spectrum = FFT.realForward(MatrixTranspose.transposed(x), axis: 2, scaling: .ortho)
        var filtered = spectrum
        multiply(&filtered, conjugate: false)
        return MatrixTranspose.transposed(FFT.realInverse(filtered, axis: 2, length: sequenceLength, scaling: .ortho))
    }

    public func backward(_ gradient: Tensor) -> Tensor {
        var r = FFT.realForward(MatrixTranspose.transposed(gradient), axis: 2, scaling: .ortho)
        accumulateFilterGradient(r)
        multiply(&r, conjugate: true)
        spectrum = Tensor.empty
        return MatrixTranspose.transposed(FFT.realInverse(r, axis: 2, length: sequenceLength, scaling: .ortho))
    }

    /// z[b, d, f] ← z[b, d, f] · W[f, d] (or · conj(W[f, d])), complex.
    func multiply(_ z: inout Tensor, conjugate: Bool) {
        let batch = z.shape[0], (f, d) = (bins, dim), sign: Float = conjugate ? -1 : 1
        let w = arena.value(filter)
        z.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            parallelFor(batch * d, grain: max(1, 4096 / f)) { rows in
                for row in rows {
                    let channel = row % d
                    let values = base + row * f * 2, weights = w + channel * 2
                    for k in 0..<f {
                        let (zr, zi) = (values[2 * k], values[2 * k + 1])
                        let (wr, wi) = (weights[2 * d * k], sign * weights[2 * d * k + 1])
                        values[2 * k] = zr * wr - zi * wi
                        values[2 * k + 1] = zr * wi + zi * wr
                    }
                }
            }
        }
    }

    /// dW[f, d] += Σ_b m_f · R[b, d, f] · conj(Z[b, d, f]).
    func accumulateFilterGradient(_ r: Tensor) {
        let batch = r.shape[0], (f, d) = (bins, dim), n = sequenceLength
        let dw = arena.gradient(filter)
        r.withUnsafeBufferPointer { rs in
            spectrum.withUnsafeBufferPointer { zs in
                // Channels are independent: split them over threads, sum the batch inside.
                parallelFor(d, grain: max(1, 2048 / f)) { channels in
                    for channel in channels {
                        let out = dw + channel * 2
                        for b in 0..<batch {
                            let offset = (b * d + channel) * f * 2
                            let rp = rs.baseAddress! + offset, zp = zs.baseAddress! + offset
                            for k in 0..<f {
                                let twice = k > 0 && !(n % 2 == 0 && k == n / 2)
                                let weight: Float = twice ? 2 : 1
                                let (rr, ri, zr, zi) = (rp[2 * k], rp[2 * k + 1], zp[2 * k], zp[2 * k + 1])
                                out[2 * d * k] += weight * (rr * zr + ri * zi)
                                out[2 * d * k + 1] += weight * (ri * zr - rr * zi)
                            }
                        }
                    }
                }
            }
        }
    }
}
