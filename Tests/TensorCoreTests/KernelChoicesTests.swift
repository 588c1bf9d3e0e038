import Foundation
import ParsevalTestSupport
import TensorCore
import XCTest

/// Measured kernel choices (`KernelChoices`, `KernelWisdom`): the file format and its errors,
/// that a table entry decides which kernel runs, and that measuring records a choice without
/// touching the product's output. Every test turns choices off and restores the precision.
final class KernelChoicesTests: XCTestCase {
    var precision: MatmulPrecision!
    let cpu = KernelChoices.cpu

    override func setUp() { precision = Matmul.precision }

    override func tearDown() {
        KernelChoices.deactivate()
        Matmul.request(precision)
    }

    func requireOneDNN() throws {
        if let reason = Matmul.oneDNNUnavailableReason { throw XCTSkip("choices pick between oneDNN and OpenBLAS: \(reason)") }
    }

    func testWisdomRoundTripsAndMergesByCPUOperationPrecisionAndShape() throws {
        let text = """
            # a comment

            cpu A\tgemm\tbf16\tNT m64 n4096 k32 t1\tonednn-fp32\tonednn-bf16=0.002 onednn-fp32=0.001
            cpu A\tattention\tbf16\tn4096 d32 acausal t2\tfp32/b128\t
            cpu B\tgemm\tfp32\tTN m1 n2 k4 t8\topenblas\t
            """
        let wisdom = try KernelWisdom(parsing: text, source: "w.tsv")
        XCTAssertEqual(wisdom.entries.count, 3)
        XCTAssertEqual(wisdom.cpuModels.map(\.0), ["cpu A", "cpu B"])
        let again = try KernelWisdom(parsing: wisdom.text, source: "again")
        XCTAssertEqual(again.text, wisdom.text, "the text a file is written as reads back to the same entries")
        // A newer entry replaces the one with the same CPU, operation, precision and shape only.
        let newer = KernelWisdom.Entry(cpu: "cpu A", decision: .gemm(
            GemmShape(transposeA: false, transposeB: true, m: 50, n: 4000, k: 32, threads: 1, precision: .bf16), .onednnBF16))
        let merged = wisdom.merging([newer])
        XCTAssertEqual(merged.entries.count, 3)
        XCTAssertTrue(merged.text.contains("cpu A\tgemm\tbf16\tNT m64 n4096 k32 t1\tonednn-bf16\t"), merged.text)
        XCTAssertTrue(merged.text.contains("cpu B\tgemm\tfp32\tTN m1 n2 k4 t8\topenblas"), merged.text)
    }

    func testDamagedWisdomNamesTheFileLineAndWhatWasExpected() {
        let cases: [(String, String)] = [
            ("cpu\tgemm\tfp32\tNN m1 n1 k1 t1\topenblas", "expected 6 tab-separated fields"),
            ("\tgemm\tfp32\tNN m1 n1 k1 t1\topenblas\t", "the cpu field is empty"),
            ("cpu\tgemm\tfp16\tNN m1 n1 k1 t1\topenblas\t", "precision must be fp32 or bf16, got 'fp16'"),
            ("cpu\tgemm\tfp32\tNN m3 n1 k1 t1\topenblas\t", "sizes powers of two"),
            ("cpu\tgemm\tfp32\tNX m1 n1 k1 t1\topenblas\t", "a gemm shape reads like"),
            ("cpu\tgemm\tfp32\tNN m1 n1 k1 t1\tonednn-bf16\t", "a fp32 gemm runs on one of onednn-fp32, openblas"),
            ("cpu\tgemm\tbf16\tNN m1 n1 k1 t1\tmkl\t", "got 'mkl'"),
            ("cpu\tattention\tfp32\tn4096 d32 acausal t1\tbf16/b64\t", "bf16 only for a bf16 request"),
            ("cpu\tattention\tbf16\tn4000 d32 acausal t1\tbf16/b64\t", "n a power of two"),
            ("cpu\tattention\tbf16\tn4096 d32 sideways t1\tbf16/b64\t", "an attention shape reads like"),
            ("cpu\tfft\tfp32\tNN m1 n1 k1 t1\topenblas\t", "operation must be gemm or attention, got 'fft'"),
            ("cpu\tgemm\tfp32\tNN m1 n1 k1 t1\topenblas\topenblas=fast", "timings are 'candidate=seconds' pairs"),
            ("cpu\tgemm\tfp32\tNN m1 n1 k1 t1\topenblas\topenblas=nan", "timings are 'candidate=seconds' pairs"),
        ]
        for (line, expected) in cases {
            do {
                _ = try KernelWisdom(parsing: "# header\n" + line + "\n", source: "/tmp/choices.tsv")
                XCTFail("accepted: \(line)")
            } catch {
                XCTAssertTrue(error.message.hasPrefix("/tmp/choices.tsv:2: "), error.message)
                XCTAssertTrue(error.message.contains(expected), "\(error.message) lacks '\(expected)'")
            }
        }
    }

