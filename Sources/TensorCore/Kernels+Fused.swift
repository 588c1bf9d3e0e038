import CKernels

/// Fused passes: an elementwise operation and the bias add or column sums next to it, in one
/// sweep over the activation instead of two or three (each sweep of the MLP's (B·N, 4D)
/// hidden activation moves 64 MB at the standard encoder's size).
///
/// The arithmetic-bound loops run in the `CKernels` C target, compiled for AVX-512, AVX2 and
/// the baseline and dispatched at load time; they perform the same operations in the same
/// order as the Swift `gelu`/`geluBackward`/`exp`, so the results are the same bits (the
/// tests compare them exactly).
extension Kernels {
    /// The instruction set the C kernels run with on this machine: avx512f, avx2 or baseline.
    public static var instructionSet: String { String(cString: pv_kernels_isa()) }

    /// Rows per block of `accumulateColumnSums`. Fixed, so the sums do not depend on the
    /// thread count (1 or 2 threads per rank give the same bits).
    static let columnSumBlockRows = 128

    /// Runs `body` over blocks of `columnSumBlockRows` rows in parallel, each block with its own
    /// zeroed accumulator of `sums` rows × `width` floats (`partial[s * width + c]`), then adds
    /// the accumulators into `outputs[s]` (each `width` floats) block by block, in block order.
    package static func accumulateColumnSums(
        rows: Int, width: Int, into outputs: [UnsafeMutablePointer<Float>],
        _ body: (_ rows: Range<Int>, _ partial: UnsafeMutablePointer<Float>) -> Void
    ) {
        let blockRows = columnSumBlockRows, sums = outputs.count
        let blocks = (rows + blockRows - 1) / blockRows
        guard blocks > 0 else { return }
        var partials = Tensor(zeros: [blocks, sums * width])
        partials.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            parallelFor(blocks, grain: 1) { blockRange in
                for block in blockRange {
                    body(block * blockRows..<min(rows, (block + 1) * blockRows), base + block * sums * width)
                }
            }
            let stride = sums * width
            parallelFor(stride, grain: 256) { columns in
                for column in columns {
                    var total: Float = 0
                    for block in 0..<blocks { total += base[block * stride + column] }
                    outputs[column / width][column % width] += total
                }
            }
        }
    }

    /// The MLP's first epilogue: a[r, c] += bias[c], then y = GELU(a), in one pass; `a` keeps
    /// the pre-activation for backward. `tanhForm`: GELU's tanh approximation (JAX's default).
    public static func biasGELU(_ a: UnsafeMutableBufferPointer<Float>, bias: UnsafePointer<Float>, rows: Int, cols: Int,
                                into y: UnsafeMutableBufferPointer<Float>, tanhForm: Bool = false) {
        precondition(a.count == rows * cols && y.count == a.count, "Kernels.biasGELU: shape mismatch")
        let input = a.baseAddress!, output = y.baseAddress!
        parallelFor(rows, grain: max(1, 8192 / max(cols, 1))) { rowRange in
            pv_bias_gelu(input + rowRange.lowerBound * cols, bias, rowRange.count, cols, output + rowRange.lowerBound * cols,
                         tanhForm ? 1 : 0)
        }
    }

    /// GELU's backward with the preceding bias's gradient: dx = dy ⊙ GELU′(a) and
    /// biasGradient[c] += Σ_r dx[r, c], in one pass over a and dy; with `recomputing`, also
    /// GELU(a) into it — the bits `biasGELU` produced for this a, for a caller that did not keep them.
    public static func geluBackwardBiasGradient(_ a: UnsafeBufferPointer<Float>, _ dy: UnsafeBufferPointer<Float>,
                                                rows: Int, cols: Int, into dx: UnsafeMutableBufferPointer<Float>,
                                                biasGradient: UnsafeMutablePointer<Float>, tanhForm: Bool = false,
                                                recomputing value: UnsafeMutableBufferPointer<Float>? = nil) {
        precondition(a.count == rows * cols && dy.count == a.count && dx.count == a.count && (value?.count ?? a.count) == a.count,
                     "Kernels.geluBackwardBiasGradient: shape mismatch")
        let input = a.baseAddress!, gradient = dy.baseAddress!, output = dx.baseAddress!, values = value?.baseAddress
        accumulateColumnSums(rows: rows, width: cols, into: [biasGradient]) { rowRange, partial in
            let offset = rowRange.lowerBound * cols
            pv_gelu_backward(input + offset, gradient + offset, rowRange.count, cols, output + offset, partial,
                             values.map { $0 + offset }, tanhForm ? 1 : 0)
        }
    }

    /// row[j] = scale[j] · e^(row[j] − shift) (scale nil: 1), `Kernels.exp`'s values.
    public static func exponentiate(_ row: UnsafeMutablePointer<Float>, count: Int, shift: Float,
                                    scale: UnsafePointer<Float>?) {
        pv_exp_shifted(row, count, shift, scale)
    }

    /// One AdamW update over `count` elements, in PyTorch's order (see `AdamW`).
    public static func adamW(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                             firstMoment: UnsafeMutablePointer<Float>, secondMoment: UnsafeMutablePointer<Float>,
                             count: Int, beta1: Float, beta2: Float, correction1: Float, correction2: Float,
                             epsilon: Float, learningRate: Float, decay: Float) {
        pv_adamw(parameters, gradients, firstMoment, secondMoment, count, beta1, beta2, correction1, correction2,
                 epsilon, learningRate, decay)
    }
}
