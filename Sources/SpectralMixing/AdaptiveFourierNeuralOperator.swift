import Layers
import Parameters
import TensorCore

/// AFNO, the Adaptive Fourier Neural Operator (Guibas et al., "Adaptive Fourier Neural
/// Operators: Efficient Token Mixers for Transformers", ICLR 2022, eq. 6–8; NVlabs/AFNO-transformer
/// `afno/afno1d.py` `AFNO1D`), along the token axis:
///
///     Z  = rfft(x, ortho)                                   (B, F, D) complex, F = N/2 + 1
///     Z  = [Z₁ … Z_K]                                       K blocks of d = D/K channels
///     O₁ = ReLU(Z_k W₁ₖ + b₁ₖ)                              ReLU on real and imaginary parts apart
///     O₂ = O₁ W₂ₖ + b₂ₖ                                     W₁ₖ ∈ ℂ^{d×d·f}, W₂ₖ ∈ ℂ^{d·f×d}
///     y  = irfft(S_λ(O₂), N, ortho) + x                     S_λ soft-thresholding of each part
///
/// a two-layer complex MLP per channel block shared by every frequency (the block-diagonal
/// weights), soft-shrinkage S_λ(u) = sign(u)·max(|u| − λ, 0) for sparse modes, and the filter's own
/// residual (`return x + bias` in the official code). Fixed at the official classification
/// model's values: λ = `sparsityThreshold` 0.01, hidden factor f = 1, every mode kept
/// (`hard_thresholding_fraction` 1). Parameters with the official names and shapes, (re, im)
/// first: `<name>.w1` (2, K, d, d·f), `<name>.b1` (2, K, d·f), `<name>.w2` (2, K, d·f, d),
/// `<name>.b2` (2, K, d), initialised N(0, 0.02²) as `self.scale * torch.randn(…)`. Padding is
/// filtered like any token (no mask). No parameter depends on N: any length runs.
///
/// The complex products run as real ones on planar rows [re | im]: [Zr Zi]·[[Wr, Wi], [−Wi, Wr]] =
/// [Zr Wr − Zi Wi | Zr Wi + Zi Wr], one GEMM per block.
///
/// Backward. With m_k = 2 for the bins c2r counts twice (1 ≤ k < N/2), 1 for DC and Nyquist,
/// G = m ⊙ rfft(dy, ortho) is the gradient of S (its DC and Nyquist imaginary parts 0: c2r drops
/// them); then through S_λ (1 where |O₂| > λ), the second product, the ReLU (1 where O₁ > 0) and
/// the first product; rfft's adjoint is irfft of the gradient divided by m:
///
///     dx = dy + irfft(dZ / m, N, ortho)
///
/// Tests: `Tests/SpectralMixingTests/AdaptiveFourierNeuralOperatorTests.swift` (explicit DFT
/// matrices and complex loops in Double; central finite differences for x and every parameter).
public final class AdaptiveFourierNeuralOperator: TokenMixer {
    public let arena: ParameterArena
    public let dim: Int
    /// K, the channel blocks (the block-diagonal weights' blocks).
    public let blocks: Int
    /// d = D / K.
    public let blockSize: Int
    /// d · f, the complex MLP's hidden width per block.
    public let hiddenSize: Int
    /// λ of the soft-shrinkage.
    public let sparsityThreshold: Float
    public let w1: Parameter, b1: Parameter, w2: Parameter, b2: Parameter
    var length = 0
    var input = Tensor.empty      // Z by block, planar: (K, B·F, 2d)
    var hidden = Tensor.empty     // O₁ after ReLU: (K, B·F, 2h)
    var output = Tensor.empty     // O₂ before S_λ: (K, B·F, 2d)

