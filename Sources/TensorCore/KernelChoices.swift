import Foundation
import Synchronization

/// The kernel that runs one matrix product.
public enum GemmKernel: String, CaseIterable, Sendable {
    /// oneDNN's bf16 matmul on bf16 copies of the operands (the conversions included).
    case onednnBF16 = "onednn-bf16"
    /// oneDNN's sgemm.
    case onednnFP32 = "onednn-fp32"
    /// OpenBLAS's sgemm.
    case openblas
}

/// A matrix product's class of shapes: transposes, m, n and k rounded up to powers of two, the
/// threads it may use and the precision it was asked for. One measured choice serves the class.
public struct GemmShape: Hashable, Sendable, CustomStringConvertible {
    public let transposeA: Bool, transposeB: Bool
    public let m: Int, n: Int, k: Int
    public let threads: Int
    public let precision: MatmulPrecision

    public init(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, threads: Int, precision: MatmulPrecision) {
        (self.transposeA, self.transposeB) = (transposeA, transposeB)
        (self.m, self.n, self.k) = (m.powerOfTwoCeiling, n.powerOfTwoCeiling, k.powerOfTwoCeiling)
        (self.threads, self.precision) = (threads, precision)
    }

    /// "NT m64 n4096 k32 t1": the transposes of A and B, then the rounded sizes and the threads.
    public var description: String {
        "\(transposeA ? "T" : "N")\(transposeB ? "T" : "N") m\(m) n\(n) k\(k) t\(threads)"
    }

    init?(text: Substring, precision: MatmulPrecision) {
        let parts = text.split(separator: " ")
        guard parts.count == 5, parts[0].count == 2, parts[0].allSatisfy({ $0 == "N" || $0 == "T" }),
              let m = parts[1].integer(after: "m"), let n = parts[2].integer(after: "n"),
              let k = parts[3].integer(after: "k"), let threads = parts[4].integer(after: "t"),
              [m, n, k].allSatisfy({ $0 == $0.powerOfTwoCeiling }), threads >= 1 else { return nil }
        self.init(transposeA: parts[0].first == "T", transposeB: parts[0].last == "T", m: m, n: n, k: k,
                  threads: threads, precision: precision)
    }
}

/// One softmax-attention layer's class of shapes: the sequence length rounded up to a power of
/// two, the head width, causality, the rank's threads and the precision asked for.
public struct AttentionShape: Hashable, Sendable, CustomStringConvertible {
    public let length: Int, headDim: Int
    public let causal: Bool
    public let threads: Int
    public let precision: MatmulPrecision

    public init(length: Int, headDim: Int, causal: Bool, threads: Int, precision: MatmulPrecision) {
        (self.length, self.headDim, self.causal) = (length.powerOfTwoCeiling, headDim, causal)
        (self.threads, self.precision) = (threads, precision)
    }

    /// "n4096 d32 acausal t2".
    public var description: String { "n\(length) d\(headDim) \(causal ? "causal" : "acausal") t\(threads)" }

    init?(text: Substring, precision: MatmulPrecision) {
        let parts = text.split(separator: " ")
        guard parts.count == 4, let length = parts[0].integer(after: "n"), length == length.powerOfTwoCeiling,
              let headDim = parts[1].integer(after: "d"), headDim >= 1,
              parts[2] == "causal" || parts[2] == "acausal", let threads = parts[3].integer(after: "t"), threads >= 1
        else { return nil }
        self.init(length: length, headDim: headDim, causal: parts[2] == "causal", threads: threads, precision: precision)
    }
}

/// How a softmax-attention layer runs its per-head products: their precision and the queries
/// per block (the block's scores are one thread's scratch).
public struct AttentionPlan: Hashable, Sendable, CustomStringConvertible {
    public let precision: MatmulPrecision
    public let queryBlock: Int

    public init(precision: MatmulPrecision, queryBlock: Int) {
        (self.precision, self.queryBlock) = (precision, queryBlock)
    }

    /// The query blocks a measurement tries.
    public static let queryBlocks = [32, 64, 128, 256]

    /// "bf16/b64".
    public var description: String { "\(precision.rawValue)/b\(queryBlock)" }

    init?(text: Substring) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let precision = MatmulPrecision(rawValue: String(parts[0])),
              let block = parts[1].integer(after: "b"), block >= 1 else { return nil }
        self.init(precision: precision, queryBlock: block)
    }
}

