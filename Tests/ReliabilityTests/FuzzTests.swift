import Datasets
import Foundation
import Layers
import Models
import Optimizers
import Training
import XCTest

/// The bounded run of the fuzzer (docs/reliability.md, "Fuzzing"): every target of
/// `FuzzTarget.all` — each parser of outside input — gets its `testRuns` seeded mutations
/// (1,500–5,000), in process, under the crash guard, so a trap leaves its input in the output
/// folder (`crash-TARGET-30-N`) before the test process dies. Then every crash the campaigns
/// found, each as a named test with its reproducer.
final class FuzzTests: XCTestCase {
    var folder: String!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("parseval-fuzz-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    /// The committed corpus and dictionaries: `Tests/Fixtures/fuzz/`.
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fuzz").path

    // MARK: - The bounded campaign

    func testEveryTargetSurvivesItsBoundedCampaign() throws {
        for target in FuzzTarget.all {
            let campaign = try FuzzCampaign(target: target, seed: 30, corpusFolder: "\(Self.fixtures)/\(target.name)",
                                            outputFolder: "\(folder!)/findings", timeoutMilliseconds: 10_000)
            let report = try campaign.run(runs: target.testRuns)
            print(report.summary)
            XCTAssertEqual(report.nonFinite.map(\.what), [], "\(target.name): non-finite numbers accepted; inputs kept in \(folder!)/findings")
            XCTAssertGreaterThan(report.refused, 0, "\(target.name): mutations should produce some errors")
            XCTAssertGreaterThan(report.accepted, 0, "\(target.name): some mutations should still parse")
        }
    }

    /// Every seed, built-in or committed, is a valid input: mutations start from the format.
    func testEverySeedParses() throws {
        for target in FuzzTarget.all {
            let campaign = try FuzzCampaign(target: target, seed: 30, corpusFolder: "\(Self.fixtures)/\(target.name)",
                                            outputFolder: folder, guarded: false)
            XCTAssertGreaterThanOrEqual(campaign.mutator.corpus.count, 2 * (try target.seeds().count), "\(target.name): committed corpus missing")
            // seal's seeds include weights of other models (timm's names), which it reads but cannot place.
            let parser = target.name == "seal" ? try XCTUnwrap(FuzzTarget.named("safetensors")) : target
            for (index, seed) in campaign.mutator.corpus.enumerated() {
                XCTAssertNoThrow(try FuzzCampaign.replay(seed, target: parser), "\(target.name) seed \(index)")
            }
        }
    }

    func testInputsArePureFunctionsOfSeedAndIndex() throws {
        let mutator = FuzzMutator(corpus: [Array("model: {dim: 16}".utf8), [1, 2, 3]], tokens: [Array("[[".utf8)])
        XCTAssertEqual(mutator.input(77, seed: 5), mutator.input(77, seed: 5))
        XCTAssertNotEqual((0..<20).map { mutator.input($0, seed: 5) }, (0..<20).map { mutator.input($0, seed: 6) })
    }

    /// The watchdog times an input from the first tick that saw it armed, on its own clock: fast
    /// inputs are never hangs however their arms interleave with its ticks, a disarm forgets the
    /// input, and only the same input armed past the timeout is one.
    func testWatchdogBlamesOnlyAnInputArmedPastItsTimeout() {
        var clock = FuzzHangClock()
        let timeout: UInt64 = 10_000_000_000
        // 500 000 inputs a second, a tick every 20 ms: every tick sees a new generation.
        for tick in 0..<10_000 {
            XCTAssertFalse(clock.observe(generation: UInt64(tick * 10_000 + 1), now: UInt64(tick) * 20_000_000, timeout: timeout))
        }
        // One input armed across ticks: not hung at the timeout, hung past it.
        var hung = FuzzHangClock()
        XCTAssertFalse(hung.observe(generation: 7, now: 1_000, timeout: timeout))
        XCTAssertFalse(hung.observe(generation: 7, now: 1_000 + timeout, timeout: timeout))
        XCTAssertTrue(hung.observe(generation: 7, now: 1_001 + timeout, timeout: timeout))
        // A disarm between ticks restarts the clock even if the same number comes back.
        var rearmed = FuzzHangClock()
        XCTAssertFalse(rearmed.observe(generation: 3, now: 0, timeout: timeout))
        XCTAssertFalse(rearmed.observe(generation: 0, now: timeout / 2, timeout: timeout))
        XCTAssertFalse(rearmed.observe(generation: 3, now: timeout, timeout: timeout))
        XCTAssertFalse(rearmed.observe(generation: 3, now: timeout + timeout / 2, timeout: timeout))
        XCTAssertTrue(rearmed.observe(generation: 3, now: 2 * timeout + 1, timeout: timeout))
    }

    func testDictionaryFormatRoundTrips() {
        let tokens: [[UInt8]] = [Array("\"quoted\" \\ tab\t".utf8), [0, 0xFF, 0x89], Array("plain".utf8)]
        XCTAssertEqual(FuzzDictionary.parse(FuzzDictionary.format(tokens)), tokens)
        XCTAssertEqual(FuzzDictionary.parse("# comment\nkw1=\"a\\x41\"\n\n\"b\"\n"), [Array("aA".utf8), Array("b".utf8)])
    }

    // MARK: - Regressions: Pathfinder .npy headers

    func npy(descr: String, shape: String, data: [UInt8] = []) -> [UInt8] {
        let header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }\n"
        return NPYStrings.magic + [1, 0, UInt8(header.utf8.count), 0] + Array(header.utf8) + data
    }

