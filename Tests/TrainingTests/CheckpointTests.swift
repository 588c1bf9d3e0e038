import Foundation
import Layers
import Models
import Optimizers
import Parameters
import TensorCore
import Training
import XCTest

final class CheckpointTests: XCTestCase {
    var run: String!

    override func setUp() {
        run = FileManager.default.temporaryDirectory.appendingPathComponent("parseval-ckpt-\(UUID().uuidString)").path
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: run) }

    func tinyModel(seed: UInt64, dim: Int = 8) -> EncoderClassifier {
        var c = ModelConfiguration()
        c.vocabularySize = 7
        c.maxLength = 4
        c.dim = dim
        c.depth = 1
        c.heads = 2
        c.mlpHidden = 16
        c.classes = 2
        return EncoderClassifier(c, seed: seed)
    }

    func values(_ arena: ParameterArena) -> [Float] {
        Array(UnsafeBufferPointer(start: arena.values.pointer, count: arena.values.count))
    }

    func saveTrainedCheckpoint(step: Int = 3) throws -> (EncoderClassifier, AdamW, TrainingState) {
        let model = tinyModel(seed: 1)
        let adam = AdamW(arena: model.arena)
        for i in 0..<model.arena.gradients.count { model.arena.gradients.pointer[i] = Float(i % 13) * 0.01 }
        adam.step(learningRate: 0.01)
        var state = TrainingState()
        state.step = step
        state.epoch = 2
        state.batchInEpoch = 5
        try Checkpoint.save(run: run, arena: model.arena, optimizer: adam, state: state, configurationJSON: "{}")
        return (model, adam, state)
    }

    func testRoundTripRestoresParametersOptimizerAndStateExactly() throws {
        let (model, adam, state) = try saveTrainedCheckpoint()
        let restored = tinyModel(seed: 99)
        let restoredAdam = AdamW(arena: restored.arena)
        let directory = try XCTUnwrap(try Checkpoint.resolve(run: run))
        let loaded = try Checkpoint.load(from: directory, into: restored.arena, optimizer: restoredAdam)
        XCTAssertEqual(loaded, state)
        XCTAssertEqual(values(restored.arena).map(\.bitPattern), values(model.arena).map(\.bitPattern))
        XCTAssertEqual(restoredAdam.stepCount, adam.stepCount)
        for (a, b) in [(adam.firstMoment, restoredAdam.firstMoment), (adam.secondMoment, restoredAdam.secondMoment)] {
            XCTAssertEqual(Array(UnsafeBufferPointer(start: a.pointer, count: a.count)),
                           Array(UnsafeBufferPointer(start: b.pointer, count: b.count)))
        }
        XCTAssertEqual(parameterChecksum(restored.arena), parameterChecksum(model.arena))
    }

    /// The same state saved into two run folders gives the same bytes: the metadata's JSON has
    /// sorted keys and the configuration leaves out `output.directory`, the folder written to.
    func testTheSameStateSavedInTwoFoldersGivesIdenticalFilesNamingNoFolder() throws {
        let model = tinyModel(seed: 1)
        let adam = AdamW(arena: model.arena)
        var state = TrainingState()
        (state.step, state.epoch, state.batchInEpoch) = (3, 2, 5)
        state.window = MetricsWindow()
        state.window?.loss = 1.25
        var bytes: [[Data]] = []
        for name in ["a", "b"] {
            let folder = "\(run!)/\(name)"
            var configuration = TrainingConfiguration()
            configuration.output.directory = folder
            try Checkpoint.save(run: folder, arena: model.arena, optimizer: adam, state: state,
                                configurationJSON: try ConfigurationLoader.encode(configuration))
            let step = "\(Checkpoint.folder(run: folder))/step-00000003"
            bytes.append(try ["model.safetensors", "optimizer.safetensors", "manifest.json"].map {
                try Data(contentsOf: URL(fileURLWithPath: "\(step)/\($0)"))
            })
            let metadata = try SafeTensors.read("\(step)/model.safetensors").metadata
            XCTAssertFalse(try XCTUnwrap(metadata["config"]).contains(folder), "the checkpoint names its folder")
            XCTAssertTrue(try XCTUnwrap(metadata["config"]).contains("\"model\""), "the configuration is kept")
            let stateJSON = Data(try XCTUnwrap(metadata["state"]).utf8)
            let sorted = try JSONSerialization.data(withJSONObject: try JSONSerialization.jsonObject(with: stateJSON), options: .sortedKeys)
            XCTAssertEqual(String(decoding: stateJSON, as: UTF8.self), String(decoding: sorted, as: UTF8.self), "state keys are sorted")
        }
        XCTAssertEqual(bytes[0], bytes[1])
    }

    func testFileIsSafetensorsWithPyTorchNames() throws {
        _ = try saveTrainedCheckpoint()
        let path = try XCTUnwrap(try Checkpoint.resolve(run: run)) + "/model.safetensors"
        let data = try XCTUnwrap(FileManager.default.contents(atPath: path))
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(headerLength % 8, 0, "header padded to 8 bytes")
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: data[8..<8 + headerLength]) as? [String: Any])
        let weight = try XCTUnwrap(header["blocks.0.mlp.fc1.weight"] as? [String: Any])
        XCTAssertEqual(weight["dtype"] as? String, "F32")
        XCTAssertEqual(weight["shape"] as? [Int], [16, 8], "Linear weights are stored [out, in]")
        XCTAssertNotNil((header["__metadata__"] as? [String: String])?["checksum"])
    }

    func testTruncatedAndCorruptedFilesAreNamed() throws {
        _ = try saveTrainedCheckpoint()
        let directory = try XCTUnwrap(try Checkpoint.resolve(run: run))
        let path = directory + "/model.safetensors"
        let original = try XCTUnwrap(FileManager.default.contents(atPath: path))

        try original.prefix(original.count - 10).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Checkpoint.load(from: directory, into: tinyModel(seed: 2).arena)) {
            XCTAssertTrue("\($0)".contains("model.safetensors"), "\($0)")
            XCTAssertTrue("\($0)".contains("truncated") || "\($0)".contains("cover"), "\($0)")
        }
        var flipped = original
        flipped[flipped.count - 5] ^= 0x40
        try flipped.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Checkpoint.load(from: directory, into: tinyModel(seed: 2).arena)) {
            XCTAssertTrue("\($0)".contains("checksum mismatch"), "\($0)")
        }
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Checkpoint.load(from: directory, into: tinyModel(seed: 2).arena)) {
            XCTAssertTrue("\($0)".contains("truncated"), "\($0)")
        }
    }

    func testAnotherModelsCheckpointIsRejectedByName() throws {
        _ = try saveTrainedCheckpoint()
        let directory = try XCTUnwrap(try Checkpoint.resolve(run: run))
        XCTAssertThrowsError(try Checkpoint.load(from: directory, into: tinyModel(seed: 2, dim: 4).arena)) {
            XCTAssertTrue("\($0)".contains("has shape"), "\($0)")
        }
        let arena = ParameterArena()
        _ = arena.register("something.else", shape: [3], initializer: .zeros, weightDecay: false)
        arena.allocate(seed: 0)
        XCTAssertThrowsError(try Checkpoint.load(from: directory, into: arena)) {
            XCTAssertTrue("\($0)".contains("which this model does not"), "\($0)")
        }
    }

    func testPruningKeepsTheNewestAndTheBest() throws {
        let model = tinyModel(seed: 1)
        let adam = AdamW(arena: model.arena)
        for step in [10, 20, 30, 40] {
            var state = TrainingState()
            state.step = step
            try Checkpoint.save(run: run, arena: model.arena, optimizer: adam, state: state,
                                configurationJSON: "{}", isBest: step == 20)
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: Checkpoint.folder(run: run))
            .filter { $0.hasPrefix("step-") }.sorted()
        XCTAssertEqual(names, ["step-00000020", "step-00000030", "step-00000040"])
        XCTAssertEqual(try Checkpoint.resolve(run: run).map { ($0 as NSString).lastPathComponent }, "step-00000040")
        XCTAssertEqual(try Checkpoint.resolve(run: run, pointer: "best").map { ($0 as NSString).lastPathComponent }, "step-00000020")
        XCTAssertNil(try Checkpoint.resolve(run: run + "-none"))
    }

    /// A writer killed mid-checkpoint leaves `.NAME.tmp-PID` in its step folder; saving that
    /// step again (the resumed run reaching it) removes them and keeps the real files.
    func testSavingAStepAgainRemovesAKilledWritersTemporaryFiles() throws {
        let folder = "\(Checkpoint.folder(run: run))/step-00000003"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for stale in [".model.safetensors.tmp-4242", ".optimizer.safetensors.tmp-4242"] {
            XCTAssertTrue(FileManager.default.createFile(atPath: "\(folder)/\(stale)", contents: Data([1, 2, 3])))
        }
        _ = try saveTrainedCheckpoint(step: 3)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        XCTAssertEqual(names, ["manifest.json", "model.safetensors", "optimizer.safetensors"])
    }
}

