import Datasets
import Foundation
import Models
import Optimizers
import Parameters
import TensorCore

/// What a parser did with an input it did not refuse.
public enum FuzzVerdict: Equatable, Sendable {
    case accepted
    /// It accepted numbers it must refuse (a NaN weight, a negative second moment): a finding.
    case nonFiniteAccepted(String)
}

/// One parser of outside input, as the fuzzer drives it: its seed inputs, its dictionary, and
/// a runner that parses one input (throwing is the parser refusing it, which is fine; a trap or
/// a hang is a finding, and so is `nonFiniteAccepted`). `parseval fuzz --list` lists them.
public struct FuzzTarget: Sendable {
    public typealias Runner = ([UInt8]) throws -> FuzzVerdict

    public let name: String
    public let summary: String
    /// Inputs in the bounded run of the test suite (`FuzzTests`): fewer for the slower parsers.
    public let testRuns: Int
    public let structure: FuzzStructure
    /// Built-in dictionary (the committed `Tests/Fixtures/fuzz/NAME.dict` adds to it).
    public let tokens: [[UInt8]]
    /// Built-in seed inputs: small valid files (the committed corpus holds the same and more).
    public let seeds: @Sendable () throws -> [[UInt8]]
    /// Prepares what the parser needs in `workspace` (a private folder) and returns the runner.
    public let makeRunner: @Sendable (_ workspace: String) throws -> Runner

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }

    public static let all: [FuzzTarget] = [
        config, overrides, listOps, text, retrieval, cifar10, safeTensors, seal, manifest, trainingState, optimizerState,
        npy, pathfinderMetadata, png, jpeg,
    ]
}

// MARK: - Configuration

extension FuzzTarget {
    static let yamlTokens = ["\n", ":", ": ", "- ", "{", "}", "[", "]", "&a ", "*a", "!!int ", "!!map ", "!!str ", "!!float ", "'", "\"",
                             "#", "\t", "  ", "model", "dim", "training", "data", "task", "steps", "batch_size", "sequence_length",
                             "parallel", "seq_parallel", "threads", "optimizer", "schedule", "null", "~", "? ", "|\n", ">\n",
                             "<<: *a\n", "\u{FEFF}", "true", "[[[[[[[[", "{a: {b: {c: ", "%YAML 1.2\n---\n", "...\n"]
        .map { Array($0.utf8) } + FuzzMutator.numbers

    static let configSeeds = [
        """
        model: {vocabulary_size: 16, max_length: 64, dim: 16, depth: 1, heads: 2, mlp_hidden: 32, dropout: 0.1, classes: 10}
        data: {task: listops, directory: DATA, sequence_length: 64}
        optimizer: {name: adamw, learning_rate: 0.001, gradient_clip: 1.0}
        schedule: {kind: cosine, warmup_steps: 2}
        training: {steps: 30, batch_size: 8, eval_every: 0, checkpoint_every: 4, log_every: 1, seed: 5}
        output: {directory: runs/default}
        parallel:
          threads: 1
          stall_warning_seconds: 60

        """,
        """
        # Pathfinder-32 with FFTNet
        model:
          mixer: fftnet
          dim: 32
          depth: 2
          heads: 4
          mlp_hidden: 64
          max_length: 1024
          padding_index: -1
        data:
          task: pathfinder
          directory: data/pathfinder32
          sequence_length: 1024
        training:
          steps: 100
          batch_size: 16
          on_nonfinite: skip

        """,
        "data: {task: cifar10, directory: data/cifar}\nmodel: {patch_size: 4, max_length: 64, dim: 32}\n",
        "model: &m {dim: 8}\ntraining: {steps: 1}\n",
    ]

    /// `ConfigurationLoader.load` on a YAML file, then `validate()`.
    static let config = FuzzTarget(
        name: "config", summary: "YAML config: ConfigurationLoader.load(path:) then validate()", testRuns: 2000,
        structure: .none, tokens: yamlTokens, seeds: { configSeeds.map { Array($0.utf8) } },
        makeRunner: { workspace in
            let path = "\(workspace)/config.yaml"
            return { input in
                try FuzzFiles.write(input, to: path)
                try ConfigurationLoader.load(path: path).validate()
                return .accepted
            }
        })