    /// Was a trap (arithmetic overflow, NPYStrings.swift:52) found by the npy campaign: a width
    /// whose byte count overflows Int.
    func testNPYStringWidthThatOverflowsIsAnErrorNamingTheFile() {
        for descr in ["<U9223372036854775807", "<U4611686018427387904"] {
            XCTAssertThrowsError(try NPYStrings.rows(npy(descr: descr, shape: "(4, 6)"), file: "meta/0.npy")) { error in
                XCTAssertTrue("\(error)".hasPrefix("meta/0.npy: NumPy array:"), "\(error)")
                XCTAssertTrue("\(error)".contains("expected more than \(Int.max)"), "\(error)")
            }
        }
    }

    /// Was a trap (NPYStrings.swift:54): rows × columns overflowing Int.
    func testNPYShapeThatOverflowsIsAnErrorNamingTheFile() {
        XCTAssertThrowsError(try NPYStrings.rows(npy(descr: "<U9", shape: "(4611686018427387904, 11)"), file: "meta/0.npy")) { error in
            XCTAssertTrue("\(error)".contains("meta/0.npy: NumPy array: 0 data bytes for shape (4611686018427387904, 11)"), "\(error)")
        }
    }

    /// Rows of no bytes (no fields, or a width of 0) would let a header claim 2⁶² rows for an empty file.
    func testNPYRowsOfNoBytesCannotBeClaimedForFree() {
        for (descr, shape) in [("<U9", "(4611686018427387904, 0)"), ("|S0", "(4611686018427387904, 3)"), ("<U-4", "(2, 2)")] {
            XCTAssertThrowsError(try NPYStrings.rows(npy(descr: descr, shape: shape), file: "meta/0.npy"), "\(descr) \(shape)")
        }
        XCTAssertEqual(try NPYStrings.rows(npy(descr: "|S2", shape: "(1, 2)", data: Array("abcd".utf8)), file: "x.npy"), [["ab", "cd"]])
    }

    // MARK: - Regressions: configuration

    /// Was a trap found by the config campaign (`crash-config-1-4716`): Pathfinder's square check
    /// squared ⌊√(2⁶³ − 1)⌉ and overflowed. The length's range (SettingRules) refuses it first.
    func testAPathfinderLengthPastItsRangeIsAnErrorNotATrap() {
        let path = "\(Self.fixtures)/regressions/config-pathfinder-square-overflow.yaml"
        XCTAssertThrowsError(try ConfigurationLoader.load(path: path)) { error in
            XCTAssertTrue("\(error)".contains("config-pathfinder-square-overflow.yaml:13: key 'data.sequence_length'")
                          || "\(error)".contains("data.sequence_length must be 1 … 16777216"), "\(error)")
        }
    }

    // MARK: - Regressions: weights and safetensors

