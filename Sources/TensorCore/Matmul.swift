import CBLAS
import CMatmul
import Foundation
import Synchronization

/// The library that runs `gemm`.
public enum MatmulEngine: String, CaseIterable, Codable, Sendable {
    /// oneDNN (loaded at first use): kernels JIT-compiled for the CPU present, fp32 and bf16.
    case onednn
    /// OpenBLAS: the fallback where oneDNN is not installed (fp32 only).
    case openblas
}

/// The number format of the inputs of matrix products. Accumulation and outputs are fp32 in
/// both; master weights, optimizer state, normalisation, softmax, losses and FFTs are always fp32.
public enum MatmulPrecision: String, CaseIterable, Codable, Sendable {
    case fp32, bf16
}

/// The process's matrix-product engine and precision: one setting per process, like
/// `torch.set_float32_matmul_precision`, because the products of one step run on many threads.
///
/// The engine is oneDNN when its library loads (`scripts/setup.sh` installs it), else OpenBLAS;
/// no environment variable is read. Why oneDNN, with the measurements: docs/architecture.md.
public enum Matmul {
    /// 0 unresolved, 1 oneDNN, 2 OpenBLAS.
    static let engineCode = Atomic<Int>(0)
    /// 0 fp32, 1 bf16 (only ever 1 when `bf16Support` says yes).
    static let bf16Active = Atomic<Bool>(false)
    /// Products that asked for bf16 and ran in fp32 because oneDNN had no kernel for their shape.
    static let bf16Fallbacks = Atomic<Int>(0)

    /// The engine in use.
    public static var engine: MatmulEngine {
        switch engineCode.load(ordering: .relaxed) {
        case 1: return .onednn
        case 2: return .openblas
        default:
            let resolved: MatmulEngine = pv_onednn_load() != 0 ? .onednn : .openblas
            engineCode.store(resolved == .onednn ? 1 : 2, ordering: .relaxed)
            return resolved
        }
    }

    /// Why oneDNN is not available, or nil when it is.
    public static var oneDNNUnavailableReason: String? {
        pv_onednn_load() != 0 ? nil : String(cString: pv_onednn_status())
    }

    /// Chooses the engine (benchmarks and tests compare them); fails when oneDNN is not available.
    public static func select(_ engine: MatmulEngine) throws(MatmulError) {
        if engine == .onednn, let reason = oneDNNUnavailableReason { throw MatmulError(message: "oneDNN: \(reason)") }
        engineCode.store(engine == .onednn ? 1 : 2, ordering: .relaxed)
        if engine == .openblas { bf16Active.store(false, ordering: .relaxed) }
    }

    /// The precision products run in now.
    public static var precision: MatmulPrecision { bf16Active.load(ordering: .relaxed) ? .bf16 : .fp32 }

    /// Whether bf16 products run with hardware support here, and with which kernel.
    public enum BF16Support: Sendable, Equatable {
        case available(kernel: String)
        case unavailable(reason: String)
    }

    /// bf16 needs oneDNN and a CPU with bf16 dot-product instructions (AVX512-BF16, AMX-BF16;
    /// AVX-NE-CONVERT with oneDNN 3). Elsewhere bf16 would be emulated and slower than fp32.
    public static var bf16Support: BF16Support {
        guard engine == .onednn else {
            return .unavailable(reason: "the matrix engine is OpenBLAS, which has no bf16 products"
                                + (oneDNNUnavailableReason.map { " (oneDNN: \($0))" } ?? ""))
        }
        guard pv_onednn_has_bf16_instructions() != 0 else {
            return .unavailable(reason: "this CPU has no bf16 dot-product instructions (oneDNN's ISA: "
                                + "\(String(cString: pv_onednn_isa())))")
        }
        guard let name = pv_onednn_bf16_implementation(256, 256, 256).map({ String(cString: $0) }),
              !name.hasPrefix("ref") else {
            return .unavailable(reason: "oneDNN has no optimised bf16 matmul kernel on this CPU")
        }
        return .available(kernel: name)
    }

    /// Sets the precision of every product from now on and returns the line a run prints:
    /// bf16 where `bf16Support` allows it, else fp32 with the reason.
    @discardableResult
    public static func request(_ requested: MatmulPrecision) -> String {
        switch (requested, bf16Support) {
        case (.fp32, _):
            bf16Active.store(false, ordering: .relaxed)
            return "matrix products: fp32 on \(engineSummary)"
        case (.bf16, .available(let kernel)):
            bf16Active.store(true, ordering: .relaxed)
            return "matrix products: bf16 inputs, fp32 accumulation (\(kernel)) on \(engineSummary)"
        case (.bf16, .unavailable(let reason)):
            bf16Active.store(false, ordering: .relaxed)
            return "matrix products: fp32 — bf16 was asked for, but \(reason)"
        }
    }

