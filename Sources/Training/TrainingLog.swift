import Foundation
import TensorCore

/// One line of `metrics.jsonl`. Only values that are a pure function of the config, the
/// seed and the rank count go here (no timings), so two runs give identical files and a
/// resumed run continues the file exactly.
public struct MetricsRecord: Codable, Equatable, Sendable {
    public var step: Int
    public var epoch: Int
    /// "train" (mean over the steps since the last record) or "validation".
    public var split: String
    /// Mean loss and accuracy over `examples`; absent when there were none (every step of a
    /// train window skipped as non-finite), rather than a misleading 0.
    public var loss: Double?
    public var accuracy: Double?
    public var examples: Int
    public var learningRate: Double?
    public var gradientNorm: Double?
    public var skippedSteps: Int?
    /// Examples of the record's split skipped as bad under `data.skip_bad_examples` (when the
    /// split was loaded, and in the evaluation's batches); absent when none were.
    public var skippedExamples: Int?
}

/// A record of a JSON-lines file, placed by the optimizer step it belongs to.
protocol SteppedRecord: Codable {
    var step: Int { get }
}

extension MetricsRecord: SteppedRecord {}
extension TimelineRecord: SteppedRecord {}

/// A JSON-lines file rank 0 appends records to (snake_case keys, sorted: the bytes depend on the
/// values only); other ranks hold an inactive one that writes nothing.
struct JSONLines<Record: SteppedRecord> {
    let path: String
    let active: Bool
    let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    func append(_ record: Record) throws {
        guard active else { return }
        var line = try encoder.encode(record)
        line.append(0x0A)
        if let handle = FileHandle(forWritingAtPath: path) {
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: line)
        } else {
            try line.write(to: URL(fileURLWithPath: path))
        }
    }

    /// Keeps the records up to `step` (what a resumed run rewrites goes) and returns them.
    @discardableResult
    func truncate(after step: Int) throws -> [Record] {
        guard active, let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let kept = text.split(separator: "\n").compactMap { line -> (Substring, Record)? in
            guard let record = try? decoder.decode(Record.self, from: Data(line.utf8)), record.step <= step else { return nil }
            return (line, record)
        }
        try AtomicFile.write(Data(kept.map { $0.0 + "\n" }.joined().utf8), to: path)
        return kept.map(\.1)
    }
}

/// Rank 0's output: `metrics.jsonl` in the run folder, and progress on standard output —
/// a live line on a terminal, plain lines otherwise. mpirun hands every rank a
/// pseudo-terminal whatever its own output is, so under mpirun lines are the default;
/// `PARSEVAL_PROGRESS=bar` or `=lines` decides explicitly.
final class TrainingLog {
    let path: String
    let active: Bool
    let isTerminal: Bool = {
        let environment = ProcessInfo.processInfo.environment
        switch environment["PARSEVAL_PROGRESS"] {
        case "bar": return true
        case "lines": return false
        default: return isatty(STDOUT_FILENO) != 0 && environment["OMPI_COMM_WORLD_SIZE"] == nil
        }
    }()
    let file: JSONLines<MetricsRecord>

    init(runDirectory: String, active: Bool) {
        path = "\(runDirectory)/metrics.jsonl"
        self.active = active
        file = JSONLines(path: path, active: active)
    }

    /// Keeps only the records up to `step` (a resumed run rewrites what came after).
    func truncate(after step: Int) throws { try file.truncate(after: step) }

    func record(_ record: MetricsRecord) throws { try file.append(record) }

    /// A progress line; on a terminal it replaces the previous one unless `keep`.
    func progress(_ text: String, keep: Bool = false) {
        guard active else { return }
        if isTerminal {
            print("\r\u{1B}[2K" + text, terminator: keep ? "\n" : "")
        } else {
            print(text)
        }
        fflush(nil)
    }

    func message(_ text: String) {
        guard active else { return }
        if isTerminal { print("\r\u{1B}[2K", terminator: "") }
        print(text)
        fflush(nil)
    }
}

/// One line of `timeline.jsonl`: when a metrics record was written.
public struct TimelineRecord: Codable, Equatable, Sendable {
    public var step: Int
    /// "train", "validation" or "test", as the metrics record it times.
    public var split: String
    /// Wall-clock seconds of training so far, summed over the run's processes (a resumed run
    /// continues from the last kept line).
    public var seconds: Double
    /// Tokens trained on so far (all ranks), summed the same way.
    public var tokens: Double
    /// Largest resident set of rank 0's process so far, in MB.
    public var peakMemoryMb: Double
    /// The machine behind the figures (absent in lines written before they were recorded):
    /// rank 0's CPU (`Machine.cpuModel`), its threads, and the ranks of the job.
    public var cpu: String?
    public var threads: Int?
    public var ranks: Int?
}

/// `timeline.jsonl` beside `metrics.jsonl`: the wall time, tokens and memory behind each metrics
/// record. Kept apart because it is not reproducible — metrics.jsonl is byte-identical across
/// runs and resumes (docs/reliability.md), this is not — and `parseval report` reads both.
final class Timeline {
    let path: String
    let active: Bool
    var baseSeconds = 0.0
    var tokens = 0.0
    var start = Date()
    let file: JSONLines<TimelineRecord>

    let ranks: Int

    init(runDirectory: String, active: Bool, ranks: Int) {
        path = "\(runDirectory)/timeline.jsonl"
        self.active = active
        self.ranks = ranks
        file = JSONLines(path: path, active: active)
    }

    /// Keeps the lines up to `step` and continues their clock and token count from now.
    func resume(after step: Int) throws {
        start = Date()
        let kept = try file.truncate(after: step)
        baseSeconds = kept.last?.seconds ?? 0
        tokens = kept.last?.tokens ?? 0
    }

    func add(tokens count: Double) { tokens += count }

    func record(step: Int, split: String) {
        guard active else { return }
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        let record = TimelineRecord(step: step, split: split, seconds: baseSeconds + Date().timeIntervalSince(start),
                                    tokens: tokens, peakMemoryMb: Double(usage.ru_maxrss) / 1024,
                                    cpu: Machine.cpuModel, threads: Threading.count, ranks: ranks)
        try? file.append(record)  // timing is best effort: a failed write must not stop training
    }
}

/// "1h02m", "3m07s", "12s".
func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0, seconds < 1e15 else { return "?" }
    let total = Int(seconds.rounded())
    if total >= 3600 { return String(format: "%ldh%02ldm", total / 3600, total % 3600 / 60) }
    if total >= 60 { return String(format: "%ldm%02lds", total / 60, total % 60) }
    return "\(total)s"
}
