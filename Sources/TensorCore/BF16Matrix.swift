/// A bf16 copy of a row-major matrix (raw bits, rounded to nearest even), in pooled tensor
/// storage: for an operand used by more than one product, so it is converted once. `Linear`
/// keeps its input's and its weight's copies from forward for backward (dW = dyᵀ·x, dx = dy·W)
/// and converts dy once for both; per product, `gemm` would convert each of them twice.
public struct BF16Matrix {
    /// Two bf16 values per Float slot; the pool's 64-byte alignment holds.
    private var storage: Tensor
    public let rows: Int
    public let columns: Int

    /// `scale` × the `rows` × `columns` matrix at `source` (row stride `ld`), converted on
    /// `Threading.count` threads when large.
    public init(_ source: UnsafePointer<Float>, rows: Int, columns: Int, ld: Int? = nil, scale: Float = 1) {
        self.rows = rows
        self.columns = columns
        storage = Tensor(uninitialized: [max(1, (rows * columns + 1) / 2)])
        let ld = ld ?? columns
        storage.withUnsafeMutableBufferPointer { slots in
            slots.withMemoryRebound(to: UInt16.self) { halves in
                Matmul.convertToBF16(source, ld: ld, into: halves.baseAddress!, rows: rows, columns: columns, scale: scale,
                                     threads: Threading.count)
            }
        }
    }

    /// The tensor's values viewed as a `rows` × `columns` matrix.
    public init(_ tensor: Tensor, rows: Int, columns: Int) {
        precondition(tensor.count == rows * columns, "BF16Matrix: \(tensor.shape) is not \(rows)×\(columns)")
        var copy: BF16Matrix?
        tensor.withUnsafeBufferPointer { copy = BF16Matrix($0.baseAddress!, rows: rows, columns: columns) }
        self = copy!
    }

    /// The bf16 values, row stride `columns`.
    public func withUnsafePointer<R>(_ body: (UnsafePointer<UInt16>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { slots in
            try slots.withMemoryRebound(to: UInt16.self) { try body($0.baseAddress!) }
        }
    }
}
