import Foundation
import Layers
import Optimizers
import Parameters
import TensorCore

/// Where a run is: restored exactly on resume.
public struct TrainingState: Codable, Equatable, Sendable {
    /// Optimizer steps completed.
    public var step = 0
    /// Data position: the epoch and the batches of it already consumed.
    public var epoch = 0
    public var batchInEpoch = 0
    /// Best validation accuracy so far, and the step it was reached at.
    public var bestAccuracy = -1.0
    public var bestStep = -1
    /// The train metrics summed since the last metrics.jsonl record (nil in checkpoints from
    /// before it was kept), so the first record after a resume covers the same steps as an
    /// uninterrupted run's.
    public var window: MetricsWindow?

    public init() {}
}

extension TrainingState {
    /// The largest step, epoch or batch position a checkpoint may hold: far beyond any run
    /// (2⁴⁰ steps), and far enough from `Int.max` that the trainer's `+ 1`s cannot overflow.
    public static let maximumPosition = 1 << 40

    /// Decodes the training state saved in `path`'s metadata and checks every field a resume
    /// computes with: a hostile or damaged state (a negative epoch, a batch position near
    /// `Int.max`) is an error naming the file and the field, never a trap in the trainer.
    public static func decode(_ text: String, path: String) throws -> TrainingState {
        let state: TrainingState
        do {
            state = try JSONDecoder().decode(TrainingState.self, from: Data(text.utf8))
        } catch {
            throw CheckpointError("\(path): metadata 'state' is not a readable training state "
                                  + "(expected JSON with step, epoch, batchInEpoch, bestAccuracy, bestStep): \(error)")
        }
        try state.check(path: path)
        return state
    }

    /// Checks the ranges of every field (`decode`); errors name `path` and the field.
    public func check(path: String) throws {
        func require(_ condition: Bool, _ field: String, _ value: Any, _ expected: String) throws {
            guard condition else {
                throw CheckpointError("\(path): training state field '\(field)' is \(value); expected \(expected)")
            }
        }
        let range = "an integer in 0...\(Self.maximumPosition)"
        try require((0...Self.maximumPosition).contains(step), "step", step, range)
        try require((0...Self.maximumPosition).contains(epoch), "epoch", epoch, range)
        try require((0...Self.maximumPosition).contains(batchInEpoch), "batchInEpoch", batchInEpoch, range)
        try require((-1...step).contains(bestStep), "bestStep", bestStep, "-1 (none yet) or a step in 0...\(step)")
        try require(bestAccuracy == -1 || (0...1).contains(bestAccuracy), "bestAccuracy", bestAccuracy, "-1 (none yet) or a value in 0...1")
        if let window {
            try require(window.count >= 0 && window.count.isFinite, "window.count", window.count, "a finite count ≥ 0")
            try require((0...Self.maximumPosition).contains(window.skipped), "window.skipped", window.skipped, range)
            for (field, value) in [("window.loss", window.loss), ("window.correct", window.correct),
                                   ("window.gradientNorm", window.gradientNorm)] {
                try require(value.isFinite, field, value, "a finite number")
            }
        }
    }
}

/// Train metrics summed over the steps since the last `metrics.jsonl` record.
public struct MetricsWindow: Codable, Equatable, Sendable {
    public var loss = 0.0
    public var correct = 0.0
    public var count = 0.0
    public var skipped = 0
    public var gradientNorm = 0.0

    public init() {}
}

