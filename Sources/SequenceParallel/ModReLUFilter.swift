import SpectralMixing
import TensorCore

/// FFTNet's per-frequency step, Z' = Z·w then modReLU(z) = z · ReLU(|z| + β) / (|z| + ε),
/// and its backward, for the distributed-DFT scheme (complex spectra, no bin doubling). The
/// same equations as `CKernels`' `pv_spectral_filter`, which `FFTNetMixing` and the transpose
/// scheme run on their real-FFT half spectra.
enum ModReLUFilter {
    static let epsilon = FFTNetMixing.epsilon

    /// modReLU(Z·w) for one complex value Z = (re, im).
    @inline(__always)
    static func forward(re: Float, im: Float, filter w: Float, bias beta: Float) -> (re: Float, im: Float) {
        let zr = re * w, zi = im * w
        let magnitude = (zr * zr + zi * zi).squareRoot()
        let scale = max(magnitude + beta, 0) / (magnitude + epsilon)
        return (zr * scale, zi * scale)
    }

    /// Given Z = (re, im) and the gradient (gr, gi) of the loss with respect to modReLU(Z·w):
    /// with z = Z·w, r = |z|, s = (r + β)/(r + ε) where r + β > 0,
    ///     ∂L/∂z = s G + (G·z)(ε − β) / ((r + ε)² r) · z,   ∂L/∂β = (G·z)/(r + ε),
    ///     ∂L/∂Z = w ∂L/∂z,   ∂L/∂w = ∂L/∂z · Z   (real dot products of (re, im) pairs).
    @inline(__always)
    static func backward(re: Float, im: Float, filter w: Float, bias beta: Float, gradientRe gr: Float,
                         gradientIm gi: Float) -> (re: Float, im: Float, filter: Float, bias: Float) {
        let zr = re * w, zi = im * w
        let r = (zr * zr + zi * zi).squareRoot()
        guard r + beta > 0 else { return (0, 0, 0, 0) }
        let dot = gr * zr + gi * zi
        let s = (r + beta) / (r + epsilon)
        let radial = r > 0 ? dot * (epsilon - beta) / ((r + epsilon) * (r + epsilon) * r) : 0
        let dr = s * gr + radial * zr, di = s * gi + radial * zi
        return (dr * w, di * w, dr * re + di * im, dot / (r + epsilon))
    }
}

/// One scheme's spectral half of FFTNet on a token block: transform along the whole
/// sequence, modReLU(Z ⊙ W), inverse — and its backward.
protocol SpectralFilterScheme: AnyObject {
    /// `x` (B, N/P, D) token block, `filter` W = base + ΔW (B, H, F), `bias` β (H, F) → (B, N/P, D).
    /// Keeps what backward needs. Collective over the group.
    func forward(_ x: Tensor, filter: Tensor, bias: UnsafePointer<Float>) -> Tensor
    /// The gradient of the last forward's output → the input gradient and this rank's partial
    /// ∂L/∂W (B, H, F) and ∂L/∂β (H, F): summed over the group they are the full gradients.
    func backward(_ gradient: Tensor, filter: Tensor, bias: UnsafePointer<Float>)
        -> (input: Tensor, filter: Tensor, bias: Tensor)
}
