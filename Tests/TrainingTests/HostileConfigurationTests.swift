import Foundation
import Models
import Training
import XCTest

/// Configs and overrides as a hostile or careless user writes them (issue 30's findings): each
/// is refused before anything runs, with the key, the file and line (or the `--set`), the value
/// and what is allowed — never a trap, a hang or a silent conversion.
final class HostileConfigurationTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("parseval-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    func write(_ text: String, name: String = "run.yaml") throws -> String {
        let path = directory.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    func message(_ path: String?, _ overrides: [String] = []) -> String? {
        do {
            _ = try ConfigurationLoader.load(path: path, overrides: overrides)
            return nil
        } catch let error as ConfigurationError {
            return error.description
        } catch {
            return "not a ConfigurationError (exit 1, not 2): \(type(of: error)): \(error)"
        }
    }

    func assertRefused(_ path: String?, _ overrides: [String] = [], mentions fragments: [String],
                       file: StaticString = #filePath, line: UInt = #line) {
        guard let text = message(path, overrides) else {
            return XCTFail("accepted: \(path ?? "") \(overrides)", file: file, line: line)
        }
        for fragment in fragments {
            XCTAssertTrue(text.contains(fragment), "'\(text)' should mention '\(fragment)'", file: file, line: line)
        }
    }

    // MARK: - Every range

    /// One bad value per ranged setting, through `--set`: each is refused naming the key, the
    /// `--set` and the value. A rule added without a case here fails the test.
    func testEveryRangedSettingRefusesAValueOutsideItsRange() {
        let bad: [String: String] = [
            "model.vocabulary_size": "1", "model.max_length": "0", "model.dim": "1048577", "model.depth": "0",
            "model.heads": "0", "model.mlp_hidden": "-4", "model.dropout": "1", "model.classes": "1",
            "model.padding_index": "2147483648", "model.filter_knots": "-1", "model.random_features": "0",
            "model.feature_redraw_interval": "-1", "model.patch_size": "-16", "model.norm_epsilon": "0.6",
            "model.embedding_std": "-0.02", "model.class_token_std": "101",
            "data.sequence_length": "0", "data.prefetch": "-1", "data.decode_threads": "-2", "data.image_size": "0",
            "data.standard_deviation": "[0.2, 0, 0.2]",
            "optimizer.learning_rate": "9.2e18", "optimizer.beta1": "1", "optimizer.beta2": "-0.1",
            "optimizer.epsilon": "-1e-8", "optimizer.weight_decay": "-1e30", "optimizer.momentum": "1.5",
            "optimizer.gradient_clip": "-1", "schedule.warmup_steps": "-9223372036854775808", "schedule.final_ratio": "-0.5",
            "training.steps": "0", "training.batch_size": "0", "training.accumulation": "0", "training.eval_every": "-1",
            "training.eval_batches": "-1", "training.checkpoint_every": "-5", "training.log_every": "0",
            "training.label_smoothing": "1", "parallel.threads": "4294967296", "parallel.bucket_megabytes": "0",
            "parallel.first_bucket_megabytes": "9223372036854775807", "parallel.check_every": "-1",
            "parallel.stall_warning_seconds": "-1", "parallel.stall_abort_seconds": "1e300", "parallel.seq_parallel": "0",
        ]
        let rules = TrainingConfiguration.settingRules.map(\.key)
        XCTAssertEqual(Set(rules), Set(bad.keys), "every rule has a case here, and every case a rule")
        for key in rules {
            guard let value = bad[key] else { continue }
            assertRefused(nil, ["\(key)=\(value)"], mentions: ["--set \(key)=\(value)", key])
        }
    }

    /// Issue 30's traps and silent conversions, each refused before a run could reach it.
    func testTheFuzzedTrapsAreConfigurationErrors() throws {
        for smoothing in ["1.0", "3", "-0.5"] {
            assertRefused(nil, ["training.label_smoothing=\(smoothing)"], mentions: ["training.label_smoothing must be 0.0 ≤ value < 1.0"])
        }
        assertRefused(nil, ["parallel.threads=2147483648"], mentions: ["parallel.threads must be 0 … \(1024)", "got 2147483648"])
        assertRefused(nil, ["model.padding_index=2147483648"], mentions: ["model.padding_index"])
        assertRefused(nil, ["model.vocabulary_size=16", "model.padding_index=16"], mentions: ["not a token id below model.vocabulary_size 16"])
        assertRefused(nil, ["schedule.warmup_steps=-9223372036854775808"], mentions: ["schedule.warmup_steps"])
        assertRefused(nil, ["optimizer.beta1=1"], mentions: ["optimizer.beta1 must be 0.0 ≤ value < 1.0, got 1.0"])
        assertRefused(nil, ["optimizer.learning_rate=9.2e18"], mentions: ["optimizer.learning_rate must be 0 < value ≤ 100.0"])
        // The line of the file that set a key is named for range errors too.
        let path = try write("optimizer:\n  name: adamw\n  weight_decay: -1e30\n")
        assertRefused(path, mentions: ["config run.yaml:3: optimizer.weight_decay", "got -1e+30"])
    }

    /// Numbers the decoder would refuse with "key '': not valid JSON" name their key and line.
    func testNumbersOutsideTheirTypeNameTheKeyAndLine() throws {
        assertRefused(try write("training:\n  steps: 2.5\n"), mentions: ["run.yaml:2", "'training.steps' expects a whole number, got '2.5'"])
        assertRefused(try write("optimizer:\n  learning_rate: 1e39\n"),
                      mentions: ["run.yaml:2", "'optimizer.learning_rate'", "(out of range)"])
        assertRefused(try write("training:\n  seed: 99999999999999999999\n"), mentions: ["run.yaml:2", "'training.seed'", "out of range"])
        assertRefused(nil, ["optimizer.epsilon=.nan"], mentions: ["'optimizer.epsilon' expects a finite number"])
        assertRefused(nil, ["parallel.stall_abort_seconds=.inf"], mentions: ["'parallel.stall_abort_seconds' expects a finite number"])
        assertRefused(nil, ["training.steps=[3"], mentions: ["--set training.steps=[3", "not valid YAML"])
        assertRefused(nil, ["model.dim={a: 1}"], mentions: ["'model.dim' expects a whole number, not a mapping"])
        // A whole number written as a float is still that number.
        XCTAssertEqual(try ConfigurationLoader.load(path: nil, overrides: ["training.steps=1e3"]).training.steps, 1000)
    }

    /// YAML 1.2's core schema, not 1.1's: no base 60, no yes/no booleans; octal and hex as 1.2 writes them.
    func testScalarsAreReadAsYAML12() throws {
        assertRefused(try write("training:\n  steps: 1:30\n"), mentions: ["run.yaml:2", "'training.steps' expects a whole number, got '1:30'"])
        assertRefused(try write("training:\n  steps: 12:30:00\n"), mentions: ["got '12:30:00'"])
        assertRefused(try write("training:\n  final_test: yes\n"), mentions: ["'training.final_test' expects true or false, got 'yes'"])
        assertRefused(try write("training:\n  steps: 1_000\n"), mentions: ["got '1_000'"])
        let configuration = try ConfigurationLoader.load(path: try write("""
            training: {steps: 0x20, batch_size: 0o10, final_test: False}
            data: {directory: 2024, mean: [1, 2.5, -3]}
            output: {directory: '12:30'}
            """))
        XCTAssertEqual(configuration.training.steps, 32)
        XCTAssertEqual(configuration.training.batchSize, 8)
        XCTAssertFalse(configuration.training.finalTest)
        XCTAssertEqual(configuration.data.directory, "2024", "a string key takes the text as written")
        XCTAssertEqual(configuration.data.mean, [1, 2.5, -3])
        XCTAssertEqual(configuration.output.directory, "12:30")
    }

    /// The issue's 340-byte alias bomb under `data.mean`, and a config that expands past the bound
    /// through aliases of a valid list: refused at once, never expanded.
    func testYAMLAliasBombsAreRefused() throws {
        var lines = ["data:", "  mean:", "    - &a [1,1,1,1,1,1,1,1,1]"]
        var previous = "a"
        for name in "bcdefghij" {
            lines.append("    - &\(name) [\(Array(repeating: "*\(previous)", count: 9).joined(separator: ","))]")
            previous = String(name)
        }
        assertRefused(try write(lines.joined(separator: "\n") + "\n"), mentions: ["'data.mean.0' expects a single value, not a list"])
        // Aliases of valid values are read (the anchor's value, not expanded twice).
        let configuration = try ConfigurationLoader.load(path: try write("data:\n  mean: &m [0.5, 0.5, 0.5]\n  standard_deviation: *m\n"))
        XCTAssertEqual(configuration.data.standardDeviation, [0.5, 0.5, 0.5])
        // A list of more than maximumValues elements (what an alias chain could expand to) is refused.
        let stages = String(repeating: "*s,", count: ConfigurationLoader.maximumValues / 3) + "*s"
        assertRefused(try write("model:\n  downsample: [&s {layer: 0, ratio: 0.5}, \(stages)]\n"),
                      mentions: ["more than \(ConfigurationLoader.maximumValues) values"])
    }

    /// `model.causal` on a mixer without a causal form is an error naming both.
    func testCausalOnAnAcausalMixerIsAnError() {
        for mixer in MixerKind.allCases.filter({ !$0.supportsCausal }).map(\.rawValue) {
            assertRefused(nil, ["model.mixer=\(mixer)", "model.max_length=512", "data.sequence_length=512", "model.causal=true"],
                          mentions: ["model.causal", "the \(mixer) mixer has no causal form"])
        }
        XCTAssertNoThrow(try ConfigurationLoader.load(path: nil, overrides: ["model.mixer=attention", "model.causal=true"]))
    }

    /// Issue 27: FFTNet's knots with DCT downsampling trapped in FFTNetMixing when the knots
    /// outnumbered the shortened block's frequencies; the limit is the shortest block's.
    func testFilterKnotsAreCheckedAgainstTheShortestBlock() throws {
        let settings = ["model.mixer=fftnet", "data.sequence_length=1024", "model.depth=2", "model.downsample=[{layer: 1, ratio: 0.1}]"]
        assertRefused(nil, settings + ["model.filter_knots=100"],
                      mentions: ["model.filter_knots must be in 0...52", "shortest block sees 103 tokens"])
        let configuration = try ConfigurationLoader.load(path: nil, overrides: settings + ["model.filter_knots=52", "model.dim=16", "model.heads=2"])
        XCTAssertEqual(configuration.model.blockLengths, [1024, 103])
        XCTAssertEqual(EncoderClassifier(configuration.model, seed: 1).tower.blocks.count, 2, "the model builds")
    }

    /// docs/configuration.md's "Allowed values" is `parseval config --allowed`'s table.
    func testTheDocsListEveryRange() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let page = try String(contentsOf: root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        XCTAssertTrue(page.contains(TrainingConfiguration.allowedValuesTable),
                      "docs/configuration.md's Allowed values table differs from `parseval config --allowed`: regenerate it")
    }
}