/// Which kernel runs an operation of a given shape on this CPU, decided by measuring the
/// candidates and kept per CPU model, as FFTW keeps its wisdom.
///
/// `bench step --tune` measures: every matrix product and softmax-attention layer of the step
/// whose class of shapes has no entry yet times its candidates on the spot (a product's on its
/// own operands, into scratch) and runs the fastest; the entries are saved to the wisdom file.
/// A bf16 request's candidates include the fp32 kernels, so a bf16 operation is never slower
/// than its fp32 form. Runs (`train`, `eval`, `bench`) read the committed defaults
/// (`KernelChoices.defaults`, one table per CPU model seen) and the wisdom file, and never
/// measure: a run's kernels follow from the files, so a resumed run and every rank of a job on
/// the same CPU model choose alike. Off (the library's default, and what tests see unless they
/// turn it on), every operation runs as configured.
public enum KernelChoices {
    public enum Mode: Int, Sendable {
        /// Every operation runs the configured kernel.
        case off = 0
        /// Operations look up the table; a class of shapes without an entry runs as configured.
        case table = 1
        /// As `table`, and a class of shapes without an entry is measured now and recorded.
        case measure = 2
    }

    /// A decision and, where it was measured here, each candidate's best time in seconds.
    public struct Decision<Choice: Sendable>: Sendable {
        public let choice: Choice
        public let timings: [(Choice, Double)]
    }

    struct Tables {
        var gemm: [GemmShape: Decision<GemmKernel>] = [:]
        var attention: [AttentionShape: Decision<AttentionPlan>] = [:]
        /// The entries measured in this process, in order, for the wisdom file.
        var measured: [KernelWisdom.Entry] = []
    }

    static let modeCode = Atomic<Int>(Mode.off.rawValue)
    static let tables = Mutex<Tables>(Tables())

    /// The machine a choice belongs to: the CPU model and the instruction set oneDNN dispatches
    /// to — "Intel(R) Xeon(R) Processor (family 6, model 207), avx512_core_bf16" — since one
    /// model number can come with or without AMX (a hypervisor may hide it), which turns the
    /// bf16 choices around; "…, no oneDNN" where oneDNN does not load.
    public static let cpu: String = Machine.cpuModel + ", " + (Matmul.oneDNNISA ?? "no oneDNN")

