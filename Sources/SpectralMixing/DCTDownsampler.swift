import Layers
import TensorCore

/// The Fourier Transformer's sequence downsampling (He et al., "Fourier Transformer: Fast
/// Long Range Modeling by Removing Sequence Redundancy with FFT Operator", ACL Findings 2023,
/// §3.2): keep the K lowest DCT frequencies along the sequence and transform back at length K,
///
///     x ← IDCT_K(DCT_N(x)[:K]),   K = ceil(p·N)        x: (B, N, D) → (B, K, D)
///
/// with CLS pooling the first token is kept aside and prepended again: (B, N, D) →
/// (B, 1 + K′, D) where the N − 1 other tokens are shortened to K′ = min(K, N − 1) — K is
/// computed from the full length N, exactly as the LUMIA-Group code slices
/// `[:, :, :ceil(T·p)]` after removing CLS, so p = 1 is the identity.
///
/// Scaling, matching that code's `dct(·, norm='ortho')` then `idct(·, norm='ortho')`: both
/// transforms are orthonormal *at their own length*, DCT-II at N and DCT-III at K. The
/// truncated spectrum is not rescaled, so a constant sequence of value a comes back as the
/// constant a·√(N/K) (its DC coefficient a√N is read by a length-K inverse as a√N/√K).
///
/// Backward: the map is linear, x ↦ C_Kᵀ P C_N x with orthonormal C and the truncation P,
/// so dx = C_Nᵀ Pᵀ C_K g = IDCT_N(pad(DCT_K(g))) — forward and inverse swap roles, and the
/// dropped frequencies get zero gradient.
///
/// No parameters: a Fourier Transformer loads a plain Transformer's checkpoint unchanged.
public final class DCTDownsampler: SequenceLayer {
    /// The fraction p of frequencies kept.
    public let ratio: Double
    /// Whether token 0 (CLS) bypasses the transform.
    public let keepsFirstToken: Bool
    var inputLength = 0

    /// - Parameters:
    ///   - ratio: p in (0, 1], the fraction of DCT frequencies kept (K = ceil(p·N)).
    ///   - keepsFirstToken: keep token 0 (CLS) aside, as with CLS pooling.
    public init(ratio: Double, keepsFirstToken: Bool) {
        precondition(ratio > 0 && ratio <= 1, "DCTDownsampler: ratio must be in (0, 1], got \(ratio)")
        self.ratio = ratio
        self.keepsFirstToken = keepsFirstToken
    }

    /// The output length for an input of `length` tokens.
    public func outputLength(forInputLength length: Int) -> Int {
        let kept = Int((ratio * Double(length)).rounded(.up))
        return keepsFirstToken ? 1 + min(kept, length - 1) : min(kept, length)
    }

    /// (B, N, D) → (B, K, D), or (B, 1 + K′, D) keeping CLS.
    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        precondition(x.rank == 3, "DCTDownsampler: (B, N, D) input expected, got \(x.shape)")
        precondition(!keepsFirstToken || x.shape[1] >= 2, "DCTDownsampler: CLS kept aside needs N ≥ 2, got \(x.shape)")
        inputLength = x.shape[1]
        return DCTDownsampler.resample(x, toLength: outputLength(forInputLength: inputLength),
                                       keepsFirstToken: keepsFirstToken, forward: true)
    }

    /// (B, K, D) gradient → (B, N, D): IDCT_N(pad(DCT_K(g))).
    public func backward(_ gradient: Tensor) -> Tensor {
        DCTDownsampler.resample(gradient, toLength: inputLength, keepsFirstToken: keepsFirstToken, forward: false)
    }

    /// Along axis 1 of (B, L, D), skipping token 0 when `keepsFirstToken`:
    /// forward (L ≥ M): IDCT_M(DCT_L(x)[:M]); adjoint (L ≤ M): IDCT_M(pad_M(DCT_L(x))).
    /// Both are "DCT at the input length, resize the spectrum, inverse DCT at the output length".
    static func resample(_ x: Tensor, toLength outputLength: Int, keepsFirstToken: Bool, forward: Bool) -> Tensor {
        let (b, length, d) = (x.shape[0], x.shape[1], x.shape[2])
        let skip = keepsFirstToken ? 1 : 0
        let inCount = length - skip, outCount = outputLength - skip
        precondition(forward ? outCount <= inCount : outCount >= inCount,
                     "DCTDownsampler: cannot resample \(inCount) tokens to \(outCount)")
        var spectrum = Tensor(zeros: [b, inCount, d])
        var resized = Tensor(zeros: [b, outCount, d])
        var y = Tensor(zeros: [b, outputLength, d])
        let kept = min(inCount, outCount)
        Tensor.withUnsafeBufferPointers(writing: &spectrum, &resized, &y, reading: x) { ss, rs, ys, xs in
            let input = xs.baseAddress!, s = ss.baseAddress!, r = rs.baseAddress!, out = ys.baseAddress!
            for batch in 0..<b {
                (s + batch * inCount * d).update(from: input + (batch * length + skip) * d, count: inCount * d)
            }
            DCT.forward(input: s, output: s, outer: b, length: inCount, inner: d)
            // Truncate (forward) or zero-pad (adjoint) the spectrum to outCount.
            for batch in 0..<b {
                (r + batch * outCount * d).update(from: s + batch * inCount * d, count: kept * d)
            }
            DCT.inverse(input: r, output: r, outer: b, length: outCount, inner: d)
            for batch in 0..<b {
                if keepsFirstToken { (out + batch * outputLength * d).update(from: input + batch * length * d, count: d) }
                (out + (batch * outputLength + skip) * d).update(from: r + batch * outCount * d, count: outCount * d)
            }
        }
        return y
    }
}

