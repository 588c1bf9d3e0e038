import Datasets
import Foundation
import TensorCore
import Training
import XCTest

/// A temporary folder holding a tiny generated ListOps task (64 training, 16 validation
/// expressions) and `tiny.yaml`, a model small enough that 30 steps of the debug binary take
/// about a second: dim 16, depth 1, sequences of 64, batch 8, a checkpoint every 4 steps and
/// a metrics line every step.
class TrainingRunTestCase: XCTestCase {
    var folder: String!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("parseval-reliability-\(UUID().uuidString)").path
        var settings = ListOpsGenerator.Settings()
        (settings.trainCount, settings.validationCount, settings.testCount) = (64, 16, 4)
        (settings.minLength, settings.maxLength, settings.seed) = (5, 60, 3)
        _ = try ListOpsGenerator.write(ListOpsGenerator(settings: settings).generate(), to: "\(folder!)/data")
        try Self.tinyConfiguration.replacingOccurrences(of: "DATA", with: "\(folder!)/data")
            .write(toFile: configuration, atomically: true, encoding: .utf8)
    }

    override func tearDown() {
        if let folder { try? FileManager.default.removeItem(atPath: folder) }
    }

    static let tinyConfiguration = """
        model: {vocabulary_size: 16, max_length: 64, dim: 16, depth: 1, heads: 2, mlp_hidden: 32, dropout: 0.1, classes: 10}
        data: {task: listops, directory: DATA, sequence_length: 64}
        optimizer: {name: adamw, learning_rate: 0.001, gradient_clip: 1.0}
        schedule: {kind: cosine, warmup_steps: 2}
        training: {steps: 30, batch_size: 8, eval_every: 0, checkpoint_every: 4, log_every: 1, seed: 5}
        output: {directory: runs/default}

        """

    var configuration: String { "\(folder!)/tiny.yaml" }

    func runFolder(_ name: String) -> String { "\(folder!)/\(name)" }

    /// `parseval train` on `tiny.yaml` into run folder `run`, with `--set` overrides.
    func trainArguments(run: String, _ settings: [String] = []) -> [String] {
        ["train", "--config", configuration, "--set", "output.directory=\(runFolder(run))"]
            + settings.flatMap { ["--set", $0] }
    }

    func train(run: String, _ settings: [String] = [], ranks: Int? = nil, fault: String? = nil,
               timeout: Double = 60) throws -> ParsevalProcess.Outcome {
        try ParsevalProcess.run(trainArguments(run: run, settings), ranks: ranks, fault: fault, in: folder, timeout: timeout)
    }

    /// The parameters of the run's `latest` checkpoint.
    func finalParameters(run: String) throws -> [SafeTensors.Entry] {
        let directory = try XCTUnwrap(try Checkpoint.resolve(run: runFolder(run)), "\(run) has no checkpoint")
        return try SafeTensors.read("\(directory)/model.safetensors").entries
    }

    func latestName(run: String) throws -> String {
        try String(contentsOfFile: "\(Checkpoint.folder(run: runFolder(run)))/latest", encoding: .utf8)
    }

    func metrics(run: String) throws -> String {
        try String(contentsOfFile: "\(runFolder(run))/metrics.jsonl", encoding: .utf8)
    }

    /// The run ended with `code` and its output contains every one of `phrases`.
    func assertExit(_ outcome: ParsevalProcess.Outcome, _ code: Int32, mentions phrases: [String] = [],
                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(outcome.exitCode, code, "expected exit \(code): \(outcome.summary)", file: file, line: line)
        for phrase in phrases {
            XCTAssertTrue(outcome.output.contains(phrase), "output should mention '\(phrase)': \(outcome.summary)",
                          file: file, line: line)
        }
    }

    /// Bit-for-bit equality of two checkpoints' parameters.
    func assertBitIdentical(_ a: [SafeTensors.Entry], _ b: [SafeTensors.Entry], _ message: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.map(\.name), b.map(\.name), message, file: file, line: line)
        XCTAssertEqual(a.map(\.shape), b.map(\.shape), message, file: file, line: line)
        let x = a.flatMap(\.values).map(\.bitPattern), y = b.flatMap(\.values).map(\.bitPattern)
        let differing = zip(x, y).filter { $0 != $1 }.count
        XCTAssertTrue(x.count == y.count && differing == 0, "\(message): \(differing) of \(x.count) values differ",
                      file: file, line: line)
    }
}

/// A seeded generator for the tests' random choices (Philox, from TensorCore).
struct SeededGenerator: RandomNumberGenerator {
    var stream: RandomStream
    init(seed: UInt64) { stream = RandomStream(seed: seed) }
    mutating func next() -> UInt64 { stream.nextUInt64() }
}
