import ArgumentParser
import Foundation
import Training

extension Parseval {
    /// `parseval fuzz`: seeded mutation fuzzing of every parser of outside input, in process
    /// (docs/reliability.md, "Fuzzing").
    struct Fuzz: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fuzz a parser of outside input with seeded mutations of its corpus.",
            discussion: """
                Each input is parsed in this process. A trap, fault or abort saves the input as \
                OUT/crash-TARGET-SEED-N before the process dies; an input that runs past \
                --timeout-ms is saved as OUT/hang-TARGET-SEED-N and the process aborts; an input \
                whose NaN, infinite or negative-where-impossible numbers were accepted is saved as \
                OUT/nonfinite-TARGET-SEED-N (exit 1 at the end). Input N of seed S is the same on \
                every machine: --first N --runs 1 makes it again; --replay FILE parses a saved one.
                  parseval fuzz all --runs 100000 --seed 1 --out fuzz-out
                """)

        @Argument(help: "A target (--list names them), or 'all'.") var target: String?
        @Option(help: "Inputs per target.") var runs = 10_000
        @Option(help: "Campaign seed.") var seed: UInt64 = 1
        @Option(help: "Index of the first input (to make one input again).") var first = 0
        @Option(help: "Folder of extra seed inputs, with TARGET.dict beside it (default: Tests/Fixtures/fuzz/TARGET when present).")
        var corpus: String?
        @Option(help: "Folder for crash, hang and non-finite inputs.") var out = "fuzz-out"
        @Option(name: .customLong("timeout-ms"), help: "An input running longer than this is a hang.") var timeoutMilliseconds = 2000
        @Flag(help: "List the targets.") var list = false
        @Option(help: "Parse one saved input with the target and print the verdict or error.") var replay: String?
        @Option(name: .customLong("write-seeds"), help: "Write the target's built-in seeds and dictionary into this folder.")
        var writeSeeds: String?

        func run() throws {
            if list {
                for target in FuzzTarget.all { print("\(target.name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(target.summary)") }
                return
            }
            guard let target else { throw ValidationError("name a target (parseval fuzz --list) or 'all'") }
            let targets = target == "all" ? FuzzTarget.all : try [FuzzTarget.named(target) ?? {
                throw ValidationError("unknown target '\(target)'; targets: \(FuzzTarget.all.map(\.name).joined(separator: ", "))")
            }()]
            if let replay {
                guard let data = FileManager.default.contents(atPath: replay) else { throw ValidationError("cannot read \(replay)") }
                for target in targets {
                    do { print("\(target.name): \(try FuzzCampaign.replay([UInt8](data), target: target))") }
                    catch { print("\(target.name): refused: \(error)") }
                }
                return
            }
            if let writeSeeds {
                for target in targets {
                    let folder = "\(writeSeeds)/\(target.name)"
                    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                    for (index, seed) in try target.seeds().enumerated() { try FuzzFiles.write(seed, to: "\(folder)/seed-\(index)") }
                    try FuzzFiles.write(Array(FuzzDictionary.format(target.tokens).utf8), to: "\(writeSeeds)/\(target.name).dict")
                    print("\(target.name): seeds and dictionary written to \(folder)")
                }
                return
            }
            var findings = 0
            for target in targets {
                let folder = corpus ?? "Tests/Fixtures/fuzz/\(target.name)"
                let campaign = try FuzzCampaign(target: target, seed: seed, corpusFolder: folder, outputFolder: out,
                                                timeoutMilliseconds: timeoutMilliseconds)
                print("\(target.name): \(campaign.mutator.corpus.count) seed inputs, \(campaign.mutator.tokens.count) tokens")
                let report = try campaign.run(runs: runs, first: first, progressEvery: max(runs / 10, 1)) { partial in
                    FileHandle.standardError.write(Data(String(format: "  %@: %d inputs, %.0f/s\n", partial.target, partial.runs,
                                                               partial.inputsPerSecond).utf8))
                }
                for (path, what) in report.nonFinite { print("  non-finite accepted: \(what) (\(path))") }
                print(report.summary)
                findings += report.nonFinite.count
            }
            if findings > 0 { throw ExitCode(1) }
        }
    }
}
