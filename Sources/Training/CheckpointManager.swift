import Distributed
import Foundation
import Optimizers
import Parameters

/// A job's checkpoints in its run folder, collectively: rank 0 alone touches the folder (so it
/// need not be shared across hosts, docs/distributed.md "Across hosts") and every rank receives
/// what it read. `Checkpoint` is the file format of one step folder; this is who reads and
/// writes it, when, and under which lock. The trainer saves and resumes through it; `parseval
/// eval` only loads (`Evaluator`), and writes nothing.
public final class CheckpointManager {
    public let world: Communicator
    public let runDirectory: String
    /// Messages for the run's log (rank 0 prints them).
    let message: (String) -> Void

    public init(world: Communicator, runDirectory: String, message: @escaping (String) -> Void = { _ in }) {
        self.world = world
        self.runDirectory = runDirectory
        self.message = message
    }

    // MARK: - The run folder

    /// Takes the run folder's lock (rank 0) for a training job: another live job on the same
    /// folder is an error on every rank; a stale lock is taken over with a message.
    public func lockRunFolder() throws {
        try world.allOrNone {
            guard world.isRoot else { return }
            if let note = try RunLock.acquire(run: runDirectory) { message("\(runDirectory): \(note)") }
        }
    }

    /// `train --fresh`: removes the run folder's checkpoints, metrics.jsonl and timeline.jsonl
    /// (rank 0), so the new run starts a clean history rather than mixing with the old one's.
    public func discardHistory() throws {
        try world.allOrNone {
            guard world.isRoot else { return }
            for path in [Checkpoint.folder(run: runDirectory), "\(runDirectory)/metrics.jsonl", "\(runDirectory)/timeline.jsonl"]
            where FileManager.default.fileExists(atPath: path) {
                try FileManager.default.removeItem(atPath: path)
            }
        }
    }

    /// Records the run's resolved configuration as the folder's `config.json` (rank 0, atomic):
    /// training writes it once the run is under way, `checkpoint seal` beside the checkpoint it
    /// writes; `eval` and a run that failed to start leave the file as it was. Collective.
    public func recordConfiguration(_ json: String) throws {
        try world.allOrNone {
            guard world.isRoot else { return }
            try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
            try AtomicFile.write(Data(json.utf8), to: "\(runDirectory)/config.json")
        }
    }

    // MARK: - Writing

    /// Rank 0 writes the step folder while the others wait at the barrier, with the stall
    /// times stretched tenfold. Collective.
    public func save(arena: ParameterArena, optimizer: any Optimizer, state: TrainingState, configurationJSON: String,
                     isBest: Bool) throws {
        try CollectiveWatchdog.patience(10, "rank 0 writing a checkpoint") {
            if world.isRoot {
                try Checkpoint.save(run: runDirectory, arena: arena, optimizer: optimizer, state: state,
                                    configurationJSON: configurationJSON, isBest: isBest)
            }
            try world.barrier()
        }
    }

    /// Points `best` at the latest checkpoint (a run whose only evaluation was its last). Collective.
    public func markLatestAsBest(step: Int) throws {
        try world.allOrNone { if world.isRoot { try Checkpoint.markLatestAsBest(run: runDirectory, step: step) } }
    }

    /// The latest checkpoint's folder, for messages (nil before the first).
    public var latest: String? { (try? Checkpoint.resolve(run: runDirectory)).flatMap { $0 } }

    // MARK: - Reading

    /// The newest intact checkpoint to resume from, on every rank: rank 0 chooses it (passing
    /// over damaged ones, which it reports) and refuses one written with a configuration whose
    /// identity keys differ (`conflicts`). nil: nothing to resume. Collective.
    public func chooseForResume(conflicts: (String) throws -> [(key: String, saved: String, now: String)]) throws -> String? {
        let chosen = try world.allOrNone { () -> String in
            guard world.isRoot else { return "" }
            let choice = try Checkpoint.chooseForResume(run: runDirectory)
            for note in choice.notes { message("resume: \(note)") }
            guard let directory = choice.directory else { return "" }
            if let saved = choice.metadata["config"] {
                let differences = try conflicts(saved)
                if !differences.isEmpty {
                    throw ConfigurationError(
                        "\(directory) was written with a different configuration: "
                        + differences.map { "\($0.key) \($0.saved) → \($0.now)" }.joined(separator: ", ")
                        + ". These keys must match to resume; use --fresh to start this run folder over, or another output.directory")
                }
            }
            return directory
        }
        let directory = try world.broadcast(chosen)
        return directory.isEmpty ? nil : directory
    }

    /// The step folder `pointer` names — `latest`, `best` or a path — as rank 0 resolves it, on
    /// every rank. Collective.
    public func resolve(_ pointer: String) throws -> String? {
        let resolved = try world.allOrNone { () -> String in
            guard world.isRoot else { return "" }
            guard pointer == "latest" || pointer == "best" else { return pointer }
            return try Checkpoint.resolve(run: runDirectory, pointer: pointer) ?? ""
        }
        let directory = try world.broadcast(resolved)
        return directory.isEmpty ? nil : directory
    }

    /// Rank 0 reads the step folder `directory` and sends what it read — parameters, random
    /// features, optimizer state (when given) and the training state — to every rank; the ranks
    /// then check that they hold the same parameters. Collective.
    public func load(_ directory: String, into arena: ParameterArena, optimizer: (any Optimizer)? = nil) throws -> TrainingState {
        let loaded = try world.allOrNone { () -> TrainingState? in
            guard world.isRoot else { return nil }
            return try Checkpoint.load(from: directory, into: arena, optimizer: optimizer)
        }
        guard world.size > 1 else { return loaded! }
        let stateJSON = try world.broadcast(world.isRoot ? String(decoding: try JSONEncoder().encode(loaded!), as: UTF8.self) : "")
        let state = try JSONDecoder().decode(TrainingState.self, from: Data(stateJSON.utf8))
        try world.broadcast(arena.sharedValues)
        for buffer in arena.buffers {
            var values = world.isRoot ? buffer.read() : [Float](repeating: 0, count: buffer.shape.reduce(1, *))
            try values.withUnsafeMutableBufferPointer { try world.broadcast($0) }
            if !world.isRoot { buffer.write(values, state.step) }
        }
        if let optimizer {
            let saved = optimizer.state
            // The step as an integer (as text: exact at any count, where a Float is not past 2^24).
            let step = try world.broadcast(String(saved.step))
            for name in saved.buffers.keys.sorted() {
                let storage = saved.buffers[name]!
                try world.broadcast(UnsafeMutableBufferPointer(start: storage.pointer, count: storage.count))
            }
            if !world.isRoot {
                guard let count = Int(step) else { throw CheckpointError("\(directory): rank 0 sent the optimizer step '\(step)'") }
                try optimizer.restore(OptimizerState(step: count, buffers: saved.buffers))
            }
        }
        guard try world.agree(on: parameterChecksum(arena)) else {
            throw CheckpointError("\(directory): ranks hold different parameters after the broadcast")
        }
        return state
    }

    /// Loads the checkpoint `pointer` names (`latest`, `best` or a step folder) into `arena`,
    /// with the stall times stretched tenfold; returns its folder and training state. Collective.
    public func load(named pointer: String, into arena: ParameterArena) throws -> (directory: String, state: TrainingState) {
        guard let directory = try resolve(pointer) else {
            throw CheckpointError("\(runDirectory): no '\(pointer)' checkpoint in \(Checkpoint.folder(run: runDirectory))")
        }
        let state = try CollectiveWatchdog.patience(10, "loading a checkpoint") { try load(directory, into: arena) }
        return (directory, state)
    }
}
