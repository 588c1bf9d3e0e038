import Foundation
import Layers
import Optimizers
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

    public init() {}
}

/// Checkpoints of a run folder:
/// ```
/// RUN/checkpoints/step-00000200/model.safetensors      parameters, PyTorch names, Linear weights [out, in]
/// RUN/checkpoints/step-00000200/optimizer.safetensors  "<parameter>.<buffer>" (exp_avg, exp_avg_sq, momentum_buffer)
/// RUN/checkpoints/latest                               the newest complete step folder's name
/// RUN/checkpoints/best                                 the step folder with the best validation accuracy
/// ```
/// Metadata holds the format, the resolved config (JSON), the training state (step, data
/// position) and a checksum of the parameters. A step folder is complete before `latest`
/// names it, so a run killed mid-write resumes from the previous checkpoint. Only rank 0
/// writes; the caller makes every rank wait at a barrier before reading.
public enum Checkpoint {
    public static let format = "parseval-checkpoint-1"

    public static func folder(run: String) -> String { "\(run)/checkpoints" }

    /// Writes a checkpoint for `state.step`, points `latest` (and `best` when `isBest`) at it,
    /// and removes older step folders except the newest `keep` and the best.
    public static func save(run: String, arena: ParameterArena, optimizer: any Optimizer, state: TrainingState,
                            configurationJSON: String, isBest: Bool = false, keep: Int = 2) throws {
        let root = folder(run: run)
        let name = String(format: "step-%08d", state.step)
        let directory = "\(root)/\(name)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // A writer killed mid-checkpoint left its temporary files here (`.NAME.tmp-PID`).
        for item in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where item.hasPrefix(".") && item.contains(".tmp-") {
            try? FileManager.default.removeItem(atPath: "\(directory)/\(item)")
        }
        let stateJSON = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
        let metadata = ["format": format, "config": configurationJSON, "state": stateJSON,
                        "checksum": String(parameterChecksum(arena), radix: 16)]
        let parameters = arena.entries.map { entry in
            SafeTensors.Entry(name: entry.name, shape: entry.shape,
                              values: Array(UnsafeBufferPointer(start: arena.values.pointer + entry.offset, count: entry.count)))
        }
        try SafeTensors.write(parameters, metadata: metadata, to: "\(directory)/model.safetensors")
        let optimizerState = optimizer.state
        var moments: [SafeTensors.Entry] = []
        for (buffer, storage) in optimizerState.buffers.sorted(by: { $0.key < $1.key }) {
            for entry in arena.entries {
                moments.append(SafeTensors.Entry(
                    name: "\(entry.name).\(buffer)", shape: entry.shape,
                    values: Array(UnsafeBufferPointer(start: storage.pointer + entry.offset, count: entry.count))))
            }
        }
        try SafeTensors.write(moments, metadata: ["format": format, "optimizer_step": "\(optimizerState.step)"],
                              to: "\(directory)/optimizer.safetensors")
        FaultInjection.checkpointFilesWritten(step: state.step)
        try AtomicFile.write(Data(name.utf8), to: "\(root)/latest")
        if isBest { try AtomicFile.write(Data(name.utf8), to: "\(root)/best") }
        try prune(root: root, keep: keep)
    }

    static func prune(root: String, keep: Int) throws {
        let best = (try? String(contentsOfFile: "\(root)/best", encoding: .utf8)) ?? ""
        let steps = (try FileManager.default.contentsOfDirectory(atPath: root)).filter { $0.hasPrefix("step-") }.sorted()
        for name in steps.dropLast(keep) where name != best {
            try? FileManager.default.removeItem(atPath: "\(root)/\(name)")
        }
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
            throw CheckpointError("\(modelPath): format '\(metadata["format"] ?? "none")', expected '\(format)'")
        }
        try copy(entries, into: arena, path: modelPath) { $0.values.pointer }
        let expected = metadata["checksum"] ?? ""
        let actual = String(parameterChecksum(arena), radix: 16)
        guard expected == actual else {
            throw CheckpointError("\(modelPath): checksum mismatch (metadata \(expected), data \(actual)): the file is corrupted")
        }
        guard let stateText = metadata["state"],
              let state = try? JSONDecoder().decode(TrainingState.self, from: Data(stateText.utf8)) else {
            throw CheckpointError("\(modelPath): metadata has no readable training state")
        }
        if let optimizer {
            let optimizerPath = "\(directory)/optimizer.safetensors"
            let (moments, optimizerMetadata) = try SafeTensors.read(optimizerPath)
            var buffers: [String: TensorStorage] = [:]
            for name in optimizer.state.buffers.keys { buffers[name] = TensorStorage(count: arena.values.count) }
            for (bufferName, storage) in buffers {
                let suffix = ".\(bufferName)"
                let selected = moments.filter { $0.name.hasSuffix(suffix) }
                    .map { SafeTensors.Entry(name: String($0.name.dropLast(suffix.count)), shape: $0.shape, values: $0.values) }
                try copy(selected, into: arena, path: "\(optimizerPath) (\(bufferName))") { _ in storage.pointer }
            }
            try optimizer.restore(OptimizerState(step: Int(optimizerMetadata["optimizer_step"] ?? "") ?? state.step,
                                                 buffers: buffers))
        }
        return state
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
    let values = UnsafeBufferPointer(start: arena.values.pointer, count: arena.values.count)
    for value in values { hash = (hash ^ UInt64(value.bitPattern)) &* 0x0000_0100_0000_01B3 }
    return hash
}