    /// `--set key.path=value` overrides, one per line, over the defaults, then `validate()`.
    static let overrides = FuzzTarget(
        name: "set", summary: "--set overrides (one per line): ConfigurationLoader.load(path: nil, overrides:) then validate()",
        testRuns: 2000, structure: .none,
        tokens: yamlTokens + ["=", ".", "model.dim=", "data.task=", "training.steps=", "model.mixer=", "parallel.seq_parallel=",
                              "training.batch_size=", "data.sequence_length=", "model.max_length="].map { Array($0.utf8) },
        seeds: {
            ["model.dim=16\ntraining.steps=3", "data.task=text\nmodel.vocabulary_size=257\nmodel.classes=2",
             "model.mixer=fftnet\nmodel.max_length=64\ndata.sequence_length=64", "training.batch_size=8\nparallel.threads=1",
             "data.mean=[0.5, 0.5, 0.5]\nmodel.heads=4", "optimizer.learning_rate=1e-3\nschedule.kind=cosine"].map { Array($0.utf8) }
        },
        makeRunner: { _ in
            { input in
                let overrides = String(decoding: input, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                try ConfigurationLoader.load(path: nil, overrides: overrides).validate()
                return .accepted
            }
        })
}

// MARK: - Datasets

extension FuzzTarget {
    static let textTokens = ["\t", "\n", "\r\n", "\r", "[MAX", "[MIN", "[MED", "[SM", "]", "(", ")", "X", "10", "-1", "1.5", "1.0", "1e9",
                             "nan", "\u{0}", "\u{FFFD}", "Source\tTarget\n"].map { Array($0.utf8) } + [[0xFF], [0xC3], [0xED, 0xA0, 0x80]]

    /// LRA ListOps TSV (`ListOpsLoader`), with and without skipping bad rows.
    static let listOps = FuzzTarget(
        name: "listops", summary: "ListOps TSV: ListOpsLoader.load", testRuns: 5000, structure: .none, tokens: textTokens,
        seeds: {
            ["Source\tTarget\n( ( [MAX 2 9 ) 4 )\t9\n( [SM 1 ( [MIN 3 5 ) ] )\t4\r\n[MED 1 2 3 ]\t2\n",
             "Source\tTarget\r\n[MIN 4 [MAX 1 2 ] 0 ]\t0\r\n", "Source\tTarget\n"].map { Array($0.utf8) }
        },
        makeRunner: { _ in
            { input in
                _ = try ListOpsLoader.load(bytes: input, file: "fuzz.tsv", maxLength: input.count % 3 == 0 ? 4 : 2000,
                                           skipBadExamples: input.count % 2 == 0)
                return .accepted
            }
        })

    /// A Text (IMDB) document: its bytes as tokens (`TextClassificationLoader`).
    static let text = FuzzTarget(
        name: "text", summary: "Text document: TextClassificationLoader.document", testRuns: 5000, structure: .none, tokens: textTokens,
        seeds: { ["a dull film, and long\n", "great\r\nfilm \u{00E9}\u{00E8}", "x"].map { Array($0.utf8) } },
        makeRunner: { _ in
            { input in
                _ = try TextClassificationLoader.document(input, file: "fuzz.txt", label: 1, maxLength: input.count % 2 == 0 ? 8 : 4096)
                return .accepted
            }
        })

    /// LRA Retrieval pairs (`RetrievalLoader`).
    static let retrieval = FuzzTarget(
        name: "retrieval", summary: "Retrieval TSV pairs: RetrievalLoader.load", testRuns: 5000, structure: .none, tokens: textTokens,
        seeds: {
            ["1\ta\tb\tfirst text\tsecond\n0\tc\td\tx\ty\n", "1.0\tid1\tid2\tsome text\tother text\r\n",
             "0\t\t\ta\tb"].map { Array($0.utf8) }
        },
        makeRunner: { _ in
            { input in
                _ = try RetrievalLoader.load(bytes: input, file: "fuzz.tsv", maxLength: input.count % 2 == 0 ? 8 : 4000,
                                             skipBadExamples: input.count % 3 == 0)
                return .accepted
            }
        })

