import Layers
import TensorCore

/// FNet's token mixing (Lee-Thorp et al., "FNet: Mixing Tokens with Fourier Transforms",
/// NAACL 2022, eq. 3): a 2-D discrete Fourier transform over the hidden and sequence axes,
/// real part kept, unnormalised, no parameters:
///
///     y = Re(FFT_seq(FFT_hidden(x)))        x, y: (B, N, D)
///
/// Computed as one real FFT along D (howmany = B·N), then one complex FFT along N
/// (howmany = B·(D/2+1)) on the half spectrum; the other half of the hidden frequencies
/// follows from Hermitian symmetry, Re Y[n, d] = Re Y[(N−n) mod N, D−d].
///
/// Backward: y = Re(F x) with F = F_N ⊗ F_D, and each DFT matrix is symmetric, so the
/// adjoint is dx = Re(Fᵀ g) = Re(F g) for a real upstream gradient g — the same transform.
public final class FNetMixing: TokenMixer {
    /// FNet mixing has no parameters.
    public init() {}

    /// (B, N, D) → (B, N, D).
    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        FNetMixing.realPartOfSpectrum(x)
    }

    /// The same transform applied to the upstream gradient.
    public func backward(_ gradient: Tensor) -> Tensor {
        FNetMixing.realPartOfSpectrum(gradient)
    }

    /// Re(DFT_N(DFT_D(x))) of a (B, N, D) tensor, unnormalised.
    static func realPartOfSpectrum(_ x: Tensor) -> Tensor {
        precondition(x.rank == 3, "FNetMixing: (B, N, D) input expected, got \(x.shape)")
        let (b, n, d) = (x.shape[0], x.shape[1], x.shape[2])
        let bins = d / 2 + 1
        var spectrum = Tensor(uninitialized: [b, n, bins, 2])
        var y = Tensor(uninitialized: x.shape)
        Tensor.withUnsafeBufferPointers(writing: &spectrum, &y, reading: x) { ss, ys, xs in
            let s = ss.baseAddress!
            // Out-of-place r2c leaves its input intact; the planner only wants a mutable pointer.
            FFT.realForward(input: UnsafeMutablePointer(mutating: xs.baseAddress!), output: s,
                            outer: b * n, length: d, inner: 1, scaling: .unnormalized)
            FFT.complex(input: s, output: s, outer: b, length: n, inner: bins, inverse: false,
                        scaling: .unnormalized)
            let out = ys.baseAddress!
            parallelFor(b * n, grain: max(1, 4096 / d)) { rows in
                for row in rows {
                    let batch = row / n, token = row % n
                    let mirrored = batch * n + (n - token) % n
                    for k in 0..<d {
                        out[row * d + k] = k < bins
                            ? s[2 * (row * bins + k)]
                            : s[2 * (mirrored * bins + d - k)]
                    }
                }
            }
        }
        return y
    }
}
