import Datasets
import Foundation
import Training
import XCTest

/// Bad configs, data and checkpoints given to the real binary: each ends with a message
/// naming the problem and the exit code of its kind (2 config, 3 data, 4 checkpoint), never
/// a crash. The loaders' own messages are tested in DatasetsTests and TrainingTests.
final class BadInputTests: TrainingRunTestCase {
    // MARK: - Configs (exit 2)

    /// `tiny.yaml` with `old` replaced by `new`, written as `name`.
    func editedConfiguration(_ name: String, replacing old: String, with new: String) throws -> String {
        let text = try String(contentsOfFile: configuration, encoding: .utf8)
        XCTAssertTrue(text.contains(old), "tiny.yaml has no '\(old)'")
        let path = "\(folder!)/\(name)"
        try text.replacingOccurrences(of: old, with: new).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func trainWithConfiguration(_ path: String) throws -> ParsevalProcess.Outcome {
        try ParsevalProcess.run(["train", "--config", path, "--set", "output.directory=\(runFolder("bad"))"], in: folder)
    }

    func testWrongTypeNamesKeyAndLine() throws {
        let path = try editedConfiguration("type.yaml", replacing: "dim: 16", with: "dim: sixteen")
        assertExit(try trainWithConfiguration(path), 2, mentions: ["type.yaml:1", "'model.dim' expects a whole number"])
    }

    func testUnknownKeySuggestsTheNearestKey() throws {
        let path = try editedConfiguration("unknown.yaml", replacing: "learning_rate", with: "lerning_rate")
        assertExit(try trainWithConfiguration(path), 2, mentions: ["unknown.yaml:3", "unknown key 'lerning_rate'", "did you mean 'learning_rate'"])
    }

    func testImpossibleShapesAreConfigurationErrors() throws {
        assertExit(try train(run: "heads", ["model.heads=3"]), 2, mentions: ["model.dim 16 is not divisible by model.heads 3"])
        assertExit(try train(run: "length", ["data.sequence_length=128"]), 2,
                   mentions: ["data.sequence_length 128 exceeds model.max_length 64"])
    }

    /// Range errors through the binary: exit 2 naming the file and line (or the --set) and the
    /// key; a bad flag or flag value is exit 2 too (ArgumentParser's own code would be 64).
    func testOutOfRangeSettingsAndBadFlagsExitTwo() throws {
        let path = try editedConfiguration("range.yaml", replacing: "learning_rate: 0.001", with: "learning_rate: 9.2e18")
        assertExit(try trainWithConfiguration(path), 2, mentions: ["range.yaml:3", "optimizer.learning_rate must be 0 < value ≤ 100.0"])
        assertExit(try train(run: "smoothing", ["training.label_smoothing=1.0"]), 2,
                   mentions: ["--set training.label_smoothing=1.0", "training.label_smoothing must be 0.0 ≤ value < 1.0"])
        assertExit(try ParsevalProcess.run(["info", "--threads", "2147483648"], in: folder), 2, mentions: ["--threads must be 1 … 1024"])
        assertExit(try ParsevalProcess.run(["train", "--config", configuration, "--bogus"], in: folder), 2, mentions: ["--bogus"])
        assertExit(try ParsevalProcess.run(["config", "--set", "training.steps=1:30"], in: folder), 2,
                   mentions: ["'training.steps' expects a whole number, got '1:30'"])
        // Benchmark flags past the configuration's bounds were arithmetic traps (sizes multiplied
        // unchecked) or runs without end; each is refused before anything is allocated.
        for (flags, mention) in [(["step", "--sequence", "9223372036854775807"], "--sequence must be 1 … 16777216"),
                                 (["step", "--dim", "1048576", "--heads", "1", "--sequence", "1048576"], "do not fit in this machine"),
                                 (["mixers", "--features", "9223372036854775807"], "--features must be 0 … 65536"),
                                 (["step", "--repeats", "9223372036854775807"], "--repeats must be 1 … 10000")] {
            assertExit(try ParsevalProcess.run(["bench"] + flags, in: folder), 2, mentions: [mention])
        }
    }

    /// A run folder that cannot be made is a configuration error naming output.directory (it
    /// printed Foundation's NSCocoaErrorDomain text with exit 1).
    func testAnOutputDirectoryThatCannotBeMadeIsAConfigurationError() throws {
        let file = "\(folder!)/a-file"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data()))
        assertExit(try train(run: "unused", ["output.directory=\(file)/run"]), 2,
                   mentions: ["output.directory \(file)/run: cannot create the run folder"])
    }

    func testBatchThatDoesNotSplitOverTheRanksEndsTheJobWithExit2() throws {
        let outcome = try train(run: "ranks", ["training.batch_size=7"], ranks: 2)
        assertExit(outcome, 2, mentions: ["training.batch_size 7 is not divisible by 2 ranks"])
    }

    func testMalformedFaultSpecificationIsAConfigurationError() throws {
        assertExit(try train(run: "fault", fault: "step:two,kind:exit"), 2, mentions: ["PARSEVAL_FAULT"])
    }

    // MARK: - Data (exit 3)

    /// A copy of the ListOps data whose training file is `edit`ed; trains on it.
    func trainOnEditedListOps(_ edit: (inout [UInt8]) -> Void) throws -> ParsevalProcess.Outcome {
        let data = "\(folder!)/data-edited"
        try? FileManager.default.removeItem(atPath: data)
        try FileManager.default.copyItem(atPath: "\(folder!)/data", toPath: data)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(data)/basic_train.tsv")))
        edit(&bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: "\(data)/basic_train.tsv"))
        return try train(run: "data", ["data.directory=\(data)"])
    }

    /// An empty document, or a split with no examples, is a data error naming the file; with
    /// `data.skip_bad_examples` the empty document is skipped and the run goes on.
    func testEmptyDocumentsAndEmptySplitsAreDataErrors() throws {
        let text = "\(folder!)/aclImdb"
        for (split, count) in [("train", 8), ("test", 4)] {
            for (label, name) in ["neg", "pos"].enumerated() {
                let directory = "\(text)/\(split)/\(name)"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                for index in 0..<count {
                    try "\(label == 0 ? "dull" : "great") film number \(index)".write(toFile: "\(directory)/\(index)_1.txt", atomically: true, encoding: .utf8)
                }
            }
        }
        try Data().write(to: URL(fileURLWithPath: "\(text)/train/pos/3_1.txt"))
        let textSettings = ["data.task=text", "data.directory=\(text)", "model.vocabulary_size=257", "model.classes=2",
                            "training.steps=2", "training.batch_size=4"]
        assertExit(try train(run: "empty-document", textSettings), 3, mentions: ["train/pos/3_1.txt", "empty document"])
        assertExit(try train(run: "skipped-document", textSettings + ["data.skip_bad_examples=true"]), 0)

        let listops = "\(folder!)/empty-validation"
        try FileManager.default.copyItem(atPath: "\(folder!)/data", toPath: listops)
        try "Source\tTarget\n".write(toFile: "\(listops)/basic_val.tsv", atomically: true, encoding: .utf8)
        assertExit(try train(run: "empty-split", ["data.directory=\(listops)"]), 3,
                   mentions: ["basic_val.tsv", "the validation split has no examples"])
    }

    /// Sizes no machine holds are configuration errors that say what the run would need.
    func testARunThatCannotFitIsAConfigurationErrorWithTheEstimate() throws {
        // Within every key's range (SettingRules), beyond any machine: attention's 4·D² weights at
        // D = 10⁶ (the fuzzed case that aborted allocating 4 TB), and 16 M positions.
        for settings in [["model.dim=1000000", "model.heads=8"],
                         ["model.max_length=16000000", "data.sequence_length=16000000"]] {
            assertExit(try train(run: "huge", settings), 2, mentions: ["the run needs at least", "GB per rank", "this machine has"])
        }
        // Sizes past a key's range are refused by the range, naming it.
        assertExit(try train(run: "huge", ["model.dim=1000000000"]), 2, mentions: ["model.dim must be 1 … 1048576, got 1000000000"])
    }

    /// Image tasks read every pixel: a length that is not the image's pixel count, or a
    /// difficulty whose folder is absent, is an error rather than a silently cut image.
    func testImageSizeAndPathfinderDifficultyAreChecked() throws {
        let data = "\(folder!)/pathfinder32"
        assertExit(try ParsevalProcess.run(["generate", "pathfinder", "--size", "32", "--count", "20", "--out", data], in: folder), 0)
        let pathfinder = ["data.task=pathfinder", "data.directory=\(data)", "model.mixer=fftnet", "model.vocabulary_size=256",
                          "model.classes=2", "model.padding_index=-1", "training.batch_size=2", "training.steps=2"]
        assertExit(try train(run: "pathfinder", pathfinder + ["data.sequence_length=1024", "model.max_length=1024"]), 0)
        assertExit(try train(run: "path-x", pathfinder + ["data.sequence_length=4096", "model.max_length=4096"]), 3,
                   mentions: ["expected a 64×64 image, found 32×32"])
        assertExit(try train(run: "not-square", pathfinder + ["data.sequence_length=1000", "model.max_length=1000"]), 2,
                   mentions: ["must be a square"])
        assertExit(try train(run: "easy", pathfinder + ["data.sequence_length=1024", "model.max_length=1024", "data.difficulty=easy"]), 3,
                   mentions: ["curv_baseline/metadata"])
        assertExit(try train(run: "image", ["data.task=image", "model.vocabulary_size=0", "data.sequence_length=2048",
                                            "model.max_length=2048"]), 2,
                   mentions: ["data.sequence_length must be 1024"])
        // The base config's vocabulary (ListOps, 16 ids) cannot hold LRA Image's 256 pixel values.
        assertExit(try train(run: "image-vocabulary", ["data.task=image", "data.sequence_length=1024", "model.max_length=1024"]), 2,
                   mentions: ["model.vocabulary_size 16 is smaller than the image vocabulary (256)"])
    }

    /// Skipped examples are reported with file and line, and counted in metrics.jsonl.
    func testSkippedExamplesAreListedAndCounted() throws {
        let data = "\(folder!)/skipping"
        try FileManager.default.copyItem(atPath: "\(folder!)/data", toPath: data)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: "\(data)/basic_train.tsv"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("[MAX 1 2 ]\t12\n[MIN 3 ]\n".utf8))
        try handle.close()
        let outcome = try train(run: "skipping", ["data.directory=\(data)", "data.skip_bad_examples=true", "training.steps=4"])
        assertExit(outcome, 0, mentions: ["training split: skipped 2 bad examples (data.skip_bad_examples)",
                                          "basic_train.tsv:66: expected a Target in 0...9, found '12'", "basic_train.tsv:67"])
        let lines = try metrics(run: "skipping").split(separator: "\n")
        XCTAssertTrue(lines.filter { $0.contains(#""split":"train""#) }.allSatisfy { $0.contains(#""skipped_examples":2"#) })
        XCTAssertFalse(lines.filter { !$0.contains(#""split":"train""#) }.contains { $0.contains("skipped_examples") },
                       "the validation and test splits skipped nothing")
    }

    func testTruncatedTSVNamesFileAndLine() throws {
        let outcome = try trainOnEditedListOps { bytes in
            // Cut the last row (line 65: the header and 64 rows) before its tab.
            let lastRow = bytes.dropLast().lastIndex(of: UInt8(ascii: "\n"))! + 1
            bytes.removeSubrange((lastRow + 3)...)
        }
        assertExit(outcome, 3, mentions: ["basic_train.tsv:65: expected 2 tab-separated fields (Source, Target), found 1"])
    }

    func testWrongFieldCountOutOfRangeLabelAndNonUTF8AreDataErrors() throws {
        let rows: [([UInt8], String)] = [
            (Array("[MAX 1 2 ]\t3\textra\n".utf8), "basic_train.tsv:66: expected 2 tab-separated fields (Source, Target), found 3"),
            (Array("[MAX 1 2 ]\t12\n".utf8), "basic_train.tsv:66: expected a Target in 0...9, found '12'"),
            (Array("[MAX 1 ".utf8) + [0xFF, 0xFE] + Array(" ]\t2\n".utf8), "basic_train.tsv:66: unknown token"),
        ]
        for (row, message) in rows {
            assertExit(try trainOnEditedListOps { $0 += row }, 3, mentions: [message])
        }
    }

    /// A Pathfinder folder of 20 gray 8×8 images (LRA's layout), each image's bytes made by `image`.
    func trainOnPathfinder(_ image: (Int) throws -> [UInt8]) throws -> ParsevalProcess.Outcome {
        let root = "\(folder!)/pathfinder-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: "\(root)/imgs/0", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(root)/metadata", withIntermediateDirectories: true)
        var metadata = ""
        for index in 0..<20 {
            try Data(try image(index)).write(to: URL(fileURLWithPath: "\(root)/imgs/0/sample_\(index).png"))
            metadata += "imgs/0 sample_\(index).png \(index) \(index % 2) 0 0\n"
        }
        try metadata.write(toFile: "\(root)/metadata/0.npy", atomically: true, encoding: .utf8)
        return try train(run: "pathfinder", ["data.task=pathfinder", "data.directory=\(root)", "model.vocabulary_size=256",
                                             "model.classes=2", "model.padding_index=-1", "training.steps=2"])
    }

    func grayImage(_ index: Int) -> RasterImage {
        RasterImage(width: 8, height: 8, channels: 1, pixels: (0..<64).map { UInt8(($0 * 7 + index * 13) % 256) })
    }

    func pngBytes(_ index: Int) throws -> [UInt8] {
        let path = "\(folder!)/image-\(index).png"
        try PNGCodec.write(grayImage(index), to: path)
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    func testCorruptPNGAndJPEGImagesAreDataErrors() throws {
        assertExit(try trainOnPathfinder(pngBytes), 0)  // the folder is good as made
        assertExit(try trainOnPathfinder { Array(try pngBytes($0).prefix(60)) }, 3, mentions: ["sample_", "PNG"])
        assertExit(try trainOnPathfinder { Array(try JPEGCodec.encode(grayImage($0)).prefix(200)) }, 3, mentions: ["sample_", "JPEG"])
        assertExit(try trainOnPathfinder { _ in Array("not an image".utf8) }, 3, mentions: ["expected a JPEG or PNG image"])
    }

    // MARK: - Checkpoints (exit 4)

    /// A copy of a 2-step run with its checkpoint's model file `edit`ed, resumed to step 4.
    func resumeFromEditedCheckpoint(_ settings: [String] = [], removingManifest: Bool = false,
                                    _ edit: (inout [UInt8]) -> Void = { _ in }) throws -> ParsevalProcess.Outcome {
        let base = runFolder("base")
        if !FileManager.default.fileExists(atPath: base) {
            assertExit(try train(run: "base", ["training.steps=2"]), 0)
        }
        let run = "resumed-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: base, toPath: runFolder(run))
        let model = URL(fileURLWithPath: "\(runFolder(run))/checkpoints/step-00000002/model.safetensors")
        var bytes = [UInt8](try Data(contentsOf: model))
        edit(&bytes)
        try Data(bytes).write(to: model)
        if removingManifest { try FileManager.default.removeItem(atPath: "\(runFolder(run))/checkpoints/step-00000002/manifest.json") }
        return try train(run: run, ["training.steps=4"] + settings)
    }

    /// The run's only checkpoint damaged: exit 4 naming the file and the damage (the manifest
    /// catches any changed byte; without a manifest the parameter checksum and the parser do).
    func testDamagedCheckpointsAreCheckpointErrors() throws {
        assertExit(try resumeFromEditedCheckpoint(), 0, mentions: ["resumed from"])  // the copy itself resumes
        for damage in [{ (bytes: inout [UInt8]) in bytes.removeLast(bytes.count / 2) }, { $0[$0.count - 1] ^= 0x40 },
                       { $0 = Array($0.prefix(4)) }] {
            assertExit(try resumeFromEditedCheckpoint([], damage), 4,
                       mentions: ["no intact checkpoint", "model.safetensors does not match its manifest"])
        }
        assertExit(try resumeFromEditedCheckpoint(removingManifest: true) { $0.removeLast($0.count / 2) }, 4,
                   mentions: ["model.safetensors", "truncated"])
        assertExit(try resumeFromEditedCheckpoint(removingManifest: true) { $0[$0.count - 1] ^= 0x40 }, 4,
                   mentions: ["checksum mismatch"])
    }

    /// `checkpoint seal` refuses a negative step (it named a folder `step--0000001` that resumed
    /// at step −1) and weights holding NaN, naming the tensor, unless `--allow-nonfinite`.
    func testSealRefusesANegativeStepAndNonFiniteWeights() throws {
        assertExit(try train(run: "base", ["training.steps=2"]), 0)
        let path = "\(runFolder("base"))/checkpoints/step-00000002/model.safetensors"
        var (entries, _) = try SafeTensors.read(path)
        let weights = "\(folder!)/weights.safetensors"
        try SafeTensors.write(entries, metadata: [:], to: weights)
        func seal(_ extra: [String]) throws -> ParsevalProcess.Outcome {
            try ParsevalProcess.run(["checkpoint", "seal", "--config", configuration, "--weights", weights,
                                     "--run", runFolder("sealed-\(UUID().uuidString)")] + extra, in: folder)
        }
        assertExit(try seal(["--step", "3"]), 0, mentions: ["step-00000003"])
        let refused = try seal(["--step=-1"])
        XCTAssertNotEqual(refused.exitCode, 0, refused.summary)
        XCTAssertTrue(refused.output.contains("--step must be in 0..."), refused.summary)
        entries[0].values[1] = .nan
        try SafeTensors.write(entries, metadata: [:], to: weights)
        let nonFinite = try seal([])
        XCTAssertNotEqual(nonFinite.exitCode, 0, nonFinite.summary)
        XCTAssertTrue(nonFinite.output.contains("\(weights): tensor '\(entries[0].name)' holds nan at index 1"), nonFinite.summary)
        assertExit(try seal(["--allow-nonfinite"]), 0, mentions: ["sealed"])
    }

    /// Resuming with another model is refused from the checkpoint's saved config (exit 2); a
    /// checkpoint loaded into another model by `eval` fails on the tensors' names and shapes.
    func testCheckpointOfAnotherShapeOrModelIsAnError() throws {
        assertExit(try resumeFromEditedCheckpoint(["model.mlp_hidden=48"]), 2, mentions: ["model.mlp_hidden 32 → 48"])
        let checkpoint = "\(runFolder("base"))/checkpoints/step-00000002"
        for (setting, message) in [("model.mlp_hidden=48", "has shape [32, 16], this model needs [48, 16]"),
                                   ("model.depth=2", "another model's checkpoint")] {
            let eval = try ParsevalProcess.run(["eval", "--run", runFolder("base"), "--checkpoint", checkpoint,
                                                "--set", setting], in: folder)
            assertExit(eval, 4, mentions: [message])
        }
    }
}