    /// CIFAR-10 binary records (`CIFAR10Loader`), both encodings.
    static let cifar10 = FuzzTarget(
        name: "cifar10", summary: "CIFAR-10 binary records: CIFAR10Loader.load", testRuns: 2000, structure: .none,
        tokens: [[0], [9], [10], [255]],
        seeds: {
            var random = FuzzRandom(seed: 10)
            return [1, 2].map { count in
                (0..<count).flatMap { record in [UInt8(record * 7 % 10)] + (0..<3072).map { _ in random.byte() } }
            }
        },
        makeRunner: { _ in
            { input in
                let encoding: CIFAR10Loader.Encoding = input.count % 2 == 0
                    ? .grayscaleTokens : .rgb(mean: CIFAR10Loader.mean, standardDeviation: CIFAR10Loader.standardDeviation)
                let loaded = try CIFAR10Loader.load(bytes: input, file: "fuzz.bin", encoding: encoding, skipBadExamples: input.count % 3 == 0)
                var random = RandomStream(seed: 0)
                for index in 0..<loaded.count {
                    let example = try loaded.example(at: index, random: &random)
                    if let image = example.image, let value = image.withUnsafeBufferPointer({ $0.first { !$0.isFinite } }) {
                        return .nonFiniteAccepted("pixel value \(value) in example \(index)")
                    }
                }
                return .accepted
            }
        })

    /// Pathfinder's `.npy` string arrays (`NPYStrings`).
    static let npy = FuzzTarget(
        name: "npy", summary: "Pathfinder metadata .npy header and strings: NPYStrings.rows", testRuns: 5000,
        structure: .lengthPrefixed(offset: 8, width: 2, start: 10), tokens: npyTokens, seeds: { npySeeds() },
        makeRunner: { _ in
            { input in
                _ = try NPYStrings.rows(input, file: "fuzz.npy")
                return .accepted
            }
        })

    static let npyTokens = ["'descr': ", "'<U", "'|S", "'<U9223372036854775807'", "'|O'", "'fortran_order': False", "True",
                            "'shape': ", "(4611686018427387904, 11)", "(0, 0)", "(-1, 2)", "(3,)", "(1, 2, 3)", "{", "}", ",", ")"]
        .map { Array($0.utf8) } + [NPYStrings.magic, [1, 0], [2, 0], [3, 0]] + FuzzMutator.numbers

    /// Metadata rows as snakes2.py writes them, in `<U` and `|S` arrays, and an empty one.
    static func npySeeds() -> [[UInt8]] {
        let rows = (0..<4).map { ["imgs/0", "sample_\($0).png", "\($0)", "\($0 % 2)", "0", "0"] }
        return [npyBytes(rows, unicode: true), npyBytes(rows, unicode: false), npyBytes([], unicode: true)]
    }

    static func npyBytes(_ rows: [[String]], unicode: Bool) -> [UInt8] {
        let width = max(1, rows.flatMap { $0 }.map(\.utf8.count).max() ?? 1)
        let columns = rows.first?.count ?? 6
        var header = "{'descr': '\(unicode ? "<U" : "|S")\(width)', 'fortran_order': False, 'shape': (\(rows.count), \(columns)), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes = NPYStrings.magic + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)] + Array(header.utf8)
        for field in rows.flatMap({ $0 }) {
            let padded = Array(field.utf8) + [UInt8](repeating: 0, count: width - field.utf8.count)
            bytes += unicode ? padded.flatMap { [$0, 0, 0, 0] } : padded
        }
        return bytes
    }