/// Checkpoints of a run folder:
/// ```
/// RUN/checkpoints/step-00000200/model.safetensors      parameters, PyTorch names, Linear weights [out, in]
/// RUN/checkpoints/step-00000200/optimizer.safetensors  "<parameter>.<buffer>" (exp_avg, exp_avg_sq, momentum_buffer)
/// RUN/checkpoints/step-00000200/manifest.json          each file's size and checksum, written last
/// RUN/checkpoints/latest                               the newest complete step folder's name
/// RUN/checkpoints/best                                 the step folder with the best validation accuracy
/// ```
/// Metadata holds the format, the resolved config (JSON, without `output.directory`: a checkpoint
/// does not name its own folder, so a run folder can move), the training state (step, data
/// position) and a checksum of the parameters, every JSON object with sorted keys: two identical
/// runs write byte-identical files. `manifest.json` covers every byte a resume
/// reads (both files whole: tensors, metadata, optimizer state), so a damaged checkpoint is
/// recognised and resume falls back to the newest intact one (`chooseForResume`). A step folder
/// is complete before `latest` names it, so a run killed mid-write resumes from the previous
/// checkpoint. Only rank 0 writes; the caller makes every rank wait at a barrier before reading.
public enum Checkpoint {
    public static let format = "parseval-checkpoint-1"

    public static func folder(run: String) -> String { "\(run)/checkpoints" }

    /// Writes a checkpoint for `state.step`, points `latest` (and `best` when `isBest`) at it,
    /// and removes older step folders except the newest `keep` and the best.
    public static func save(run: String, arena: ParameterArena, optimizer: any Optimizer, state: TrainingState,
                            configurationJSON: String, isBest: Bool = false, keep: Int = 2) throws {
        let root = folder(run: run)
        let name = String(format: "step-%08ld", state.step)
        let directory = "\(root)/\(name)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // A writer killed mid-checkpoint left its temporary files here (`.NAME.tmp-PID`).
        for item in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where item.hasPrefix(".") && item.contains(".tmp-") {
            try? FileManager.default.removeItem(atPath: "\(directory)/\(item)")
        }
        let (modelBytes, optimizerBytes) = try encode(arena: arena, optimizer: optimizer, state: state, configurationJSON: configurationJSON)
        try AtomicFile.write(modelBytes, to: "\(directory)/model.safetensors")
        try AtomicFile.write(optimizerBytes, to: "\(directory)/optimizer.safetensors")
        try Manifest.write(directory: directory, files: [Manifest.files[0]: modelBytes, Manifest.files[1]: optimizerBytes])
        FaultInjection.checkpointFilesWritten(step: state.step)
        try AtomicFile.write(Data(name.utf8), to: "\(root)/latest")
        if isBest { try AtomicFile.write(Data(name.utf8), to: "\(root)/best") }
        try prune(root: root, latest: name, keep: keep)
    }

    /// The bytes of a step folder's `model.safetensors` and `optimizer.safetensors`.
    static func encode(arena: ParameterArena, optimizer: any Optimizer, state: TrainingState,
                       configurationJSON: String) throws -> (model: Data, optimizer: Data) {
        // Sorted keys and no run folder: the same run writes the same bytes wherever it runs.
        let stateEncoder = JSONEncoder()
        stateEncoder.outputFormatting = .sortedKeys
        let stateJSON = String(decoding: try stateEncoder.encode(state), as: UTF8.self)
        let metadata = ["format": format, "config": try ConfigurationLoader.withoutRunFolder(configurationJSON), "state": stateJSON,
                        "checksum": String(parameterChecksum(arena), radix: 16)]
        let parameters = arena.entries.map { entry in
            SafeTensors.Entry(name: entry.name, shape: entry.shape,
                              values: Array(arena.sharedValues[entry.offset..<(entry.offset + entry.count)]))
        } + arena.buffers.map { SafeTensors.Entry(name: $0.name, shape: $0.shape, values: $0.read()) }
        let modelBytes = try SafeTensors.encode(parameters, metadata: metadata)
        let optimizerState = optimizer.state
        var moments: [SafeTensors.Entry] = []
        for (buffer, storage) in optimizerState.buffers.sorted(by: { $0.key < $1.key }) {
            for entry in arena.entries {
                moments.append(SafeTensors.Entry(
                    name: "\(entry.name).\(buffer)", shape: entry.shape,
                    values: Array(UnsafeBufferPointer(start: storage.pointer + entry.offset, count: entry.count))))
            }
        }
        let optimizerBytes = try SafeTensors.encode(moments, metadata: ["format": format, "optimizer_step": "\(optimizerState.step)"])
        return (modelBytes, optimizerBytes)
    }