    /// Runs `body` with products in `precision` (bf16 where supported), then restores the previous one.
    public static func withPrecision<R>(_ requested: MatmulPrecision, _ body: () throws -> R) rethrows -> R {
        let previous = precision
        request(requested)
        defer { request(previous) }
        return try body()
    }

    /// Runs `body` with fp32 products whatever the precision in force, then restores it: for
    /// inner products that stay fp32 like softmax does (kernelized attention's random features,
    /// which feed exp). Call it from the thread that runs the step.
    public static func withFP32Products<R>(_ body: () throws -> R) rethrows -> R {
        let previous = bf16Active.exchange(false, ordering: .relaxed)
        defer { bf16Active.store(previous, ordering: .relaxed) }
        return try body()
    }

    /// The instruction set oneDNN's kernels dispatch to ("avx512_core_bf16", "avx512_core_amx"),
    /// nil where oneDNN does not load.
    public static var oneDNNISA: String? {
        oneDNNUnavailableReason == nil ? String(cString: pv_onednn_isa()) : nil
    }

    /// "oneDNN 2.6.3 (libdnnl.so.2, OpenMP), ISA avx512_core_bf16" or "OpenBLAS 0.3.21 … (oneDNN: why not)".
    public static var engineSummary: String {
        switch engine {
        case .onednn:
            return "\(String(cString: pv_onednn_version())), ISA \(String(cString: pv_onednn_isa()))"
        case .openblas:
            let config = openblas_get_config().map { String(cString: $0).trimmingCharacters(in: .whitespaces) } ?? "OpenBLAS"
            let core = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
            return "\(config), core \(core)"
        }
    }