    /// A Pathfinder folder's metadata file (text lines or `.npy`), read by `PathfinderDataset`,
    /// whose first image is then decoded.
    static let pathfinderMetadata = FuzzTarget(
        name: "pathfinder-metadata", summary: "Pathfinder metadata/0.npy (text or NumPy): PathfinderDataset(root:)", testRuns: 3000,
        structure: .none, tokens: npyTokens + textTokens + ["imgs/0 ", "sample_0.png ", "../", "/"].map { Array($0.utf8) },
        seeds: {
            npySeeds() + [Array((0..<4).map { "imgs/0 sample_\($0).png \($0) \($0 % 2) 0 0\n" }.joined().utf8)]
        },
        makeRunner: { workspace in
            let root = "\(workspace)/pathfinder"
            try FileManager.default.createDirectory(atPath: "\(root)/metadata", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: "\(root)/imgs/0", withIntermediateDirectories: true)
            for index in 0..<4 {
                try PNGCodec.write(RasterImage(width: 4, height: 4, channels: 1, pixels: (0..<16).map { UInt8($0 * 16 + index) }),
                                   to: "\(root)/imgs/0/sample_\(index).png")
            }
            return { input in
                try FuzzFiles.write(input, to: "\(root)/metadata/0.npy")
                let dataset = try PathfinderDataset(root: root, split: .all, size: input.count % 2 == 0 ? 4 : nil,
                                                    skipBadExamples: input.count % 3 == 0)
                if dataset.count > 0 {
                    var random = RandomStream(seed: 0)
                    _ = try dataset.example(at: 0, random: &random)
                }
                return .accepted
            }
        })
}

// MARK: - Images

extension FuzzTarget {
    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    static let jpegSignature: [UInt8] = [0xFF, 0xD8, 0xFF]

    static func seedImages() -> [RasterImage] {
        [RasterImage(width: 12, height: 10, channels: 3, pixels: (0..<360).map { UInt8($0 * 37 % 256) }),
         RasterImage(width: 8, height: 8, channels: 1, pixels: (0..<64).map { UInt8($0 * 7 % 256) }),
         RasterImage(width: 1, height: 1, channels: 1, pixels: [200])]
    }

    static func decodeImage(_ input: [UInt8]) throws -> FuzzVerdict {
        let image = try RasterImage.decode(input, channels: input.count % 2 == 0 ? 1 : 3, name: "fuzz-image")
        precondition(image.pixels.count == image.width * image.height * image.channels)
        return .accepted
    }

    /// PNG through `RasterImage.decode` (libpng's simplified API).
    static let png = FuzzTarget(
        name: "png", summary: "PNG: RasterImage.decode", testRuns: 5000, structure: .signature(pngSignature),
        tokens: ["IHDR", "IDAT", "IEND", "PLTE", "tRNS", "gAMA", "iCCP", "sBIT"].map { Array($0.utf8) } + [[0, 0, 0, 0], [0xFF, 0xFF, 0xFF, 0xFF]],
        seeds: {
            let folder = FuzzFiles.temporaryFolder()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            return try seedImages().enumerated().map { index, image in
                try PNGCodec.write(image, to: "\(folder)/\(index).png")
                return [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(index).png")))
            }
        },
        makeRunner: { _ in decodeImage })

    /// JPEG through `RasterImage.decode` (libjpeg-turbo, `CJPEGDecoding`).
    static let jpeg = FuzzTarget(
        name: "jpeg", summary: "JPEG: RasterImage.decode", testRuns: 5000, structure: .signature(jpegSignature),
        tokens: [[0xFF, 0xC0], [0xFF, 0xC2], [0xFF, 0xC4], [0xFF, 0xDA], [0xFF, 0xDB], [0xFF, 0xD9], [0xFF, 0xDD], [0xFF, 0xE0], [0xFF, 0xFE],
                 [0, 0], [0xFF, 0xFF]],
        seeds: { try seedImages().enumerated().map { try JPEGCodec.encode($1, quality: [80, 95, 20][$0]) } },
        makeRunner: { _ in decodeImage })
}

// MARK: - Checkpoints

extension FuzzTarget {
    static let safeTensorsTokens = ["\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"F32\"", "\"F16\"", "\"BF16\"", "\"F64\"", "\"I64\"",
                                    "\"__metadata__\"", "[]", "{}", "null", "\"", ",", ":", "[[1]]", "[0, 0]", "-8", "1e30"]
        .map { Array($0.utf8) } + FuzzMutator.numbers

    /// A safetensors file's bytes: tensors of raw `data` in `dtype`, in order.
    static func safeTensorsBytes(_ tensors: [(name: String, dtype: String, shape: [Int], data: [UInt8])],
                                 metadata: [String: String] = [:]) throws -> [UInt8] {
        var header: [String: Any] = metadata.isEmpty ? [:] : ["__metadata__": metadata]
        var offset = 0
        for tensor in tensors {
            header[tensor.name] = ["dtype": tensor.dtype, "shape": tensor.shape, "data_offsets": [offset, offset + tensor.data.count]]
            offset += tensor.data.count
        }
        var json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        json += [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8)
        return withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) } + json + tensors.flatMap(\.data)
    }

