/// Elementwise and reduction kernels over raw buffers, split across `Threading.count`
/// threads for large inputs. Reductions accumulate in Double per chunk and combine chunks
/// in a fixed order, so results do not depend on thread timing.
public enum Kernels {
    /// x ← factor · x
    public static func scale(_ x: UnsafeMutableBufferPointer<Float>, by factor: Float) {
        let base = x.baseAddress!
        parallelFor(x.count) { range in
            for i in range { base[i] *= factor }
        }
    }

    /// y ← y + alpha · x
    public static func axpy(_ alpha: Float, _ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == y.count, "Kernels.axpy: \(x.count) vs \(y.count) elements")
        let xs = x.baseAddress!, ys = y.baseAddress!
        parallelFor(x.count) { range in
            for i in range { ys[i] += alpha * xs[i] }
        }
    }

    /// z ← x ⊙ y (z may alias x or y)
    public static func multiply(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>,
                                into z: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == y.count && y.count == z.count, "Kernels.multiply: sizes \(x.count), \(y.count), \(z.count)")
        let xs = x.baseAddress!, ys = y.baseAddress!, zs = z.baseAddress!
        parallelFor(x.count) { range in
            for i in range { zs[i] = xs[i] * ys[i] }
        }
    }

    /// Σ x, accumulated in Double.
    public static func sum(_ x: UnsafeBufferPointer<Float>) -> Double {
        reduce(x.count) { range in
            var total = 0.0
            for i in range { total += Double(x[i]) }
            return total
        }
    }

    /// Σ x·y, accumulated in Double.
    public static func dot(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>) -> Double {
        precondition(x.count == y.count, "Kernels.dot: \(x.count) vs \(y.count) elements")
        return reduce(x.count) { range in
            var total = 0.0
            for i in range { total += Double(x[i]) * Double(y[i]) }
            return total
        }
    }

    /// max |x|, or 0 for an empty buffer; NaN if any element is NaN.
    public static func maxAbs(_ x: UnsafeBufferPointer<Float>) -> Float {
        var result: Float = 0
        for i in x.indices {
            let value = abs(x[i])
            if value.isNaN { return .nan }
            result = max(result, value)
        }
        return result
    }

    /// True when every element is finite. A float is NaN or ±Inf when its exponent bits are all
    /// ones: blocks of 4096 are tested with an integer reduction the compiler vectorises, cheap
    /// enough to run over every parameter after every update.
    public static func allFinite(_ x: UnsafeBufferPointer<Float>) -> Bool {
        guard let base = x.baseAddress else { return true }
        return base.withMemoryRebound(to: UInt32.self, capacity: x.count) { bits in
            var start = 0
            while start < x.count {
                let end = min(start + 4096, x.count)
                var nonFinite: UInt32 = 0
                for i in start..<end { nonFinite |= (bits[i] & 0x7f80_0000) == 0x7f80_0000 ? 1 : 0 }
                if nonFinite != 0 { return false }
                start = end
            }
            return true
        }
    }

    /// rows × cols matrix: out[c] += Σ_r m[r, c] (bias gradients).
    public static func addColumnSums(_ matrix: UnsafeBufferPointer<Float>, rows: Int, cols: Int,
                                     into out: UnsafeMutableBufferPointer<Float>) {
        precondition(matrix.count == rows * cols && out.count == cols, "Kernels.addColumnSums: shape mismatch")
        let m = matrix.baseAddress!, o = out.baseAddress!
        parallelFor(cols, grain: 64) { columns in
            for r in 0..<rows {
                let row = m + r * cols
                for c in columns { o[c] += row[c] }
            }
        }
    }

    /// rows × cols matrix: m[r, c] += v[c] (bias add).
    public static func addRowVector(_ vector: UnsafeBufferPointer<Float>, to matrix: UnsafeMutableBufferPointer<Float>,
                                    rows: Int, cols: Int) {
        precondition(matrix.count == rows * cols && vector.count == cols, "Kernels.addRowVector: shape mismatch")
        let m = matrix.baseAddress!, v = vector.baseAddress!
        parallelFor(rows, grain: max(1, 16_384 / max(cols, 1))) { rowRange in
            for r in rowRange {
                let row = m + r * cols
                for c in 0..<cols { row[c] += v[c] }
            }
        }
    }

    /// Chunked reduction with a fixed chunking for a given count and thread count.
    static func reduce(_ count: Int, _ partial: (Range<Int>) -> Double) -> Double {
        let chunkSize = 65_536
        let chunks = (count + chunkSize - 1) / chunkSize
        if chunks <= 1 { return count == 0 ? 0 : partial(0..<count) }
        let results = UnsafeMutableBufferPointer<Double>.allocate(capacity: chunks)
        defer { results.deallocate() }
        let out = results.baseAddress!
        parallelFor(chunks, grain: 1) { chunkRange in
            for chunk in chunkRange {
                out[chunk] = partial(chunk * chunkSize..<min(count, (chunk + 1) * chunkSize))
            }
        }
        return results.reduce(0, +)
    }
}