/// Checkpoints are fp32 whatever `training.precision` was: a model trained with bf16 products
/// loads into an fp32 run bit for bit, and the other way round.
extension CheckpointTests {
    func testCheckpointsMoveBetweenPrecisions() throws {
        guard case .available = Matmul.bf16Support else {
            if case .unavailable(let reason) = Matmul.bf16Support { throw XCTSkip("bf16: \(reason)") }
            return
        }
        let tokens: [Int32] = [1, 2, 3, 4, 5, 6, 1, 0, 3, 3, 2, 1], labels: [Int32] = [0, 1, 1]
        let mask = Tensor(shape: [3, 4], values: [1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1])
        func logits(_ model: EncoderClassifier) -> [Float] {
            model.forward(tokens: tokens, mask: mask, batch: 3, length: 4, context: ForwardContext(training: false)).scalars
        }
        for (trained, loaded) in [(MatmulPrecision.bf16, MatmulPrecision.fp32), (.fp32, .bf16)] {
            try? FileManager.default.removeItem(atPath: run)
            let model = tinyModel(seed: 3, dim: 16)
            let adam = AdamW(arena: model.arena)
            let loss = SoftmaxCrossEntropy()
            Matmul.withPrecision(trained) {
                for _ in 0..<5 {
                    model.arena.zeroGradients()
                    _ = loss.forward(logits: model.forward(tokens: tokens, mask: mask, batch: 3, length: 4,
                                                           context: ForwardContext(training: false)), labels: labels)
                    model.backward(loss.backward())
                    adam.step(learningRate: 1e-2)
                }
            }
            try Checkpoint.save(run: run, arena: model.arena, optimizer: adam, state: TrainingState(), configurationJSON: "{}")
            let restored = tinyModel(seed: 77, dim: 16)
            _ = try Checkpoint.load(from: XCTUnwrap(Checkpoint.resolve(run: run)), into: restored.arena, optimizer: AdamW(arena: restored.arena))
            XCTAssertEqual(values(restored.arena).map(\.bitPattern), values(model.arena).map(\.bitPattern),
                           "trained in \(trained): the checkpoint holds the fp32 master weights")
            let original = Matmul.withPrecision(loaded) { logits(model) }
            let moved = Matmul.withPrecision(loaded) { logits(restored) }
            XCTAssertEqual(moved.map(\.bitPattern), original.map(\.bitPattern), "trained in \(trained), evaluated in \(loaded)")
            let other = Matmul.withPrecision(trained) { logits(restored) }
            for (x, y) in zip(moved, other) { XCTAssertEqual(x, y, accuracy: 5e-2 * max(1, abs(x))) }
        }
    }
}