    /// The fuzzer's model: the smallest encoder classifier.
    static func tinyModel() -> EncoderClassifier {
        var configuration = ModelConfiguration()
        (configuration.vocabularySize, configuration.maxLength, configuration.dim, configuration.depth) = (5, 4, 4, 1)
        (configuration.heads, configuration.mlpHidden, configuration.classes) = (1, 4, 2)
        return EncoderClassifier(configuration, seed: 1)
    }

    /// Weights files: the tiny model's in F32, F16 and BF16 under Parseval's names, a few under
    /// PyTorch's and timm's (a patch convolution, a position embedding).
    static func weightSeeds() throws -> [[UInt8]] {
        let arena = tinyModel().arena
        func tensors(_ dtype: String, rename: (String) -> String = { $0 }) -> [(name: String, dtype: String, shape: [Int], data: [UInt8])] {
            arena.entries.map { entry in
                let values = arena.sharedValues[entry.offset..<(entry.offset + entry.count)]
                let data: [UInt8] = values.flatMap { value -> [UInt8] in
                    switch dtype {
                    case "F16": return withUnsafeBytes(of: Float16(value).bitPattern.littleEndian) { Array($0) }
                    case "BF16": return withUnsafeBytes(of: UInt16(value.bitPattern >> 16).littleEndian) { Array($0) }
                    default: return withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
                    }
                }
                return (rename(entry.name), dtype, entry.shape, data)
            }
        }
        let torch = ["blocks.0.mixer.qkv.weight": "encoder.layers.0.self_attn.in_proj_weight",
                     "blocks.0.mlp.fc1.weight": "encoder.layers.0.linear1.weight"]
        let floats: ([Float]) -> [UInt8] = { $0.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian) { Array($0) } } }
        return [
            try safeTensorsBytes(tensors("F32"), metadata: ["format": "pt"]),
            try safeTensorsBytes(tensors("F16")),
            try safeTensorsBytes(tensors("BF16")),
            try safeTensorsBytes(tensors("F32") { torch[$0] ?? $0 }),
            try safeTensorsBytes([("patch_embed.proj.weight", "F32", [2, 1, 2, 2], floats((0..<8).map(Float.init))),
                                  ("pos_embed", "F32", [1, 2, 2], floats([1, 2, 3, 4]))]),
            // An empty tensor: a shape with a zero holds no bytes whatever its other sizes.
            try safeTensorsBytes([("patch_embed.proj.weight", "F32", [2, 0, 2, 2], []), ("head.bias", "F32", [2], floats([0, 1]))]),
        ]
    }

    /// A safetensors file's header and tensors (`SafeTensors.read`).
    static let safeTensors = FuzzTarget(
        name: "safetensors", summary: "safetensors header and tensors: SafeTensors.read", testRuns: 5000,
        structure: .lengthPrefixed(offset: 0, width: 8, start: 8), tokens: safeTensorsTokens, seeds: { try weightSeeds() },
        makeRunner: { _ in
            { input in
                _ = try SafeTensors.read(Data(input), path: "fuzz.safetensors")
                return .accepted
            }
        })

    /// `parseval checkpoint seal`'s reading half under each naming scheme: weights that load
    /// must be finite (`Checkpoint.importWeights`).
    static let seal = FuzzTarget(
        name: "seal", summary: "weights to seal, each naming scheme: Checkpoint.importWeights (refuses non-finite)", testRuns: 3000,
        structure: .lengthPrefixed(offset: 0, width: 8, start: 8), tokens: safeTensorsTokens, seeds: { try weightSeeds() },
        makeRunner: { _ in
            let model = tinyModel()
            return { input in
                let data = Data(input)
                var accepted = false
                var lastError: Error?
                for source in WeightSource.allCases {
                    do {
                        try Checkpoint.importWeights("fuzz.safetensors", data: data, source: source, into: model.arena, step: 0)
                        accepted = true
                        if let index = model.arena.sharedValues.firstIndex(where: { !$0.isFinite }) {
                            return .nonFiniteAccepted("parameter \(index) is \(model.arena.sharedValues[index]) after sealing from \(source)")
                        }
                    } catch {
                        lastError = error
                    }
                }
                if !accepted, let lastError { throw lastError }
                return .accepted
            }
        })

    /// A step folder of the tiny model with non-trivial optimizer moments: its files' bytes.
    struct CheckpointFixture {
        let model: EncoderClassifier
        let optimizer: AdamW
        let modelBytes: Data
        let optimizerBytes: Data
        let metadata: [String: String]

        init() throws {
            model = FuzzTarget.tinyModel()
            optimizer = AdamW(arena: model.arena)
            for (name, storage) in optimizer.state.buffers {
                for index in 0..<storage.count { storage.pointer[index] = name == "exp_avg" ? Float(index % 7) - 3 : Float(index % 5) * 0.01 }
            }
            try optimizer.restore(OptimizerState(step: 3, buffers: optimizer.state.buffers))
            var state = TrainingState()
            (state.step, state.epoch, state.batchInEpoch, state.bestStep, state.bestAccuracy) = (3, 1, 1, 2, 0.5)
            state.window = MetricsWindow()
            (modelBytes, optimizerBytes) = try Checkpoint.encode(arena: model.arena, optimizer: optimizer, state: state,
                                                                 configurationJSON: "{}")
            metadata = try SafeTensors.metadata(modelBytes, path: "model.safetensors")
        }

        /// Writes the step folder with `model` and `optimizer` bytes and a manifest that agrees with them.
        static func write(directory: String, model: Data, optimizer: Data) throws {
            try FuzzFiles.write(model, to: "\(directory)/\(Manifest.files[0])")
            try FuzzFiles.write(optimizer, to: "\(directory)/\(Manifest.files[1])")
            try FuzzFiles.write(try Manifest.encode(files: [Manifest.files[0]: model, Manifest.files[1]: optimizer]),
                                to: "\(directory)/\(Manifest.name)")
        }
    }

    /// A step folder's `manifest.json` (`Checkpoint.verify`).
    static let manifest = FuzzTarget(
        name: "manifest", summary: "checkpoint manifest.json: Checkpoint.verify", testRuns: 3000, structure: .none,
        tokens: ["\"files\"", "\"bytes\"", "\"fnv1a64\"", "\"format\"", "\"model.safetensors\"", "\"optimizer.safetensors\"",
                 "{", "}", "[", "]", "null", ":", ",", "\""].map { Array($0.utf8) } + FuzzMutator.numbers,
        seeds: {
            let fixture = try CheckpointFixture()
            let real = try Manifest.encode(files: [Manifest.files[0]: fixture.modelBytes, Manifest.files[1]: fixture.optimizerBytes])
            let compact = try JSONSerialization.data(withJSONObject: try JSONSerialization.jsonObject(with: real), options: [.sortedKeys])
            return [[UInt8](real), [UInt8](compact)]
        },
        makeRunner: { workspace in
            let fixture = try CheckpointFixture()
            let directory = "\(workspace)/step-00000003"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try CheckpointFixture.write(directory: directory, model: fixture.modelBytes, optimizer: fixture.optimizerBytes)
            return { input in
                try FuzzFiles.write(input, to: "\(directory)/\(Manifest.name)")
                _ = try Checkpoint.verify(directory)
                return .accepted
            }
        })

    /// The training state JSON in a checkpoint's metadata, its manifest agreeing: `Checkpoint.verify`,
    /// then `Checkpoint.load`, then the arithmetic a resume does with it (the sampler's epoch, the
    /// prefetcher's batch position, the next step), which traps if the load let a bad value through.
    static let trainingState = FuzzTarget(
        name: "training-state", summary: "checkpoint training state JSON: Checkpoint.verify + load, then a resume's arithmetic",
        testRuns: 1500, structure: .none,
        tokens: ["\"step\"", "\"epoch\"", "\"batchInEpoch\"", "\"bestAccuracy\"", "\"bestStep\"", "\"window\"", "\"loss\"", "\"count\"",
                 "\"skipped\"", "\"gradientNorm\"", "\"correct\"", "{", "}", ":", ",", "null", "true", "\""].map { Array($0.utf8) }
            + FuzzMutator.numbers,
        seeds: {
            let fixture = try CheckpointFixture()
            return [Array(fixture.metadata["state"]!.utf8),
                    Array("{\"batchInEpoch\":0,\"bestAccuracy\":-1,\"bestStep\":-1,\"epoch\":0,\"step\":0}".utf8)]
        },
        makeRunner: { workspace in
            let fixture = try CheckpointFixture()
            let directory = "\(workspace)/step-00000003"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let entries = try SafeTensors.read(fixture.modelBytes, path: "model.safetensors").entries
            return { input in
                var metadata = fixture.metadata
                metadata["state"] = String(decoding: input, as: UTF8.self)
                let model = try SafeTensors.encode(entries, metadata: metadata)
                try CheckpointFixture.write(directory: directory, model: model, optimizer: fixture.optimizerBytes)
                _ = try Checkpoint.verify(directory)
                let state = try Checkpoint.load(from: directory, into: fixture.model.arena, optimizer: fixture.optimizer)
                // What the trainer does with a resumed state (Trainer.nextBatch, BatchPrefetcher, DistributedSampler).
                let order = DistributedSampler(count: 3, shuffle: true, seed: 1).indices(epoch: state.epoch)
                _ = Array(order.dropFirst(state.batchInEpoch))
                _ = (state.step + 1, state.epoch + 1, state.batchInEpoch + 1, String(format: "step-%08ld", state.step + 1))
                return .accepted
            }
        })

    /// A checkpoint's `optimizer.safetensors`, its manifest agreeing: `Checkpoint.load` with AdamW
    /// must refuse NaN or infinite moments and negative second moments.
    static let optimizerState = FuzzTarget(
        name: "optimizer-state", summary: "checkpoint optimizer.safetensors: Checkpoint.load with AdamW (refuses NaN, negative exp_avg_sq)",
        testRuns: 2000, structure: .lengthPrefixed(offset: 0, width: 8, start: 8),
        tokens: safeTensorsTokens + ["\"optimizer_step\"", ".exp_avg", ".exp_avg_sq", "\"-1\"", "\"9223372036854775807\""].map { Array($0.utf8) },
        seeds: { [[UInt8](try CheckpointFixture().optimizerBytes)] },
        makeRunner: { workspace in
            let fixture = try CheckpointFixture()
            let directory = "\(workspace)/step-00000003"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            return { input in
                try CheckpointFixture.write(directory: directory, model: fixture.modelBytes, optimizer: Data(input))
                _ = try Checkpoint.load(from: directory, into: fixture.model.arena, optimizer: fixture.optimizer)
                let state = fixture.optimizer.state
                for (name, storage) in state.buffers {
                    let values = UnsafeBufferPointer(start: storage.pointer, count: storage.count)
                    if let index = values.firstIndex(where: { !$0.isFinite || (name == "exp_avg_sq" && $0 < 0) }) {
                        return .nonFiniteAccepted("\(name)[\(index)] is \(values[index]) after loading")
                    }
                }
                guard state.step >= 0 else { return .nonFiniteAccepted("optimizer step \(state.step) after loading") }
                return .accepted
            }
        })
}

/// Files the fuzzer writes: plain POSIX calls, no fsync (Foundation's atomic writes fsync,
/// which is slow on a busy disk), in a memory-backed folder where there is one.
public enum FuzzFiles {
    public static func write(_ bytes: some ContiguousBytes, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw CheckpointError("\(path): cannot create (\(String(cString: strerror(errno))))") }
        defer { close(descriptor) }
        let complete = bytes.withUnsafeBytes { raw -> Bool in
            var written = 0
            while written < raw.count {
                let result = Foundation.write(descriptor, raw.baseAddress! + written, raw.count - written)
                if result <= 0 { return false }
                written += result
            }
            return true
        }
        guard complete else { throw CheckpointError("\(path): write failed (\(String(cString: strerror(errno))))") }
    }

    /// A new private folder: under /dev/shm when it is there (memory, no disk), else the temporary folder.
    public static func temporaryFolder() -> String {
        let base = FileBytesProbe.isWritableFolder("/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let path = "\(base)/parseval-fuzz-\(getpid())-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

enum FileBytesProbe {
    static func isWritableFolder(_ path: String) -> Bool {
        var isFolder: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue
            && FileManager.default.isWritableFile(atPath: path)
    }
}