    /// Was a hang found by the seal campaign (`hang-seal-1-37602`): timm's patch convolution of
    /// shape (24294967296, 0, 2, 2) holds no values, and channelsLast looped 2³² times over nothing.
    func testTimmConvolutionWithAnEmptyShapeIsNotWalked() throws {
        let path = "\(Self.fixtures)/regressions/seal-timm-empty-convolution-hang.safetensors"
        let entries = try SafeTensors.read(path).entries
        let translated = try WeightSource.timmViT.translate(entries)
        XCTAssertEqual(translated.first { $0.name == "patch_embedding.weight" }?.shape, [24294967296, 0])
    }

    /// A square patch P·P·C past Int.max (with a zero elsewhere, so the reader accepts the shape).
    func testTimmConvolutionWhosePatchOverflowsIsAnError() {
        let entry = SafeTensors.Entry(name: "patch_embed.proj.weight", shape: [0, 2, 4294967296, 4294967296], values: [])
        XCTAssertThrowsError(try WeightSource.timmViT.translate([entry])) { error in
            XCTAssertTrue("\(error)".contains("patch size P·P·C fits in an Int"), "\(error)")
        }
    }

    /// An empty tensor at the offset where the next begins was accepted or refused by the hash
    /// order of the header's keys (found while seeding the seal campaign); now always read.
    func testEmptyTensorSharingAnOffsetIsReadWhateverTheKeyOrder() throws {
        for names in [("a", "b"), ("b", "a")] {
            let header = "{\"\(names.0)\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
                + "\"\(names.1)\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"
            let bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Array($0) } + Array(header.utf8) + [0, 0, 128, 63]
            let entries = try SafeTensors.read(Data(bytes), path: "w.safetensors").entries
            XCTAssertEqual(entries.map(\.values), [[], [1]])
        }
    }

    /// The seal rule: non-finite weights are refused, naming the file and tensor, unless allowed.
    func testImportRefusesNonFiniteWeightsUnlessAllowed() throws {
        var configuration = ModelConfiguration()
        (configuration.vocabularySize, configuration.maxLength, configuration.dim, configuration.depth) = (5, 4, 4, 1)
        (configuration.heads, configuration.mlpHidden, configuration.classes) = (1, 4, 2)
        let model = EncoderClassifier(configuration, seed: 1)
        var entries = model.arena.entries.map { entry in
            SafeTensors.Entry(name: entry.name, shape: entry.shape,
                              values: Array(model.arena.sharedValues[entry.offset..<(entry.offset + entry.count)]))
        }
        entries[1].values[0] = .nan
        let path = "\(folder!)/weights.safetensors"
        try SafeTensors.write(entries, metadata: [:], to: path)
        XCTAssertThrowsError(try Checkpoint.importWeights(path, into: model.arena, step: 0)) { error in
            XCTAssertTrue("\(error)".contains("\(path): tensor '\(entries[1].name)' holds nan at index 0"), "\(error)")
        }
        XCTAssertThrowsError(try Checkpoint.seal(weights: path, model: model.arena, optimizer: AdamW(arena: model.arena),
                                                 run: "\(folder!)/run", step: 0, configurationJSON: "{}"))
        XCTAssertNoThrow(try Checkpoint.importWeights(path, into: model.arena, step: 0, allowNonFinite: true))
        entries[1].values[0] = 0
        try SafeTensors.write(entries, metadata: [:], to: path)
        XCTAssertThrowsError(try Checkpoint.seal(weights: path, model: model.arena, optimizer: AdamW(arena: model.arena),
                                                 run: "\(folder!)/run", step: -1, configurationJSON: "{}")) { error in
            XCTAssertTrue("\(error)".contains("step -1 to seal at; expected an integer in 0..."), "\(error)")
        }
    }

    // MARK: - Regressions: resuming a checkpoint

    /// Training states that trapped a resume (DistributedSampler.swift:48 on epoch −1,
    /// BatchPrefetcher.swift:18 on batch −1, Trainer.swift:309 on epoch Int.max) are refused on
    /// load, naming the file and field; the checkpoint's manifest agrees with the file.
    func testHostileTrainingStatesAreRefusedNamingTheField() throws {
        let target = try XCTUnwrap(FuzzTarget.named("training-state"))
        let base = ["batchInEpoch": "1", "bestAccuracy": "0.5", "bestStep": "2", "epoch": "1", "step": "3"]
        func state(_ changes: [String: String]) -> [UInt8] {
            let fields = base.merging(changes) { $1 }.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }
            return Array("{\(fields.joined(separator: ","))}".utf8)
        }
        XCTAssertEqual(try FuzzCampaign.replay(state([:]), target: target), .accepted)
        for (field, value) in [("step", "-1"), ("epoch", "-1"), ("batchInEpoch", "-1"), ("epoch", "9223372036854775807"),
                               ("batchInEpoch", "9223372036854775806"), ("step", "1099511627777"), ("bestStep", "4"),
                               ("bestAccuracy", "2")] {
            XCTAssertThrowsError(try FuzzCampaign.replay(state([field: value]), target: target), "\(field) \(value)") { error in
                XCTAssertTrue("\(error)".contains("model.safetensors: training state field '\(field)' is "), "\(error)")
            }
        }
    }

    /// Adam's second moments must be finite and ≥ 0, and every moment finite, even when the
    /// manifest agrees with the file; `optimizer_step` must be a step.
    func testHostileOptimizerStatesAreRefused() throws {
        let target = try XCTUnwrap(FuzzTarget.named("optimizer-state"))
        let seed = try target.seeds()[0]
        let (entries, metadata) = try SafeTensors.read(Data(seed), path: "optimizer.safetensors")
        XCTAssertEqual(try FuzzCampaign.replay(seed, target: target), .accepted)
        func edited(_ name: String, _ value: Float) throws -> [UInt8] {
            var copy = entries
            let index = try XCTUnwrap(copy.firstIndex { $0.name.hasSuffix(name) })
            copy[index].values[0] = value
            return [UInt8](try SafeTensors.encode(copy, metadata: metadata))
        }
        for (name, value, message) in [(".exp_avg_sq", Float(-1), "holds -1.0 at index 0; expected second moments ≥ 0"),
                                        (".exp_avg_sq", .nan, "holds nan at index 0; optimizer moments must be finite"),
                                        (".exp_avg", -.infinity, "holds -inf at index 0; optimizer moments must be finite")] {
            XCTAssertThrowsError(try FuzzCampaign.replay(try edited(name, value), target: target)) { error in
                XCTAssertTrue("\(error)".contains("optimizer.safetensors: tensor '") && "\(error)".contains(message), "\(error)")
            }
        }
        var negativeStep = metadata
        negativeStep["optimizer_step"] = "-1"
        XCTAssertThrowsError(try FuzzCampaign.replay([UInt8](try SafeTensors.encode(entries, metadata: negativeStep)), target: target)) {
            XCTAssertTrue("\($0)".contains("metadata 'optimizer_step' is '-1'"), "\($0)")
        }
    }

    /// Parameters that are not finite are refused on load, though the checksum agrees.
    func testCheckpointWithNaNParametersIsRefused() throws {
        var configuration = ModelConfiguration()
        (configuration.vocabularySize, configuration.maxLength, configuration.dim, configuration.depth) = (5, 4, 4, 1)
        (configuration.heads, configuration.mlpHidden, configuration.classes) = (1, 4, 2)
        let model = EncoderClassifier(configuration, seed: 1)
        model.arena.sharedValues[3] = .infinity
        var state = TrainingState()
        state.step = 1
        try Checkpoint.save(run: folder, arena: model.arena, optimizer: SGD(arena: model.arena), state: state, configurationJSON: "{}")
        let directory = "\(folder!)/checkpoints/step-00000001"
        XCTAssertNoThrow(try Checkpoint.verify(directory))
        XCTAssertThrowsError(try Checkpoint.load(from: directory, into: EncoderClassifier(configuration, seed: 2).arena)) { error in
            XCTAssertTrue("\(error)".contains("model.safetensors: tensor '"), "\(error)")
            XCTAssertTrue("\(error)".contains("holds inf at index "), "\(error)")
            XCTAssertTrue("\(error)".contains("a checkpoint's parameters and buffers must be finite"), "\(error)")
        }
    }
}