    /// Removes step folders by what the run references, not by name: it keeps `latest` (just
    /// written), `best`, and the `keep − 1` newest folders below `latest` (the fallbacks should
    /// `latest` be damaged). Folders numbered above `latest` belong to a history the run left —
    /// a damaged checkpoint it fell back from — and go.
    static func prune(root: String, latest: String, keep: Int) throws {
        let best = (try? String(contentsOfFile: "\(root)/best", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let steps = (try FileManager.default.contentsOfDirectory(atPath: root)).filter { $0.hasPrefix("step-") }.sorted()
        let below = steps.filter { $0 < latest }
        let kept = Set([latest, best] + below.suffix(max(keep - 1, 0)))
        for name in steps where !kept.contains(name) {
            try? FileManager.default.removeItem(atPath: "\(root)/\(name)")
        }
    }

    /// Points `best` at the checkpoint of `step` when `latest` names it (a run whose only
    /// evaluation came at its end).
    static func markLatestAsBest(run: String, step: Int) throws {
        let root = folder(run: run), name = String(format: "step-%08ld", step)
        let latest = (try? String(contentsOfFile: "\(root)/latest", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard latest == name, !FileManager.default.fileExists(atPath: "\(root)/best") else { return }
        try AtomicFile.write(Data(name.utf8), to: "\(root)/best")
    }

    /// The checkpoint a resume should load: the folder `latest` names if it is intact, else the
    /// newest intact step folder, with its metadata (the resolved config the run was written
    /// with, under "config") and a note for each folder passed over and why. The directory is nil
    /// when the run has no checkpoint (a step folder with no manifest that `latest` does not
    /// name is a write that never finished, not a checkpoint); an error when it has some and
    /// none is intact.
    public static func chooseForResume(run: String) throws
        -> (directory: String?, metadata: [String: String], notes: [String]) {
        let root = folder(run: run)
        let steps = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .filter { $0.hasPrefix("step-") }.sorted(by: >)
        let latestPath = "\(root)/latest"
        let latest = (try? String(contentsOfFile: latestPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        var notes: [String] = []
        if latest == nil && !steps.isEmpty {
            notes.append("\(latestPath) is missing; looking for the newest intact step folder")
        }
        var candidates: [String] = []
        for name in steps where name != latest {
            if FileManager.default.fileExists(atPath: "\(root)/\(name)/\(Manifest.name)") {
                candidates.append(name)
            } else {
                notes.append("ignored \(name): no manifest, a checkpoint whose writing never finished")
            }
        }
        if let latest { candidates.insert(latest, at: 0) }
        if candidates.isEmpty { return (nil, [:], notes) }
        for name in candidates {
            let directory = "\(root)/\(name)"
            do {
                return (directory, try verify(directory), notes)
            } catch {
                notes.append("skipped \(name): \(error)")
            }
        }
        throw CheckpointError("\(root) holds no intact checkpoint: " + notes.joined(separator: "; ")
                              + ". Use --fresh to start over")
    }

    /// Checks a step folder without loading its tensors: its files exist, match their manifest
    /// (every byte), and the model file's metadata reads; returns that metadata. A folder from
    /// before manifests (or from another tool) passes on the parameter checksum `load` checks.
    /// Each file is read once.
    public static func verify(_ directory: String) throws -> [String: String] {
        let modelPath = "\(directory)/model.safetensors"
        guard FileManager.default.fileExists(atPath: modelPath) else { throw CheckpointError("\(modelPath) is missing") }
        let model = FileManager.default.fileExists(atPath: "\(directory)/\(Manifest.name)")
            ? try Manifest.check(directory: directory) : try Manifest.contents(modelPath)
        let metadata = try SafeTensors.metadata(model, path: modelPath)
        guard metadata["format"] == format, let stateText = metadata["state"] else {
            throw CheckpointError("\(modelPath): metadata lacks the format or a training state")
        }
        _ = try TrainingState.decode(stateText, path: modelPath)
        return metadata
    }

    /// The folder `latest` (or `best`) points at, or nil when the run has no checkpoint.
    public static func resolve(run: String, pointer: String = "latest") throws -> String? {
        let path = "\(folder(run: run))/\(pointer)"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let name = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let directory = "\(folder(run: run))/\(name)"
        guard FileManager.default.fileExists(atPath: "\(directory)/model.safetensors") else {
            throw CheckpointError("\(path) names '\(name)', which has no model.safetensors")
        }
        return directory
    }

    /// Loads parameters (and, when given, optimizer state) from a step folder into the
    /// model's arena. Every parameter must be present with its shape; the checksum must match.
    @discardableResult
    public static func load(from directory: String, into arena: ParameterArena,
                            optimizer: (any Optimizer)? = nil) throws -> TrainingState {
        let modelPath = "\(directory)/model.safetensors"
        let (entries, metadata) = try SafeTensors.read(modelPath)
        guard metadata["format"] == format else {
            throw CheckpointError("\(modelPath): format '\(metadata["format"] ?? "none")', expected '\(format)'"
                                  + (metadata["format"] == nil ? " (weights written by another tool: import them with "
                                     + "`parseval checkpoint seal`, docs/checkpoints.md)" : ""))
        }
        let bufferNames = Set(arena.buffers.map(\.name))
        try requireFinite(entries, path: modelPath, what: "a checkpoint's parameters and buffers must be finite")
        try copy(entries.filter { !bufferNames.contains($0.name) }, into: arena, path: modelPath) { $0.sharedValues.baseAddress! }
        let expected = metadata["checksum"] ?? ""
        let actual = String(parameterChecksum(arena), radix: 16)
        guard expected == actual else {
            throw CheckpointError("\(modelPath): checksum mismatch (metadata \(expected), data \(actual)): the file is corrupted, "
                                  + "or was written by another tool — `parseval checkpoint seal` imports such weights (docs/checkpoints.md)")
        }
        guard let stateText = metadata["state"] else { throw CheckpointError("\(modelPath): metadata has no training state") }
        let state = try TrainingState.decode(stateText, path: modelPath)
        try restoreBuffers(entries, into: arena, step: state.step, path: modelPath)
        if let optimizer {
            let optimizerPath = "\(directory)/optimizer.safetensors"
            let (moments, optimizerMetadata) = try SafeTensors.read(optimizerPath)
            // Adam's update divides by √(second moment): a NaN or negative one poisons every later
            // step, so it is refused even when the manifest agrees with the file.
            try requireFinite(moments, path: optimizerPath, what: "optimizer moments must be finite")
            if let negative = moments.first(where: { $0.name.hasSuffix(".exp_avg_sq") && $0.values.contains { $0 < 0 } }) {
                let index = negative.values.firstIndex { $0 < 0 }!
                throw CheckpointError("\(optimizerPath): tensor '\(negative.name)' holds \(negative.values[index]) at index \(index); "
                                      + "expected second moments ≥ 0")
            }
            var optimizerStep = state.step
            if let text = optimizerMetadata["optimizer_step"] {
                guard let value = Int(text), (0...TrainingState.maximumPosition).contains(value) else {
                    throw CheckpointError("\(optimizerPath): metadata 'optimizer_step' is '\(text.prefix(40))'; "
                                          + "expected an integer in 0...\(TrainingState.maximumPosition)")
                }
                optimizerStep = value
            }
            var buffers: [String: TensorStorage] = [:]
            for name in optimizer.state.buffers.keys { buffers[name] = TensorStorage(count: arena.values.count) }
            for (bufferName, storage) in buffers {
                let suffix = ".\(bufferName)"
                let selected = moments.filter { $0.name.hasSuffix(suffix) }
                    .map { SafeTensors.Entry(name: String($0.name.dropLast(suffix.count)), shape: $0.shape, values: $0.values) }
                try copy(selected, into: arena, path: "\(optimizerPath) (\(bufferName))") { _ in storage.pointer }
            }
            try optimizer.restore(OptimizerState(step: optimizerStep, buffers: buffers))
        }
        return state
    }

    /// Seals weights written elsewhere (PyTorch's `safetensors.torch.save_file`, another tool)
    /// into a Parseval step folder `RUN/checkpoints/step-N`, pointed at by `latest` and `best`:
    /// every parameter of `model` must be in `weightsPath` by name with its shape (F32, or F16
    /// and BF16 widened exactly), after `source` translates the names (`WeightSource`); random-
    /// feature buffers are taken when present. The folder gets
    /// the metadata, checksum and manifest of a checkpoint Parseval wrote, and fresh optimizer
    /// state (zero moments): `eval` and fine-tuning read it. Returns the folder.
    @discardableResult
    public static func seal(weights weightsPath: String, source: WeightSource = .parseval, model arena: ParameterArena,
                            optimizer: any Optimizer, run: String, step: Int, configurationJSON: String,
                            allowNonFinite: Bool = false) throws -> String {
        guard (0...TrainingState.maximumPosition).contains(step) else {
            throw CheckpointError("\(weightsPath): step \(step) to seal at; expected an integer in 0...\(TrainingState.maximumPosition)")
        }
        try importWeights(weightsPath, source: source, into: arena, step: step, allowNonFinite: allowNonFinite)
        var state = TrainingState()
        state.step = step
        try save(run: run, arena: arena, optimizer: optimizer, state: state, configurationJSON: configurationJSON,
                 isBest: true, keep: Int.max)
        return "\(folder(run: run))/\(String(format: "step-%08ld", step))"
    }

    /// `seal`'s reading half: the weights of `weightsPath` (its bytes `data` when given, the
    /// fuzzer's entry) translated from `source` into `arena` and its buffers. A NaN or infinite
    /// value is refused, naming the tensor, unless `allowNonFinite`.
    public static func importWeights(_ weightsPath: String, data: Data? = nil, source: WeightSource = .parseval,
                                     into arena: ParameterArena, step: Int, allowNonFinite: Bool = false) throws {
        let read = try data.map { try SafeTensors.read($0, path: weightsPath) } ?? SafeTensors.read(weightsPath)
        let entries = try source.translate(read.entries)
        if !allowNonFinite {
            try requireFinite(entries, path: weightsPath,
                              what: "weights must be finite to seal (--allow-nonfinite seals them anyway)")
        }
        let bufferNames = Set(arena.buffers.map(\.name))
        try copy(entries.filter { !bufferNames.contains($0.name) }, into: arena, path: weightsPath) { $0.sharedValues.baseAddress! }
        try restoreBuffers(entries, into: arena, step: step, path: weightsPath)
    }

    /// Throws naming the first tensor of `entries` with a NaN or infinite value, and `what`.
    static func requireFinite(_ entries: [SafeTensors.Entry], path: String, what: String) throws {
        for entry in entries {
            if let index = entry.values.firstIndex(where: { !$0.isFinite }) {
                throw CheckpointError("\(path): tensor '\(entry.name)' holds \(entry.values[index]) at index \(index); \(what)")
            }
        }
    }

    /// Writes the saved buffers (random features) into their owners. A checkpoint written before
    /// buffers were saved has none: the owners keep what they derive from the seed and step.
    static func restoreBuffers(_ entries: [SafeTensors.Entry], into arena: ParameterArena, step: Int, path: String) throws {
        let byName = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for buffer in arena.buffers {
            guard let saved = byName[buffer.name] else { continue }
            guard saved.shape == buffer.shape else {
                throw CheckpointError("\(path): '\(buffer.name)' has shape \(saved.shape), this model needs \(buffer.shape)")
            }
            buffer.write(saved.values, step)
        }
    }

    /// Copies named entries into a buffer laid out like `arena`, checking names and shapes.
    static func copy(_ entries: [SafeTensors.Entry], into arena: ParameterArena, path: String,
                     destination: (ParameterArena) -> UnsafeMutablePointer<Float>) throws {
        let byName = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let known = Set(arena.entries.map(\.name))
        if let extra = entries.first(where: { !known.contains($0.name) }) {
            throw CheckpointError("\(path): has '\(extra.name)', which this model does not (is it another model's checkpoint?)")
        }
        let base = destination(arena)
        for entry in arena.entries {
            guard let saved = byName[entry.name] else {
                throw CheckpointError("\(path): lacks parameter '\(entry.name)' (is it another model's checkpoint?)")
            }
            guard saved.shape == entry.shape else {
                throw CheckpointError("\(path): '\(entry.name)' has shape \(saved.shape), this model needs \(entry.shape)")
            }
            saved.values.withUnsafeBufferPointer { (base + entry.offset).update(from: $0.baseAddress!, count: entry.count) }
        }
    }
}

/// FNV-1a over the bit patterns of every parameter, in layout order: equal on two ranks
/// (or in two files) exactly when the parameters are bit-identical, with high probability.
public func parameterChecksum(_ arena: ParameterArena) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    let values = UnsafeBufferPointer(arena.sharedValues)
    for value in values { hash = (hash ^ UInt64(value.bitPattern)) &* 0x0000_0100_0000_01B3 }
    return hash
}

/// `manifest.json` of a step folder: every file's size and checksum, written after the files
/// and before `latest` names the folder.
/// ```json
/// {"format": "parseval-checkpoint-1", "files": {"model.safetensors": {"bytes": 1234, "fnv1a64": "9f3c…"}, …}}
/// ```
/// The checksum is FNV-1a 64 over the file's little-endian 64-bit words (a short tail padded with
/// zero bytes): it finds any single flipped bit, and it is no defence against deliberate edits.
enum Manifest {
    static let name = "manifest.json"
    /// Every file of a step folder, the model file first.
    static let files = ["model.safetensors", "optimizer.safetensors"]

    /// Writes the manifest of `files` (name → the bytes just written under that name).
    static func write(directory: String, files: [String: Data]) throws {
        try AtomicFile.write(try encode(files: files), to: "\(directory)/\(name)")
    }

    /// The manifest's bytes for `files`.
    static func encode(files: [String: Data]) throws -> Data {
        var entries: [String: [String: String]] = [:]
        for (file, data) in files {
            entries[file] = ["bytes": "\(data.count)", "fnv1a64": String(checksum(data), radix: 16)]
        }
        let document: [String: Any] = ["format": Checkpoint.format, "files": entries]
        return try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .prettyPrinted])
    }

    /// Checks every file against the manifest; returns the model file's bytes.
    @discardableResult
    static func check(directory: String) throws -> Data {
        let path = "\(directory)/\(name)"
        guard let text = FileManager.default.contents(atPath: path),
              let document = try? JSONSerialization.jsonObject(with: text) as? [String: Any],
              let files = document["files"] as? [String: [String: String]] else {
            throw CheckpointError("\(path) is not a readable manifest")
        }
        var model = Data()
        for file in Manifest.files {
            guard let expected = files[file] else { throw CheckpointError("\(path) does not list \(file)") }
            let data = try contents("\(directory)/\(file)")
            if file == Manifest.files[0] { model = data }
            let actual = String(checksum(data), radix: 16)
            guard expected["bytes"] == "\(data.count)", expected["fnv1a64"] == actual else {
                throw CheckpointError("\(directory)/\(file) does not match its manifest (\(data.count) bytes, checksum "
                                      + "\(actual); manifest: \(expected["bytes"] ?? "?") bytes, \(expected["fnv1a64"] ?? "?")): "
                                      + "the file is damaged")
            }
        }
        return model
    }

    static func contents(_ path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else { throw CheckpointError("\(path): cannot read the file") }
        return data
    }

    static func checksum(_ data: Data) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        data.withUnsafeBytes { raw in
            let words = raw.count / 8
            for index in 0..<words {
                hash = (hash ^ UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self))) &* 0x0000_0100_0000_01B3
            }
            var tail: UInt64 = 0
            for (shift, byte) in raw[(8 * words)...].enumerated() { tail |= UInt64(byte) << (8 * UInt64(shift)) }
            if raw.count % 8 != 0 { hash = (hash ^ tail) &* 0x0000_0100_0000_01B3 }
        }
        return hash
    }
}
