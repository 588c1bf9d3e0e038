import CBLAS
import Synchronization

/// Whether a gemm operand is used as stored or transposed.
public enum Transpose: Sendable {
    case none, transposed

    var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

/// Accumulates the time and floating-point operations spent in matrix products (`gemm`,
/// `gemmBF16`; a bf16 `gemm` includes converting its operands) while enabled;
/// `parseval bench step` uses it to report the share of a step spent in matrix products.
/// Time is counted in core-seconds (a call's wall time × the BLAS threads it may use: 1 inside
/// `Threading.withSingleThreadedBLAS`, where several run at once) and reported divided by
/// `Threading.count`, so concurrent single-threaded products are not counted twice.
public enum GemmProfiler {
    static let enabled = Atomic<Bool>(false)
    static let totals = Mutex<(nanoseconds: UInt64, flops: Double, calls: Int)>((0, 0, 0))

    public static func start() {
        totals.withLock { $0 = (0, 0, 0) }
        enabled.store(true, ordering: .relaxed)
    }
    /// Stops profiling and returns seconds spent in gemm, the flops done, and the call count.
    @discardableResult
    public static func stop() -> (seconds: Double, flops: Double, calls: Int) {
        enabled.store(false, ordering: .relaxed)
        return totals.withLock { (Double($0.nanoseconds) / 1e9 / Double(Threading.count), $0.flops, $0.calls) }
    }
}

/// C ← alpha · op(A) · op(B) + beta · C, row-major, through the engine in force (`Matmul`:
/// oneDNN, else OpenBLAS) in the process's precision (`Matmul.precision`: bf16 inputs with
/// fp32 accumulation where requested and supported, else fp32).
///
/// op(A) is m×k, op(B) is k×n, C is m×n; `lda`, `ldb`, `ldc` are the row strides of the
/// matrices as stored (so for `transposeA == .transposed`, A is stored k×m and lda ≥ m).
/// `precision: .fp32` keeps this product in fp32 whatever the process's precision (a caller
/// that decided its own, like attention under its measured plan); under `KernelChoices` the
/// kernel is the one measured fastest for the product's class of shapes.
public func gemm(
    _ transposeA: Transpose, _ transposeB: Transpose, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, precision: MatmulPrecision? = nil
) {
    if m == 0 || n == 0 { return }
    if k == 0 { return scaleRows(c, ldc: ldc, m: m, n: n, by: beta) }
    GemmProfiler.measure(m: m, n: n, k: k) { threads in
        runProduct(transposeA, transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                   beta: beta, c: c, ldc: ldc, threads: threads, precision: precision)
    }
}

/// C ← op(A) · op(B) + beta · C with A and B already in bf16 (raw bits, row strides `lda`,
/// `ldb`) and fp32 accumulation and C: for callers that convert an operand once and use it in
/// many products (attention's per-head K and V). Where the engine has no bf16 kernel the same
/// product runs on the widened operands in fp32.
public func gemmBF16(
    _ transposeA: Transpose, _ transposeB: Transpose, m: Int, n: Int, k: Int,
    a: UnsafePointer<UInt16>, lda: Int, b: UnsafePointer<UInt16>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    if m == 0 || n == 0 { return }
    if k == 0 { return scaleRows(c, ldc: ldc, m: m, n: n, by: beta) }
    GemmProfiler.measure(m: m, n: n, k: k) { threads in
        runBF16Product(transposeA, transposeB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                       beta: beta, c: c, ldc: ldc, threads: threads)
    }
}

/// C ← beta · C: the whole product when k = 0 (an empty sum), which BLAS defines and
/// `dnnl_sgemm` skips.
private func scaleRows(_ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, by beta: Float) {
    for row in 0..<m {
        let start = c + row * ldc
        if beta == 0 { start.update(repeating: 0, count: n) } else { for j in 0..<n { start[j] *= beta } }
    }
}

extension GemmProfiler {
    /// Runs one product with the caller's thread share (1 inside `Threading.withSingleThreadedBLAS`,
    /// else `Threading.count`), counting its time and flops while profiling.
    @inline(__always)
    static func measure(m: Int, n: Int, k: Int, _ product: (Int) -> Void) {
        let threads = Threading.singleThreadedBLAS.load(ordering: .relaxed) ? 1 : Threading.count
        guard enabled.load(ordering: .relaxed) else { return product(threads) }
        let start = ContinuousClock.now
        product(threads)
        let elapsed = ContinuousClock.now - start
        let nanoseconds = UInt64(threads) * (UInt64(elapsed.components.seconds) * 1_000_000_000
            + UInt64(elapsed.components.attoseconds / 1_000_000_000))
        totals.withLock { totals in
            totals.nanoseconds += nanoseconds
            totals.flops += 2 * Double(m) * Double(n) * Double(k)
            totals.calls += 1
        }
    }
}

/// `batch` independent gemms over matrices `strideA`, `strideB`, `strideC` elements apart.
public func batchedGemm(
    _ transposeA: Transpose, _ transposeB: Transpose, batch: Int, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, strideA: Int,
    b: UnsafePointer<Float>, ldb: Int, strideB: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int
) {
    for index in 0..<batch {
        gemm(transposeA, transposeB, m: m, n: n, k: k, alpha: alpha,
             a: a + index * strideA, lda: lda, b: b + index * strideB, ldb: ldb,
             beta: beta, c: c + index * strideC, ldc: ldc)
    }
}

extension Tensor {
    /// The matrix product of two rank-2 tensors, `op(self) · op(other)`.
    public func matmul(_ other: Tensor, transposeSelf: Transpose = .none,
                       transposeOther: Transpose = .none) -> Tensor {
        precondition(rank == 2 && other.rank == 2, "matmul: rank-2 operands expected, got \(shape) and \(other.shape)")
        let (m, k) = transposeSelf == .none ? (shape[0], shape[1]) : (shape[1], shape[0])
        let (k2, n) = transposeOther == .none ? (other.shape[0], other.shape[1]) : (other.shape[1], other.shape[0])
        precondition(k == k2, "matmul: inner dimensions differ: \(shape) and \(other.shape)")
        var result = Tensor(uninitialized: [m, n])
        Tensor.withUnsafeBufferPointers(writing: &result, reading: self, other) { c, a, b in
            gemm(transposeSelf, transposeOther, m: m, n: n, k: k,
                 a: a.baseAddress!, lda: shape[1], b: b.baseAddress!, ldb: other.shape[1],
                 beta: 0, c: c.baseAddress!, ldc: n)
        }
        return result
    }
}