/// safetensors files made elsewhere: F16 and BF16 tensors widen exactly; F64 is refused by name.
final class SafeTensorsDTypeTests: XCTestCase {
    func file(_ dtype: String, _ payload: [UInt8], count: Int) throws -> String {
        let header = #"{"w":{"dtype":"\#(dtype)","shape":[\#(count)],"data_offsets":[0,\#(payload.count)]}}"#
        var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian, Array.init)
        bytes += Array(header.utf8) + payload
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dtype-\(UUID().uuidString).safetensors").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testHalfAndBFloat16TensorsAreWidenedExactlyAndFloat64IsRefused() throws {
        let values: [Float] = [1, -2.5, 0.0999755859375, 65504]
        let half = values.flatMap { withUnsafeBytes(of: Float16($0).bitPattern.littleEndian, Array.init) }
        XCTAssertEqual(try SafeTensors.read(file("F16", half, count: 4)).entries[0].values, values)
        let brain: [Float] = [1, -2.5, 3.140625, -0.0]
        let bfloat = brain.flatMap { withUnsafeBytes(of: UInt16($0.bitPattern >> 16).littleEndian, Array.init) }
        let read = try SafeTensors.read(file("BF16", bfloat, count: 4)).entries[0].values
        XCTAssertEqual(read.map(\.bitPattern), brain.map(\.bitPattern))
        XCTAssertThrowsError(try SafeTensors.read(file("F16", Array(half.prefix(6)), count: 4)))  // 6 bytes for 4 values
        let double = [Double](repeating: 1, count: 2).flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        XCTAssertThrowsError(try SafeTensors.read(file("F64", double, count: 2))) { error in
            XCTAssertTrue("\(error)".contains("dtype F64 is not read (F32, F16 and BF16 are)") && "\(error)".contains("float32"), "\(error)")
        }
    }
}