    /// `values` rounded to bf16 (nearest even, as the bf16 products round their inputs) and widened
    /// back to fp32: the operands a bf16 product multiplies, for references and tests.
    public static func roundedToBF16(_ values: [Float], scale: Float = 1) -> [Float] {
        var bits = [UInt16](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { source in
            bits.withUnsafeMutableBufferPointer { destination in
                pv_convert_rows_to_bf16(source.baseAddress, 1, destination.baseAddress, 1, 0, Int64(values.count), 1, scale)
            }
        }
        return bits.map { Float(bitPattern: UInt32($0) << 16) }
    }

    /// Dense bf16 copy (row stride `columns`) of `scale` × a strided fp32 matrix, on up to
    /// `threads` threads (one for small matrices).
    public static func convertToBF16(_ source: UnsafePointer<Float>, ld: Int, into destination: UnsafeMutablePointer<UInt16>,
                                     rows: Int, columns: Int, scale: Float = 1, threads: Int = 1) {
        if threads == 1 || rows * columns < 65_536 {
            pv_convert_rows_to_bf16(source, Int64(ld), destination, Int64(columns), 0, Int64(rows), Int64(columns), scale)
            return
        }
        let destinationAddress = UInt(bitPattern: destination)
        parallelFor(rows, grain: max(1, 16_384 / max(columns, 1))) { range in
            pv_convert_rows_to_bf16(source, Int64(ld), UnsafeMutablePointer(bitPattern: destinationAddress), Int64(columns),
                                    Int64(range.lowerBound), Int64(range.upperBound), Int64(columns), scale)
        }
    }

    /// Products that fell back from bf16 to fp32 since the process started.
    public static var bf16FallbackCount: Int { bf16Fallbacks.load(ordering: .relaxed) }
}

public struct MatmulError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

/// One product through the engine in force. `threads` is the caller's share of the cores:
/// `Threading.count`, or 1 inside `Threading.withSingleThreadedBLAS`. `precision` (nil: the
/// process's) may only lower bf16 to fp32. With oneDNN as the engine and `KernelChoices` on,
/// the kernel is the one measured fastest for the product's class of shapes (a bf16 request
/// may run in fp32 where that is faster); else bf16 products where asked, fp32 on the engine.
@inline(__always)
func runProduct(
    _ transposeA: Transpose, _ transposeB: Transpose, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int, precision: MatmulPrecision? = nil
) {
    let bf16 = precision != .fp32 && Matmul.bf16Active.load(ordering: .relaxed)
    guard Matmul.engine == .onednn else {
        return runFP32Product(transposeA, transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                              beta: beta, c: c, ldc: ldc, threads: threads)
    }
    var kernel: GemmKernel = bf16 ? .onednnBF16 : .onednnFP32
    if KernelChoices.mode != .off {
        let shape = GemmShape(transposeA: transposeA == .transposed, transposeB: transposeB == .transposed,
                              m: m, n: n, k: k, threads: threads, precision: bf16 ? .bf16 : .fp32)
        let candidates: [GemmKernel] = bf16 ? [.onednnBF16, .onednnFP32, .openblas] : [.onednnFP32, .openblas]
        kernel = KernelChoices.gemmKernel(shape, candidates: candidates) { candidate in
            timeProduct(candidate, transposeA, transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                        beta: beta, c: c, ldc: ldc, threads: threads)
        } ?? kernel
    }
    run(kernel, transposeA, transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
        beta: beta, c: c, ldc: ldc, threads: threads)
}

/// The product on `kernel`; a bf16 product oneDNN has no kernel for runs in fp32.
private func run(
    _ kernel: GemmKernel, _ transposeA: Transpose, _ transposeB: Transpose, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
) {
    switch kernel {
    case .onednnBF16:
        if bf16Product(transposeA, transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                       beta: beta, c: c, ldc: ldc, threads: threads) { return }
        fallthrough
    case .onednnFP32:
        runFP32Product(transposeA, transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                       beta: beta, c: c, ldc: ldc, threads: threads)
    case .openblas:
        cblas_sgemm(CblasRowMajor, transposeA.cblas, transposeB.cblas,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// Seconds one run of the product on `kernel` takes, writing into the thread's tuning scratch
/// (a dense copy of C when beta ≠ 0, so accumulating costs what it costs) and leaving C as it was.
private func timeProduct(
    _ kernel: GemmKernel, _ transposeA: Transpose, _ transposeB: Transpose, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>?, ldc: Int, threads: Int
) -> Double {
    let scratch = ThreadScratch.floats(.tuning, count: m * n)
    if beta != 0, let c { for row in 0..<m { (scratch + row * n).update(from: c + row * ldc, count: n) } }
    return KernelChoices.seconds {
        run(kernel, transposeA, transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
            beta: c == nil ? 0 : beta, c: scratch, ldc: n, threads: threads)
    }
}

extension Matmul {
    /// Whether a product of this shape that bf16 was asked for should run in bf16: false when
    /// the process runs fp32; under `KernelChoices`, whether the choice for its class of shapes
    /// (measured now on these operands where none is known) is oneDNN's bf16 kernel. For layers
    /// that convert an operand once and reuse it (`Linear`): on false they run their fp32 path,
    /// whose products then follow the same measured choice.
    public static func bf16Chosen(_ transposeA: Transpose, _ transposeB: Transpose, m: Int, n: Int, k: Int,
                                  a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int) -> Bool {
        guard bf16Active.load(ordering: .relaxed) else { return false }
        guard KernelChoices.mode != .off, engine == .onednn, m > 0, n > 0, k > 0 else { return true }
        let threads = Threading.singleThreadedBLAS.load(ordering: .relaxed) ? 1 : Threading.count
        let shape = GemmShape(transposeA: transposeA == .transposed, transposeB: transposeB == .transposed,
                              m: m, n: n, k: k, threads: threads, precision: .bf16)
        let kernel = KernelChoices.gemmKernel(shape, candidates: [.onednnBF16, .onednnFP32, .openblas]) { candidate in
            timeProduct(candidate, transposeA, transposeB, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb,
                        beta: 0, c: nil, ldc: n, threads: threads)
        }
        return (kernel ?? .onednnBF16) == .onednnBF16
    }
}

/// An fp32 product on the engine in force.
private func runFP32Product(
    _ transposeA: Transpose, _ transposeB: Transpose, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
) {
    switch Matmul.engine {
    case .onednn:
        let status = pv_onednn_sgemm(Int32(threads), transposeA == .transposed ? 1 : 0, transposeB == .transposed ? 1 : 0,
                                     Int64(m), Int64(n), Int64(k), alpha, a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
        precondition(status == 0, "dnnl_sgemm failed with status \(status) for m \(m) n \(n) k \(k) lda \(lda) ldb \(ldb) ldc \(ldc)")
    case .openblas:
        cblas_sgemm(CblasRowMajor, transposeA.cblas, transposeB.cblas,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// bf16 copies of A (with alpha folded in) and B in per-thread scratch, then oneDNN's bf16 matmul.
/// False (nothing written) when oneDNN has no kernel for the shape; the caller runs fp32.
private func bf16Product(
    _ transposeA: Transpose, _ transposeB: Transpose, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
) -> Bool {
    // Stored shapes: A is m×k (k×m transposed), B is k×n (n×k transposed); copies are dense.
    let (aRows, aColumns) = transposeA == .none ? (m, k) : (k, m)
    let (bRows, bColumns) = transposeB == .none ? (k, n) : (n, k)
    let a16 = ThreadScratch.bf16(.productA, count: aRows * aColumns)
    let b16 = ThreadScratch.bf16(.productB, count: bRows * bColumns)
    Matmul.convertToBF16(a, ld: lda, into: a16, rows: aRows, columns: aColumns, scale: alpha, threads: threads)
    Matmul.convertToBF16(b, ld: ldb, into: b16, rows: bRows, columns: bColumns, threads: threads)
    let status = pv_onednn_gemm_bf16(Int32(threads), transposeA == .transposed ? 1 : 0, transposeB == .transposed ? 1 : 0,
                                     Int64(m), Int64(n), Int64(k), a16, Int64(aColumns), b16, Int64(bColumns),
                                     beta, c, Int64(ldc))
    if status != 0 { Matmul.bf16Fallbacks.add(1, ordering: .relaxed) }
    return status == 0
}

/// `gemmBF16` on the engine: oneDNN's bf16 matmul, or — where it has no kernel for the shape —
/// the same product of the widened operands in fp32 (exact: bf16 values are fp32 values).
func runBF16Product(
    _ transposeA: Transpose, _ transposeB: Transpose, m: Int, n: Int, k: Int,
    a: UnsafePointer<UInt16>, lda: Int, b: UnsafePointer<UInt16>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
) {
    if Matmul.engine == .onednn,
       pv_onednn_gemm_bf16(Int32(threads), transposeA == .transposed ? 1 : 0, transposeB == .transposed ? 1 : 0,
                           Int64(m), Int64(n), Int64(k), a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc)) == 0 {
        return
    }
    Matmul.bf16Fallbacks.add(1, ordering: .relaxed)
    func widened(_ x: UnsafePointer<UInt16>, ld: Int, rows: Int, columns: Int) -> [Float] {
        var out = [Float](repeating: 0, count: rows * ld)
        for row in 0..<rows { for j in 0..<columns { out[row * ld + j] = Float(bitPattern: UInt32(x[row * ld + j]) << 16) } }
        return out
    }
    let wideA = transposeA == .none ? widened(a, ld: lda, rows: m, columns: k) : widened(a, ld: lda, rows: k, columns: m)
    let wideB = transposeB == .none ? widened(b, ld: ldb, rows: k, columns: n) : widened(b, ld: ldb, rows: n, columns: k)
    wideA.withUnsafeBufferPointer { wa in
        wideB.withUnsafeBufferPointer { wb in
            runFP32Product(transposeA, transposeB, m: m, n: n, k: k, alpha: 1, a: wa.baseAddress!, lda: lda,
                           b: wb.baseAddress!, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: threads)
        }
    }
}

/// Per-thread scratch buffers that outlive a call: for work that runs on many threads at once
/// (attention's per-head tasks, bf16 operand copies), where one pooled tensor per task would
/// make the pool's steady state depend on how the tasks were scheduled. Each slot holds one
/// buffer per thread, grown to the largest request and then reused: no allocation once every
/// thread has seen its largest size.
public enum ThreadScratch {
    public enum Slot: Int32, Sendable {
        /// `gemm`'s bf16 copies of its operands.
        case productA = 0, productB = 1
        /// A caller's bf16 copies kept across several products (attention's Q, K, V, dC).
        case bf16Operands = 2
        /// A caller's fp32 working rows (attention's scores and their gradients).
        case rows = 3
        /// `KernelChoices`' trial outputs while it measures a product's candidates.
        case tuning = 5
    }

    /// The calling thread's buffer for `slot`, at least `count` bf16 values; valid until the
    /// next request for the same slot on the same thread.
    public static func bf16(_ slot: Slot, count: Int) -> UnsafeMutablePointer<UInt16> {
        bytes(slot, count * 2).bindMemory(to: UInt16.self, capacity: count)
    }

    /// The calling thread's buffer for `slot`, at least `count` floats.
    public static func floats(_ slot: Slot, count: Int) -> UnsafeMutablePointer<Float> {
        bytes(slot, count * 4).bindMemory(to: Float.self, capacity: count)
    }

    private static func bytes(_ slot: Slot, _ count: Int) -> UnsafeMutableRawPointer {
        guard let buffer = pv_thread_scratch(slot.rawValue, Int64(max(count, 1))) else {
            exitWithMessage("out of memory: a matrix product's thread scratch of \(count) bytes", code: 1)
        }
        return buffer
    }
}
