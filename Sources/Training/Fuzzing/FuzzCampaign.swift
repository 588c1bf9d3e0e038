import Foundation

/// A seeded run of one target: inputs `first..<first + runs` of the mutator, each parsed in
/// this process under the crash guard. A trap or a hang ends the process with the input saved
/// in `outputFolder` (`FuzzCrashGuard`); an input whose non-finite numbers were accepted is saved
/// as `nonfinite-TARGET-SEED-N` and counted, and the campaign goes on.
public struct FuzzCampaign {
    public let target: FuzzTarget
    public let seed: UInt64
    public let mutator: FuzzMutator
    /// Where crash, hang and non-finite inputs are saved.
    public let outputFolder: String
    public let timeoutMilliseconds: Int
    /// Installs the signal handlers and the watchdog (`FuzzCrashGuard`).
    public let guarded: Bool

    /// What a campaign did.
    public struct Report: Sendable {
        public var target: String
        public var seed: UInt64
        public var runs = 0
        public var accepted = 0
        public var refused = 0
        /// Saved inputs whose non-finite numbers were accepted, with what was accepted.
        public var nonFinite: [(path: String, what: String)] = []
        public var seconds = 0.0
        public var inputsPerSecond: Double { seconds > 0 ? Double(runs) / seconds : 0 }

        public var summary: String {
            String(format: "%@: %d inputs (seed %llu) in %.1f s, %.0f inputs/s: %d accepted, %d refused, %d non-finite accepted, 0 traps, 0 hangs",
                   target, runs, seed, seconds, inputsPerSecond, accepted, refused, nonFinite.count)
        }
    }

    /// `corpusFolder`'s files join the target's built-in seeds, and `NAME.dict` beside the
    /// folder (libFuzzer's dictionary format) its tokens, when they exist.
    public init(target: FuzzTarget, seed: UInt64, corpusFolder: String? = nil, outputFolder: String,
                timeoutMilliseconds: Int = 2000, guarded: Bool = true) throws {
        var corpus = try target.seeds()
        var tokens = target.tokens
        if let corpusFolder {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: corpusFolder)) ?? []
            for file in files.sorted() where !file.hasPrefix(".") {
                if let data = FileManager.default.contents(atPath: "\(corpusFolder)/\(file)") { corpus.append([UInt8](data)) }
            }
            let dictionary = "\((corpusFolder as NSString).deletingLastPathComponent)/\(target.name).dict"
            if let text = try? String(contentsOfFile: dictionary, encoding: .utf8) { tokens += FuzzDictionary.parse(text) }
        }
        self.target = target
        self.seed = seed
        mutator = FuzzMutator(corpus: corpus, tokens: tokens, structure: target.structure)
        self.outputFolder = outputFolder
        self.timeoutMilliseconds = timeoutMilliseconds
        self.guarded = guarded
    }

    /// Runs inputs `first..<first + runs`; `progress` is called every `progressEvery` inputs.
    public func run(runs: Int, first: Int = 0, progressEvery: Int = 0, progress: (Report) -> Void = { _ in }) throws -> Report {
        try FileManager.default.createDirectory(atPath: outputFolder, withIntermediateDirectories: true)
        let workspace = FuzzFiles.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        let runner = try target.makeRunner(workspace)
        if guarded {
            FuzzCrashGuard.install(folder: outputFolder, target: target.name, seed: seed, timeoutMilliseconds: timeoutMilliseconds)
        }
        var report = Report(target: target.name, seed: seed)
        let start = DispatchTime.now().uptimeNanoseconds
        for index in first..<(first + runs) {
            let input = mutator.input(index, seed: seed)
            if guarded { FuzzCrashGuard.arm(input, index: index) }
            let verdict: FuzzVerdict?
            do { verdict = try runner(input) } catch { verdict = nil }
            if guarded { FuzzCrashGuard.disarm() }
            report.runs += 1
            switch verdict {
            case nil: report.refused += 1
            case .accepted?: report.accepted += 1
            case .nonFiniteAccepted(let what)?:
                report.accepted += 1
                let path = "\(outputFolder)/nonfinite-\(target.name)-\(seed)-\(index)"
                try FuzzFiles.write(input, to: path)
                report.nonFinite.append((path, what))
            }
            if progressEvery > 0 && report.runs % progressEvery == 0 {
                report.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                progress(report)
            }
        }
        report.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return report
    }

    /// Parses one saved input (a crash, hang or non-finite file) with `target`, unguarded: the
    /// verdict, or the error the parser refused it with.
    public static func replay(_ input: [UInt8], target: FuzzTarget) throws -> FuzzVerdict {
        let workspace = FuzzFiles.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        return try target.makeRunner(workspace)(input)
    }
}