    /// `cpu` as a file name: its runs of letters, digits and `_`, joined by `-`
    /// ("Intel-R-Xeon-R-Processor-family-6-model-207-avx512_core_bf16"), for files kept per CPU
    /// such as FFTW's wisdom.
    public static var cpuFileName: String {
        cpu.split { !($0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_")) }.joined(separator: "-")
    }

    /// The mode in force.
    public static var mode: Mode { Mode(rawValue: modeCode.load(ordering: .relaxed)) ?? .off }

    /// Puts `wisdom`'s entries for `cpu` in force (later entries of a key replace earlier ones,
    /// so pass the defaults first, then the user's file) and sets the mode. Returns the number
    /// of entries in force.
    @discardableResult
    public static func activate(_ mode: Mode, wisdom: KernelWisdom, cpu: String = KernelChoices.cpu) -> Int {
        var fresh = Tables()
        for entry in wisdom.entries where entry.cpu == cpu {
            switch entry.decision {
            case .gemm(let shape, let kernel): fresh.gemm[shape] = Decision(choice: kernel, timings: [])
            case .attention(let shape, let plan): fresh.attention[shape] = Decision(choice: plan, timings: [])
            }
        }
        let count = fresh.gemm.count + fresh.attention.count
        tables.withLock { $0 = fresh }
        modeCode.store(mode.rawValue, ordering: .relaxed)
        return count
    }

    /// Stops measuring and keeps the table in force, with what was measured in it.
    public static func stopMeasuring() {
        _ = modeCode.compareExchange(expected: Mode.measure.rawValue, desired: Mode.table.rawValue, ordering: .relaxed)
    }

    /// Turns choices off and forgets the table.
    public static func deactivate() {
        modeCode.store(Mode.off.rawValue, ordering: .relaxed)
        tables.withLock { $0 = Tables() }
    }

    /// The entries measured in this process since `activate`, for `cpu`.
    public static func measuredEntries() -> [KernelWisdom.Entry] { tables.withLock { $0.measured } }

    /// The product kernel for `shape`: the table's, or (measuring) the fastest of `candidates`
    /// timed by `time` (seconds of one run); nil when choices are off or nothing is known.
    static func gemmKernel(_ shape: GemmShape, candidates: [GemmKernel], time: (GemmKernel) -> Double) -> GemmKernel? {
        choose(shape, in: \.gemm, candidates: candidates, time: time, named: \.rawValue) { .gemm(shape, $0) }
    }

    /// The attention plan for `shape`, as `gemmKernel` decides a product's kernel.
    public static func attentionPlan(_ shape: AttentionShape, candidates: [AttentionPlan],
                                     time: (AttentionPlan) -> Double) -> AttentionPlan? {
        choose(shape, in: \.attention, candidates: candidates, time: time, named: \.description) { .attention(shape, $0) }
    }

    /// `table[shape]`'s choice; else, measuring, the fastest candidate, recorded in the table and
    /// among the entries measured here (`decision` makes the entry, `named` names a candidate).
    static func choose<Shape: Hashable, Choice: Sendable>(
        _ shape: Shape, in table: WritableKeyPath<Tables, [Shape: Decision<Choice>]>, candidates: [Choice],
        time: (Choice) -> Double, named: (Choice) -> String, decision: (Choice) -> KernelWisdom.Decision
    ) -> Choice? {
        let current = mode
        if current == .off { return nil }
        if let known = tables.withLock({ $0[keyPath: table][shape] }) { return known.choice }
        guard current == .measure, candidates.count > 1 else { return nil }
        let measured = fastest(candidates, time: time)
        return tables.withLock { tables in
            if let raced = tables[keyPath: table][shape] { return raced.choice }  // another thread measured it first
            tables[keyPath: table][shape] = measured
            tables.measured.append(KernelWisdom.Entry(cpu: cpu, decision: decision(measured.choice),
                                                      timings: measured.timings.map { (named($0.0), $0.1) }))
            return measured.choice
        }
    }

    /// Times every candidate `trials` times after one untimed run, each at its best; the
    /// fastest wins (the first listed on a tie, so the configured kernel leads the list).
    public static func fastest<Choice>(_ candidates: [Choice], trials: Int = 3, time: (Choice) -> Double) -> Decision<Choice> {
        let timings = candidates.map { candidate -> (Choice, Double) in
            _ = time(candidate)
            return (candidate, (0..<trials).map { _ in time(candidate) }.min()!)
        }
        var best = timings[0]
        for timing in timings.dropFirst() where timing.1 < best.1 { best = timing }
        return Decision(choice: best.0, timings: timings)
    }

    /// Seconds `body` takes, once.
    public static func seconds(_ body: () -> Void) -> Double {
        let start = ContinuousClock.now
        body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}

/// Kernel choices as text, one per line: `cpu ⇥ operation ⇥ precision ⇥ shape ⇥ choice ⇥
/// timings`, where cpu is `KernelChoices.cpu`, operation is `gemm` or `attention`, shape and choice are written as
/// `GemmShape` / `AttentionShape` and `GemmKernel` / `AttentionPlan` print them, and timings
/// (informational, may be empty) list `candidate=seconds` separated by spaces. Lines starting
/// with `#` and blank lines are comments. One file may hold several CPU models.
public struct KernelWisdom: Sendable {
    public enum Decision: Hashable, Sendable {
        case gemm(GemmShape, GemmKernel)
        case attention(AttentionShape, AttentionPlan)

        /// Operation, precision and shape: what a later entry for the same CPU replaces.
        public var key: String {
            switch self {
            case .gemm(let shape, _): return "gemm\t\(shape.precision.rawValue)\t\(shape)"
            case .attention(let shape, _): return "attention\t\(shape.precision.rawValue)\t\(shape)"
            }
        }
        var choice: String {
            switch self {
            case .gemm(_, let kernel): return kernel.rawValue
            case .attention(_, let plan): return plan.description
            }
        }
    }

    public struct Entry: Sendable {
        public let cpu: String
        public let decision: Decision
        public let timings: [(String, Double)]

        public init(cpu: String, decision: Decision, timings: [(String, Double)] = []) {
            (self.cpu, self.decision, self.timings) = (cpu, decision, timings)
        }

        var line: String {
            let times = timings.map { "\($0.0)=\(String(format: "%.3g", $0.1))" }.joined(separator: " ")
            return "\(cpu)\t\(decision.key)\t\(decision.choice)\t\(times)"
        }
    }

    public private(set) var entries: [Entry]

    public init(entries: [Entry] = []) { self.entries = entries }

    /// Parses `text`, naming `source` and the line in an error.
    public init(parsing text: String, source: String) throws(KernelWisdomError) {
        entries = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.allSatisfy(\.isWhitespace) || line.hasPrefix("#") { continue }
            func failure(_ what: String) -> KernelWisdomError {
                KernelWisdomError(message: "\(source):\(index + 1): \(what)")
            }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 6 else {
                throw failure("expected 6 tab-separated fields (cpu, operation, precision, shape, choice, timings), got \(fields.count)")
            }
            guard !fields[0].isEmpty else { throw failure("the cpu field is empty") }
            guard let precision = MatmulPrecision(rawValue: String(fields[2])) else {
                throw failure("precision must be fp32 or bf16, got '\(fields[2])'")
            }
            let decision: Decision
            switch fields[1] {
            case "gemm":
                guard let shape = GemmShape(text: fields[3], precision: precision) else {
                    throw failure("a gemm shape reads like 'NT m64 n4096 k32 t1' (sizes powers of two), got '\(fields[3])'")
                }
                guard let kernel = GemmKernel(rawValue: String(fields[4])),
                      kernel != .onednnBF16 || precision == .bf16 else {
                    let allowed = (precision == .bf16 ? GemmKernel.allCases : [.onednnFP32, .openblas]).map(\.rawValue)
                    throw failure("a \(precision.rawValue) gemm runs on one of \(allowed.joined(separator: ", ")), got '\(fields[4])'")
                }
                decision = .gemm(shape, kernel)
            case "attention":
                guard let shape = AttentionShape(text: fields[3], precision: precision) else {
                    throw failure("an attention shape reads like 'n4096 d32 acausal t2' (n a power of two), got '\(fields[3])'")
                }
                guard let plan = AttentionPlan(text: fields[4]), plan.precision == .fp32 || precision == .bf16 else {
                    throw failure("an attention plan reads like 'fp32/b64' (bf16 only for a bf16 request), got '\(fields[4])'")
                }
                decision = .attention(shape, plan)
            default:
                throw failure("operation must be gemm or attention, got '\(fields[1])'")
            }
            var timings: [(String, Double)] = []
            for pair in fields[5].split(separator: " ") {
                let parts = pair.split(separator: "=")
                guard parts.count == 2, let seconds = Double(parts[1]), seconds.isFinite, seconds >= 0 else {
                    throw failure("timings are 'candidate=seconds' pairs, got '\(pair)'")
                }
                timings.append((String(parts[0]), seconds))
            }
            entries.append(Entry(cpu: String(fields[0]), decision: decision, timings: timings))
        }
    }

    /// These entries with `newer` merged in: a newer entry replaces one of the same CPU,
    /// operation, precision and shape.
    public func merging(_ newer: [Entry]) -> KernelWisdom {
        let replaced = Set(newer.map { "\($0.cpu)\t\($0.decision.key)" })
        return KernelWisdom(entries: entries.filter { !replaced.contains("\($0.cpu)\t\($0.decision.key)") } + newer)
    }

    /// The file's text: a header, then the entries sorted by CPU, operation, precision and shape.
    public var text: String {
        let header = "# Parseval kernel choices (`parseval bench step --tune`): cpu, operation, precision, shape, choice, timings (s)\n"
        return header + entries.map(\.line).sorted().map { $0 + "\n" }.joined()
    }

    /// The CPU models the entries name, with their entry counts.
    public var cpuModels: [(String, Int)] {
        Dictionary(grouping: entries, by: \.cpu).map { ($0.key, $0.value.count) }.sorted { $0.0 < $1.0 }
    }

    /// Where `bench step --tune` keeps what it measured and runs look: `$XDG_CACHE_HOME`, else
    /// `~/.cache`, then `parseval/kernel-choices.tsv`.
    public static func userPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let base = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()) + "/.cache")
        return base + "/parseval/kernel-choices.tsv"
    }

    /// The committed defaults and, after them, the user's file where it exists; a file that
    /// cannot be read or parsed is left out with a warning naming it and the line.
    public static func forRuns(path: String = userPath()) -> (wisdom: KernelWisdom, warning: String?) {
        var wisdom = defaults
        guard FileManager.default.fileExists(atPath: path) else { return (wisdom, nil) }
        do {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            wisdom = wisdom.merging(try KernelWisdom(parsing: text, source: path).entries)
            return (wisdom, nil)
        } catch let error as KernelWisdomError {
            return (wisdom, "kernel choices: \(error.message); the file is ignored (delete it or rerun `parseval bench step --tune`)")
        } catch {
            return (wisdom, "kernel choices: \(path): cannot be read (\(error.localizedDescription)); the file is ignored")
        }
    }
}

public struct KernelWisdomError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

extension Int {
    /// The least power of two ≥ self (1 for self ≤ 1).
    var powerOfTwoCeiling: Int {
        if self <= 1 { return 1 }
        if self > 1 << 62 { return 1 << 62 }
        return 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount)
    }
}

extension Substring {
    /// The integer after `prefix` ("m64" after "m" is 64), nil when the text is not that.
    fileprivate func integer(after prefix: String) -> Int? {
        guard hasPrefix(prefix) else { return nil }
        return Int(dropFirst(prefix.count))
    }
}