    public init(_ name: String, arena: ParameterArena, dim: Int, blocks: Int, hiddenSizeFactor: Int = 1,
                sparsityThreshold: Float = 0.01) {
        precondition(dim >= 1 && blocks >= 1 && dim % blocks == 0 && hiddenSizeFactor >= 1,
                     "AdaptiveFourierNeuralOperator: dim \(dim) must split into \(blocks) blocks")
        self.arena = arena
        self.dim = dim
        self.blocks = blocks
        blockSize = dim / blocks
        hiddenSize = blockSize * hiddenSizeFactor
        self.sparsityThreshold = sparsityThreshold
        let (k, d, h) = (blocks, blockSize, hiddenSize)
        w1 = arena.register("\(name).w1", shape: [2, k, d, h], initializer: .normal(std: 0.02), weightDecay: true)
        b1 = arena.register("\(name).b1", shape: [2, k, h], initializer: .normal(std: 0.02), weightDecay: false)
        w2 = arena.register("\(name).w2", shape: [2, k, h, d], initializer: .normal(std: 0.02), weightDecay: true)
        b2 = arena.register("\(name).b2", shape: [2, k, d], initializer: .normal(std: 0.02), weightDecay: false)
    }

    /// (B, N, D) → (B, N, D), any N.
    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        precondition(x.rank == 3 && x.shape[2] == dim, "AdaptiveFourierNeuralOperator: (B, N, \(dim)) input expected, got \(x.shape)")
        length = x.shape[1]
        let spectrum = FFT.realForward(MatrixTranspose.transposed(x), axis: 2, scaling: .ortho)  // (B, D, F, 2)
        let rows = x.shape[0] * (length / 2 + 1)
        let (k, d, h) = (blocks, blockSize, hiddenSize)
        input = Tensor(uninitialized: [k, rows, 2 * d])
        hidden = Tensor(uninitialized: [k, rows, 2 * h])
        output = Tensor(uninitialized: [k, rows, 2 * d])
        spectrum.withUnsafeBufferPointer { input.withUnsafeMutableBufferPointer(planar(from: $0.baseAddress!, batch: x.shape[0])) }
        let first = realForm(w1, rows: d, columns: h), second = realForm(w2, rows: h, columns: d)
        let (bias1, bias2) = (arena.value(b1), arena.value(b2))
        Tensor.withUnsafeBufferPointers(writing: &hidden, &output, reading: input, first, second) { o1, o2, z, wa, wb in
            for block in 0..<k {
                let zk = z.baseAddress! + block * rows * 2 * d, o1k = o1.baseAddress! + block * rows * 2 * h
                let o2k = o2.baseAddress! + block * rows * 2 * d
                broadcastBias(bias1, block: block, width: h, into: o1k, rows: rows)
                gemm(.none, .none, m: rows, n: 2 * h, k: 2 * d, a: zk, lda: 2 * d,
                     b: wa.baseAddress! + block * 4 * d * h, ldb: 2 * h, beta: 1, c: o1k, ldc: 2 * h)
                let count = rows * 2 * h
                parallelFor(count) { range in for i in range where o1k[i] < 0 { o1k[i] = 0 } }
                broadcastBias(bias2, block: block, width: d, into: o2k, rows: rows)
                gemm(.none, .none, m: rows, n: 2 * d, k: 2 * h, a: o1k, lda: 2 * h,
                     b: wb.baseAddress! + block * 4 * h * d, ldb: 2 * d, beta: 1, c: o2k, ldc: 2 * d)
            }
        }
        var shrunk = Tensor(uninitialized: spectrum.shape)
        let lambda = sparsityThreshold
        output.withUnsafeBufferPointer { o2 in
            shrunk.withUnsafeMutableBufferPointer(interleaved(from: o2.baseAddress!, batch: x.shape[0], divideByMultiplicity: false) { u in
                u > lambda ? u - lambda : (u < -lambda ? u + lambda : 0)
            })
        }
        var y = MatrixTranspose.transposed(FFT.realInverse(shrunk, axis: 2, length: length, scaling: .ortho))
        x.withUnsafeBufferPointer { xs in y.withUnsafeMutableBufferPointer { Kernels.axpy(1, xs, $0) } }  // + x
        return y
    }

    public func backward(_ gradient: Tensor) -> Tensor {
        let r = FFT.realForward(MatrixTranspose.transposed(gradient), axis: 2, scaling: .ortho)  // (B, D, F, 2)
        let batch = r.shape[0], rows = batch * (length / 2 + 1)
        let (k, d, h) = (blocks, blockSize, hiddenSize)
        let lambda = sparsityThreshold
        // dO₂ = m ⊙ R where |O₂| > λ (S_λ's slope), planar by block.
        var dOutput = Tensor(uninitialized: [k, rows, 2 * d])
        r.withUnsafeBufferPointer {
            dOutput.withUnsafeMutableBufferPointer(planar(from: $0.baseAddress!, batch: batch, multiplyByMultiplicity: true))
        }
        dOutput.withUnsafeMutableBufferPointer { g in
            output.withUnsafeBufferPointer { o2 in
                parallelFor(g.count) { range in for i in range where abs(o2[i]) <= lambda { g[i] = 0 } }
            }
        }
        var dHidden = Tensor(uninitialized: [k, rows, 2 * h])
        var dInput = Tensor(uninitialized: [k, rows, 2 * d])
        let first = realForm(w1, rows: d, columns: h), second = realForm(w2, rows: h, columns: d)
        var dFirst = Tensor(zeros: [k, 2 * d, 2 * h]), dSecond = Tensor(zeros: [k, 2 * h, 2 * d])
        let (gb1, gb2) = (arena.gradient(b1), arena.gradient(b2))
        Tensor.withUnsafeBufferPointers(writing: &dHidden, &dInput, &dFirst, &dSecond,
                                        reading: dOutput, hidden, input, first, second) { g1, gz, dwa, dwb, g2, o1, z, wa, wb in
            for block in 0..<k {
                let g2k = g2.baseAddress! + block * rows * 2 * d, g1k = g1.baseAddress! + block * rows * 2 * h
                let o1k = o1.baseAddress! + block * rows * 2 * h, zk = z.baseAddress! + block * rows * 2 * d
                let gzk = gz.baseAddress! + block * rows * 2 * d
                sumRows(g2k, rows: rows, width: d, block: block, into: gb2)
                gemm(.transposed, .none, m: 2 * h, n: 2 * d, k: rows, a: o1k, lda: 2 * h, b: g2k, ldb: 2 * d,
                     beta: 0, c: dwb.baseAddress! + block * 4 * h * d, ldc: 2 * d)
                gemm(.none, .transposed, m: rows, n: 2 * h, k: 2 * d, a: g2k, lda: 2 * d,
                     b: wb.baseAddress! + block * 4 * h * d, ldb: 2 * d, beta: 0, c: g1k, ldc: 2 * h)
                let count = rows * 2 * h
                parallelFor(count) { range in for i in range where o1k[i] <= 0 { g1k[i] = 0 } }
                sumRows(g1k, rows: rows, width: h, block: block, into: gb1)
                gemm(.transposed, .none, m: 2 * d, n: 2 * h, k: rows, a: zk, lda: 2 * d, b: g1k, ldb: 2 * h,
                     beta: 0, c: dwa.baseAddress! + block * 4 * d * h, ldc: 2 * h)
                gemm(.none, .transposed, m: rows, n: 2 * d, k: 2 * h, a: g1k, lda: 2 * h,
                     b: wa.baseAddress! + block * 4 * d * h, ldb: 2 * h, beta: 0, c: gzk, ldc: 2 * d)
            }
        }
        foldRealForm(dFirst, into: w1, rows: d, columns: h)
        foldRealForm(dSecond, into: w2, rows: h, columns: d)
        // rfft's adjoint: irfft of dZ / m.
        var dSpectrum = Tensor(uninitialized: r.shape)
        dInput.withUnsafeBufferPointer { gz in
            dSpectrum.withUnsafeMutableBufferPointer(interleaved(from: gz.baseAddress!, batch: batch, divideByMultiplicity: true) { $0 })
        }
        (input, hidden, output) = (Tensor.empty, Tensor.empty, Tensor.empty)
        var dx = MatrixTranspose.transposed(FFT.realInverse(dSpectrum, axis: 2, length: length, scaling: .ortho))
        gradient.withUnsafeBufferPointer { g in dx.withUnsafeMutableBufferPointer { Kernels.axpy(1, g, $0) } }  // the residual's
        return dx
    }

    // MARK: - Layout helpers

    /// m_k: 2 for the bins c2r counts twice, 1 for DC and (even N) Nyquist.
    func multiplicity(bin: Int) -> Float { bin == 0 || (length % 2 == 0 && bin == length / 2) ? 1 : 2 }

    /// The conversions between the transforms' layout, (B, D, F, 2) — each channel's spectrum
    /// contiguous, so FFTW runs contiguous transforms (at stride D they were several times
    /// slower, as GFNet's and FFTNet's were) — and the block MLP's planar (K, B·F, 2d), where row
    /// b·F + f of block j is [re₀ … re_{d−1} | im₀ … im_{d−1}] of channels j·d … j·d + d − 1.
    /// Both walk the spectra in tiles of `tile` channels × `tile` bins, split over threads by
    /// tile, so reads and writes stay within a few cache lines of each other.
    static let tile = 32

    /// Calls `body(b, channels, bins)` for every tile of every example, split over threads.
    func forEachTile(batch: Int, _ body: (Int, Range<Int>, Range<Int>) -> Void) {
        let bins = length / 2 + 1, t = Self.tile
        let channelTiles = (dim + t - 1) / t, binTiles = (bins + t - 1) / t, perExample = channelTiles * binTiles
        parallelFor(batch * perExample, grain: max(1, 8192 / (t * t))) { tiles in
            for index in tiles {
                let b = index / perExample, c0 = (index % perExample) / binTiles * t, f0 = (index % binTiles) * t
                body(b, c0..<min(dim, c0 + t), f0..<min(bins, f0 + t))
            }
        }
    }

    /// (B, D, F, 2) → planar (K, B·F, 2d). With `multiplyByMultiplicity`, each bin is scaled by
    /// m_k and DC's and Nyquist's imaginary parts are zeroed (the gradient of what c2r reads).
    func planar(from source: UnsafePointer<Float>, batch: Int,
                multiplyByMultiplicity: Bool = false) -> (UnsafeMutableBufferPointer<Float>) -> Void {
        { target in
            let d = self.blockSize, bins = self.length / 2 + 1, rows = batch * bins
            self.forEachTile(batch: batch) { b, channels, binRange in
                for channel in channels {
                    let (block, i) = channel.quotientAndRemainder(dividingBy: d)
                    let values = source + (b * self.dim + channel) * bins * 2
                    let out = target.baseAddress! + (block * rows + b * bins) * 2 * d + i
                    for bin in binRange {
                        let scale: Float = multiplyByMultiplicity ? self.multiplicity(bin: bin) : 1
                        let keepsImaginary = !multiplyByMultiplicity || scale == 2
                        out[bin * 2 * d] = scale * values[2 * bin]
                        out[bin * 2 * d + d] = keepsImaginary ? scale * values[2 * bin + 1] : 0
                    }
                }
            }
        }
    }

    /// Planar (K, B·F, 2d) → (B, D, F, 2) through `transform`; with `divideByMultiplicity`, each
    /// bin divided by m_k.
    func interleaved(from source: UnsafePointer<Float>, batch: Int, divideByMultiplicity: Bool,
                  _ transform: @escaping (Float) -> Float) -> (UnsafeMutableBufferPointer<Float>) -> Void {
        { target in
            let d = self.blockSize, bins = self.length / 2 + 1, rows = batch * bins
            self.forEachTile(batch: batch) { b, channels, binRange in
                for channel in channels {
                    let (block, i) = channel.quotientAndRemainder(dividingBy: d)
                    let values = target.baseAddress! + (b * self.dim + channel) * bins * 2
                    let planar = source + (block * rows + b * bins) * 2 * d + i
                    for bin in binRange {
                        let factor: Float = divideByMultiplicity ? 1 / self.multiplicity(bin: bin) : 1
                        values[2 * bin] = factor * transform(planar[bin * 2 * d])
                        values[2 * bin + 1] = factor * transform(planar[bin * 2 * d + d])
                    }
                }
            }
        }
    }

    /// Visits entry (i, j) of every block's complex (rows × columns) weight: its offset in the
    /// real part (the imaginary part is `blocks·rows·columns` further), and the offsets of its
    /// four places in the block's real (2·rows × 2·columns) form [[Wr, Wi], [−Wi, Wr]].
    func forEachRealFormEntry(rows: Int, columns: Int,
                              _ body: (_ complex: Int, _ topLeft: Int, _ topRight: Int, _ bottomLeft: Int, _ bottomRight: Int) -> Void) {
        for block in 0..<blocks {
            let form = block * 4 * rows * columns, complex = block * rows * columns
            for i in 0..<rows {
                for j in 0..<columns {
                    let top = form + i * 2 * columns + j, bottom = form + (rows + i) * 2 * columns + j
                    body(complex + i * columns + j, top, top + columns, bottom, bottom + columns)
                }
            }
        }
    }

    /// Per block the real (2·rows × 2·columns) form [[Wr, Wi], [−Wi, Wr]] of a (2, K, rows, columns) weight.
    func realForm(_ parameter: Parameter, rows: Int, columns: Int) -> Tensor {
        var form = Tensor(uninitialized: [blocks, 2 * rows, 2 * columns])
        let w = arena.value(parameter), size = blocks * rows * columns
        form.withUnsafeMutableBufferPointer { out in
            let out = out.baseAddress!
            forEachRealFormEntry(rows: rows, columns: columns) { c, topLeft, topRight, bottomLeft, bottomRight in
                (out[topLeft], out[topRight], out[bottomLeft], out[bottomRight]) = (w[c], w[size + c], -w[size + c], w[c])
            }
        }
        return form
    }

    /// Adds the gradient of a real form back into its complex weight's: dWr = TL + BR, dWi = TR − BL.
    func foldRealForm(_ form: Tensor, into parameter: Parameter, rows: Int, columns: Int) {
        let g = arena.gradient(parameter), size = blocks * rows * columns
        form.withUnsafeBufferPointer { f in
            let f = f.baseAddress!
            forEachRealFormEntry(rows: rows, columns: columns) { c, topLeft, topRight, bottomLeft, bottomRight in
                g[c] += f[topLeft] + f[bottomRight]
                g[size + c] += f[topRight] - f[bottomLeft]
            }
        }
    }

    /// Every row of `target` (rows × 2·width) ← [bias re | bias im] of `block` ((2, K, width) bias).
    func broadcastBias(_ bias: UnsafeMutablePointer<Float>, block: Int, width: Int, into target: UnsafeMutablePointer<Float>,
                       rows: Int) {
        let re = bias + block * width, im = bias + (blocks + block) * width
        parallelFor(rows, grain: max(1, 4096 / width)) { range in
            for row in range {
                let out = target + row * 2 * width
                for i in 0..<width {
                    out[i] = re[i]
                    out[width + i] = im[i]
                }
            }
        }
    }

    /// d(bias)[re/im, block] += Σ over rows of a (rows × 2·width) gradient.
    func sumRows(_ source: UnsafePointer<Float>, rows: Int, width: Int, block: Int, into gradient: UnsafeMutablePointer<Float>) {
        let re = gradient + block * width, im = gradient + (blocks + block) * width
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * width) { sums in
            sums.initialize(repeating: 0)
            for row in 0..<rows {
                let values = source + row * 2 * width
                for i in 0..<2 * width { sums[i] += values[i] }
            }
            for i in 0..<width {
                re[i] += sums[i]
                im[i] += sums[width + i]
            }
        }
    }
}
