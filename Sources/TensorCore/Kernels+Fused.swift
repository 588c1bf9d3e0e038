/// Fused passes: an elementwise operation and the bias add or column sums next to it, in one
/// sweep over the activation instead of two or three (each sweep of the MLP's (B·N, 4D)
/// hidden activation moves 64 MB at the standard encoder's size).
extension Kernels {
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
    /// the pre-activation for backward.
    public static func biasGELU(_ a: UnsafeMutableBufferPointer<Float>, bias: UnsafePointer<Float>, rows: Int, cols: Int,
                                into y: UnsafeMutableBufferPointer<Float>) {
        precondition(a.count == rows * cols && y.count == a.count, "Kernels.biasGELU: shape mismatch")
        let input = a.baseAddress!, output = y.baseAddress!
        parallelFor(rows, grain: max(1, 8192 / max(cols, 1))) { rowRange in
            for r in rowRange {
                let x = input + r * cols, out = output + r * cols
                for c in 0..<cols {
                    let v = x[c] + bias[c]
                    x[c] = v
                    out[c] = v * normalCDFAndDensity(v).cdf
                }
            }
        }
    }

    /// GELU's backward with the preceding bias's gradient: dx = dy ⊙ GELU′(a) and
    /// biasGradient[c] += Σ_r dx[r, c], in one pass over a and dy.
    public static func geluBackwardBiasGradient(_ a: UnsafeBufferPointer<Float>, _ dy: UnsafeBufferPointer<Float>,
                                                rows: Int, cols: Int, into dx: UnsafeMutableBufferPointer<Float>,
                                                biasGradient: UnsafeMutablePointer<Float>) {
        precondition(a.count == rows * cols && dy.count == a.count && dx.count == a.count,
                     "Kernels.geluBackwardBiasGradient: shape mismatch")
        let input = a.baseAddress!, gradient = dy.baseAddress!, output = dx.baseAddress!
        accumulateColumnSums(rows: rows, width: cols, into: [biasGradient]) { rowRange, partial in
            for r in rowRange {
                let x = input + r * cols, g = gradient + r * cols, out = output + r * cols
                for c in 0..<cols {
                    let v = x[c]
                    let (cdf, density) = normalCDFAndDensity(v)
                    let d = g[c] * (cdf + v * density)
                    out[c] = d
                    partial[c] += d
                }
            }
        }
    }
}