    func testRunsIgnoreADamagedUserFileWithAWarningNamingIt() throws {
        let path = NSTemporaryDirectory() + "kernel-choices-\(getpid()).tsv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "\(cpu)\tgemm\tfp32\tNN m1 n1 k1 t1\topenblas\t\ngarbage\n".write(toFile: path, atomically: true, encoding: .utf8)
        let (wisdom, warning) = KernelWisdom.forRuns(path: path)
        XCTAssertEqual(wisdom.entries.count, KernelWisdom.defaults.entries.count, "a damaged file adds nothing")
        XCTAssertTrue(warning?.contains("\(path):2: expected 6 tab-separated fields") == true, warning ?? "no warning")
        try "\(cpu)\tgemm\tfp32\tNN m1 n1 k1 t1\topenblas\t\n".write(toFile: path, atomically: true, encoding: .utf8)
        let (good, none) = KernelWisdom.forRuns(path: path)
        XCTAssertNil(none)
        XCTAssertEqual(good.entries.count, KernelWisdom.defaults.entries.count + 1)
        XCTAssertEqual(KernelWisdom.userPath(environment: ["XDG_CACHE_HOME": "/x", "HOME": "/h"]), "/x/parseval/kernel-choices.tsv")
        XCTAssertEqual(KernelWisdom.userPath(environment: ["HOME": "/h"]), "/h/.cache/parseval/kernel-choices.tsv")
    }