/// Checkpoints across tools: foreign weights sealed in, random features carried.
extension CheckpointTests {
    /// Weights written by another tool — here as `safetensors.torch.save_file` writes them: no
    /// Parseval metadata, tensors in another order, some in BF16 — are refused by a plain load
    /// with a pointer to `seal`, and sealed into a checkpoint that loads to the same parameters.
    func testForeignWeightsAreSealedIntoACheckpoint() throws {
        let model = tinyModel(seed: 4)
        var entries = model.arena.entries.map { entry in
            SafeTensors.Entry(name: entry.name, shape: entry.shape,
                              values: Array(UnsafeBufferPointer(start: model.arena.values.pointer + entry.offset, count: entry.count)))
        }
        entries.reverse()
        let foreign = "\(run!)/exported"
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
        try SafeTensors.write(entries, metadata: [:], to: "\(foreign)/model.safetensors")
        XCTAssertThrowsError(try Checkpoint.load(from: foreign, into: tinyModel(seed: 5).arena)) { error in
            XCTAssertTrue("\(error)".contains("parseval checkpoint seal"), "\(error)")
        }
        let sealedModel = tinyModel(seed: 6)
        let directory = try Checkpoint.seal(weights: "\(foreign)/model.safetensors", model: sealedModel.arena,
                                            optimizer: AdamW(arena: sealedModel.arena), run: "\(run!)/sealed", step: 40,
                                            configurationJSON: "{}")
        XCTAssertTrue(directory.hasSuffix("step-00000040"))
        let reloaded = tinyModel(seed: 7)
        let state = try Checkpoint.load(from: directory, into: reloaded.arena, optimizer: AdamW(arena: reloaded.arena))
        XCTAssertEqual(state.step, 40)
        XCTAssertEqual(values(reloaded.arena).map(\.bitPattern), values(model.arena).map(\.bitPattern))
        XCTAssertEqual(try Checkpoint.resolve(run: "\(run!)/sealed", pointer: "best"), directory)
        // A missing parameter is named.
        try SafeTensors.write(Array(entries.dropFirst()), metadata: [:], to: "\(foreign)/partial.safetensors")
        XCTAssertThrowsError(try Checkpoint.seal(weights: "\(foreign)/partial.safetensors", model: reloaded.arena,
                                                 optimizer: AdamW(arena: reloaded.arena), run: "\(run!)/partial", step: 0,
                                                 configurationJSON: "{}")) { error in
            XCTAssertTrue("\(error)".contains("lacks parameter '\(entries[0].name)'"), "\(error)")
        }
    }

    /// Kernelized attention's random features travel in the checkpoint: a model built from
    /// another seed loads them and computes the same logits.
    func testRandomFeaturesAreStoredAndRestored() throws {
        func kernelized(seed: UInt64) -> EncoderClassifier {
            var c = ModelConfiguration()
            c.mixer = .kernelizedRPE
            (c.vocabularySize, c.maxLength, c.dim, c.depth, c.heads, c.mlpHidden, c.classes) = (7, 6, 8, 2, 2, 16, 3)
            c.randomFeatures = 4
            c.featureRedrawInterval = 5
            return EncoderClassifier(c, seed: seed)
        }
        let model = kernelized(seed: 1)
        XCTAssertEqual(model.arena.buffers.map(\.name), ["blocks.0.mixer.features", "blocks.1.mixer.features"])
        let tokens: [Int32] = [1, 2, 3, 4, 5, 6, 2, 3, 0, 0, 0, 0]
        let mask = Tensor(shape: [2, 6], values: tokens.map { $0 == 0 ? 0 : 1 })
        // The forward of step 11 (0-based, the twelfth) uses draw 11 / 5 = 2; saved after it, at step 12.
        let context = ForwardContext(training: false, step: 11)
        let expected = model.forward(tokens: tokens, mask: mask, batch: 2, length: 6, context: context).scalars
        var state = TrainingState()
        state.step = 12
        try Checkpoint.save(run: run, arena: model.arena, optimizer: AdamW(arena: model.arena), state: state, configurationJSON: "{}")
        let directory = try XCTUnwrap(try Checkpoint.resolve(run: run))
        let names = try SafeTensors.read("\(directory)/model.safetensors").entries.map(\.name)
        XCTAssertTrue(names.contains("blocks.1.mixer.features"))
        let other = kernelized(seed: 2)
        XCTAssertNotEqual(other.arena.buffers[0].read(), model.arena.buffers[0].read())
        try Checkpoint.load(from: directory, into: other.arena)
        for (a, b) in zip(other.arena.buffers, model.arena.buffers) { XCTAssertEqual(a.read(), b.read(), a.name) }
        // The loaded draw is used as it is, not redrawn, and gives the same logits.
        XCTAssertEqual(other.forward(tokens: tokens, mask: mask, batch: 2, length: 6, context: context).scalars, expected)
    }
}