    /// The committed table parses (`defaults` would stop the process otherwise), names machines
    /// the way `KernelChoices.cpu` does (model, then oneDNN's ISA), and holds one entry per CPU,
    /// operation, precision and shape.
    func testCommittedDefaultsAreWellFormed() {
        let entries = KernelWisdom.defaults.entries
        XCTAssertTrue(KernelChoices.cpu.hasPrefix(Machine.cpuModel + ", "), KernelChoices.cpu)
        for (model, _) in KernelWisdom.defaults.cpuModels {
            XCTAssertTrue(model.range(of: #"\(family \d+, model \d+\), [a-z0-9_]+$"#, options: .regularExpression) != nil,
                          "\(model): machines read like KernelChoices.cpu's")
        }
        XCTAssertEqual(KernelWisdom.defaults.merging([]).entries.count, entries.count)
        XCTAssertEqual(Set(entries.map { "\($0.cpu)\t\($0.decision.key)" }).count, entries.count, "one entry per key")
    }

    func testEntriesOfOtherCPUsAreNotInForce() {
        let shape = GemmShape(transposeA: false, transposeB: false, m: 8, n: 8, k: 8, threads: 1, precision: .fp32)
        let wisdom = KernelWisdom(entries: [KernelWisdom.Entry(cpu: "Another CPU (family 1, model 2)", decision: .gemm(shape, .openblas))])
        XCTAssertEqual(KernelChoices.activate(.table, wisdom: wisdom), 0)
        XCTAssertEqual(KernelChoices.activate(.table, wisdom: wisdom, cpu: "Another CPU (family 1, model 2)"), 1)
    }

    func testShapesRoundUpToPowersOfTwo() {
        let shape = GemmShape(transposeA: true, transposeB: false, m: 65, n: 4096, k: 1, threads: 3, precision: .bf16)
        XCTAssertEqual(shape.description, "TN m128 n4096 k1 t3")
        XCTAssertEqual(AttentionShape(length: 2001, headDim: 16, causal: true, threads: 1, precision: .fp32).description,
                       "n2048 d16 causal t1")
    }

    /// The fastest candidate wins, each at its best of the timed trials after one untimed run;
    /// a tie goes to the first listed (the configured kernel).
    func testTheFastestCandidateWinsAndTiesGoToTheFirst() {
        var calls: [String: Int] = [:]
        let times: [String: [Double]] = ["a": [9, 3, 3, 3], "b": [1, 5, 2, 4], "c": [0.5, 2, 2, 2]]
        let decision = KernelChoices.fastest(["a", "b", "c"]) { name -> Double in
            defer { calls[name, default: 0] += 1 }
            return times[name]![calls[name, default: 0]]
        }
        XCTAssertEqual(decision.choice, "b", "b's best timed run (2) beats c's (2 is not below 2: the earlier wins)")
        XCTAssertEqual(decision.timings.map { $0.1 }, [3, 2, 2])
        XCTAssertEqual(calls, ["a": 4, "b": 4, "c": 4])
    }

    /// A table entry decides the kernel: OpenBLAS for an fp32 class gives OpenBLAS's bits, and
    /// an fp32 kernel for a bf16 request gives the fp32 product (no input rounding).
    func testATableEntryDecidesTheKernel() throws {
        try requireOneDNN()
        let (m, n, k) = (37, 29, 53)
        let a = Reference.randomValues(m * k, seed: 1), b = Reference.randomValues(k * n, seed: 2)
        func product() -> [Float] {
            var c = [Float](repeating: 0, count: m * n)
            gemm(.none, .none, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, beta: 0, c: &c, ldc: n)
            return c
        }
        func entry(_ precision: MatmulPrecision, _ kernel: GemmKernel) -> KernelWisdom {
            let shape = GemmShape(transposeA: false, transposeB: false, m: m, n: n, k: k, threads: Threading.count, precision: precision)
            return KernelWisdom(entries: [KernelWisdom.Entry(cpu: cpu, decision: .gemm(shape, kernel))])
        }
        Matmul.request(.fp32)
        let onednn = product()
        try Matmul.select(.openblas)
        let openblas = product()
        try Matmul.select(.onednn)
        KernelChoices.activate(.table, wisdom: entry(.fp32, .openblas))
        XCTAssertTrue(product().map(\.bitPattern) == openblas.map(\.bitPattern), "the entry must run OpenBLAS")
        KernelChoices.activate(.table, wisdom: entry(.fp32, .onednnFP32))
        XCTAssertTrue(product().map(\.bitPattern) == onednn.map(\.bitPattern))

        guard case .available = Matmul.bf16Support else { throw XCTSkip("bf16 is not available on this CPU") }
        Matmul.request(.bf16)
        KernelChoices.deactivate()
        let bf16 = product()
        XCTAssertFalse(bf16.map(\.bitPattern) == onednn.map(\.bitPattern), "bf16 products round their inputs")
        KernelChoices.activate(.table, wisdom: entry(.bf16, .onednnFP32))
        XCTAssertTrue(product().map(\.bitPattern) == onednn.map(\.bitPattern), "a bf16 request the table runs in fp32")
        KernelChoices.activate(.table, wisdom: entry(.bf16, .onednnBF16))
        XCTAssertTrue(product().map(\.bitPattern) == bf16.map(\.bitPattern))
        XCTAssertTrue(Matmul.bf16Chosen(.none, .none, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n))
        KernelChoices.activate(.table, wisdom: entry(.bf16, .openblas))
        XCTAssertFalse(Matmul.bf16Chosen(.none, .none, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n))
    }

    /// Measuring times every candidate on the product's own operands into scratch: C (with
    /// beta = 1) receives exactly one product, and the choice is recorded with its timings.
    func testMeasuringRecordsAChoiceAndLeavesTheProductExact() throws {
        try requireOneDNN()
        for precision in [MatmulPrecision.fp32, .bf16] {
            if precision == .bf16, case .unavailable = Matmul.bf16Support { continue }
            Matmul.request(precision)
            let (m, n, k) = (40, 24, 72)
            let a = Reference.randomValues(m * k, seed: 3), b = Reference.randomValues(n * k, seed: 4)
            let start = Reference.randomValues(m * n, seed: 5)
            KernelChoices.activate(.measure, wisdom: KernelWisdom())
            var measured = start
            gemm(.none, .transposed, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, beta: 1, c: &measured, ldc: n)
            let entries = KernelChoices.measuredEntries()
            XCTAssertEqual(entries.count, 1, "\(precision)")
            guard let entry = entries.first, case .gemm(let shape, let kernel) = entry.decision else { return XCTFail("no gemm entry") }
            XCTAssertEqual(shape.description, "NT m64 n32 k128 t\(Threading.count)")
            XCTAssertEqual(entry.timings.count, precision == .bf16 ? 3 : 2)
            XCTAssertTrue(entry.timings.allSatisfy { $0.1 > 0 })
            // The same product again, with the recorded kernel from the table: the same bits.
            KernelChoices.activate(.table, wisdom: KernelWisdom(entries: [KernelWisdom.Entry(cpu: cpu, decision: .gemm(shape, kernel))]))
            var again = start
            gemm(.none, .transposed, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, beta: 1, c: &again, ldc: n)
            XCTAssertTrue(measured.map(\.bitPattern) == again.map(\.bitPattern), "\(precision): measuring must not touch C")
            XCTAssertEqual(KernelChoices.measuredEntries().count, 0, "a table in force measures nothing")
        }
    }
}
