import Datasets
import Distributed
import Foundation
import Layers
import Optimizers
import Parameters
import TensorCore

/// Evaluation of a model on a split, sharded over the data-parallel ranks, and the loading of
/// checkpoints (rank 0 reads, every rank receives). The trainer evaluates through it; `parseval
/// eval` uses it alone (`standalone`): it loads the validation or test split only — no training
/// data, no optimizer state — and writes nothing to the run folder, which may be read-only.
public final class Evaluator {
    public let configuration: TrainingConfiguration
    public let world: Communicator
    public let grid: ProcessGrid
    public let model: any TrainableModel
    public let runDirectory: String
    /// Examples per rank per evaluation batch.
    let batchSize: Int

    public init(configuration: TrainingConfiguration, world: Communicator, grid: ProcessGrid, model: any TrainableModel,
                batchSize: Int) {
        self.configuration = configuration
        self.world = world
        self.grid = grid
        self.model = model
        self.batchSize = batchSize
        runDirectory = configuration.output.directory
    }

    /// The evaluator `parseval eval` runs: the grid and model of `configuration`, its engine
    /// settings, and `split`'s examples — the validation split loaded without the training one,
    /// or the test split. Collective.
    public static func standalone(configuration: TrainingConfiguration, world: Communicator, split: EvaluationSplit) throws
        -> (evaluator: Evaluator, dataset: any Dataset) {
        try configuration.validate()
        let (grid, _) = try prepareEngine(configuration, world: world)
        let localBatch = try configuration.localBatchSize(ranks: grid.dataParallel)
        let dataset = try world.allOrNone { () -> any Dataset in
            switch split {
            case .val:
                let data = try TaskData.load(configuration.data, training: false)
                try data.check(against: configuration)
                return data.validation
            case .test:
                return try TaskData.loadTest(configuration.data)
            }
        }
        let sequenceGroup = grid.sequenceParallel > 1 ? grid.sequenceGroup : nil
        let shape = configuration.data.taskShape
        let model = try world.allOrNone {
            try makeModel(configuration.model, images: shape.images, paired: shape.paired,
                          seed: UInt64(bitPattern: Int64(configuration.training.seed)), sequenceGroup: sequenceGroup)
        }
        let evaluator = Evaluator(configuration: configuration, world: world, grid: grid, model: model,
                                  batchSize: localBatch * configuration.training.accumulation)
        return (evaluator, dataset)
    }

    /// Sets the process-wide engine as `configuration` asks (threads, matrix precision, FFTW
    /// planning) and forms the ranks' grid; returns it and the matrix engine's summary line.
    /// Shared by the trainer and `standalone`. Collective.
    static func prepareEngine(_ configuration: TrainingConfiguration, world: Communicator) throws
        -> (grid: ProcessGrid, matmulSummary: String) {
        if configuration.parallel.threads > 0 { Threading.configure(threads: configuration.parallel.threads) }
        let summary = Matmul.request(configuration.training.precision)
        FFTPlanner.effort = configuration.parallel.fftPlanning
        do {
            return (try ProcessGrid(world: world, sequenceParallel: configuration.parallel.seqParallel), summary)
        } catch let error as ProcessGridError {
            throw ConfigurationError(error.description)
        }
    }

    /// Which split `parseval eval` reads.
    public enum EvaluationSplit: String, Sendable, CaseIterable {
        case val, test
    }

    public struct Evaluation: Sendable {
        public var accuracy: Double
        public var loss: Double
        public var count: Int
        /// Examples of the split skipped as bad (when it was loaded, and in these batches).
        public var skipped = 0
    }

    /// Batches of an evaluation split: this data rank's shard, in order, not shuffled.
    static func batcher(_ dataset: any Dataset, grid: ProcessGrid, batchSize: Int,
                                  configuration: TrainingConfiguration) -> Batcher {
        Batcher(dataset: dataset,
                sampler: DistributedSampler(count: dataset.count, ranks: grid.dataParallel, rank: grid.dataRank, shuffle: false),
                batchSize: batchSize, sequenceLength: configuration.data.sequenceLength,
                skipBadExamples: configuration.data.skipBadExamples, seed: UInt64(bitPattern: Int64(configuration.training.seed)),
                decodeThreads: configuration.data.effectiveDecodeThreads)
    }

    /// Accuracy and loss over `dataset` (a validation or test split), sharded over the ranks;
    /// the sampler's padding examples (repeats that even out the shards) are not counted. Bad
    /// examples are skipped under `data.skip_bad_examples`, as in training. `parametersStep`: the
    /// optimizer steps behind the parameters evaluated, whose last step's schedules (feature
    /// redraws) the evaluation uses. Collective.
    public func evaluate(_ dataset: any Dataset, maxBatches: Int? = nil, parametersStep: Int,
                         logits: ((Batch, Tensor) -> Void)? = nil) throws -> Evaluation {
        let context = ForwardContext(training: false, step: max(parametersStep - 1, 0))
        let batcher = Evaluator.batcher(dataset, grid: grid, batchSize: batchSize, configuration: configuration)
        let plan = batcher.batchIndices(epoch: 0)
        let limit = min(plan.count, maxBatches ?? (configuration.training.evalBatches > 0 ? configuration.training.evalBatches : plan.count))
        let evaluationLoss = SoftmaxCrossEntropy()
        var totals = [0.0, 0.0, 0.0, 0.0]
        var log = BadExampleLog(skipBadExamples: configuration.data.skipBadExamples)
        let total = dataset.count, ranks = grid.dataParallel
        for (number, indices) in plan.prefix(limit).enumerated() {
            var batch = try batcher.makeBatch(indices: indices, epoch: 0, log: &log)
            // Local position k of this rank is global position rank + k·P; positions past
            // the split's end are padding.
            for k in 0..<batch.size where grid.dataRank + (number * batcher.batchSize + k) * ranks >= total {
                batch.labels[k] = evaluationLoss.ignoreIndex
            }
            let output = model.logits(for: batch, context: context)
            logits?(batch, output)
            let result = evaluationLoss.forward(logits: output, labels: batch.labels)
            totals[0] += result.loss * Double(result.count)
            totals[1] += Double(result.correct)
            totals[2] += Double(result.count)
        }
        totals[3] = Double(log.count)
        try world.allreduce(&totals, .sum)
        totals = totals.map { $0 / Double(grid.sequenceParallel) }  // each group's ranks saw the same examples
        let count = max(totals[2], 1)
        return Evaluation(accuracy: totals[1] / count, loss: totals[0] / count, count: Int(totals[2]),
                          skipped: dataset.badExamples.count + Int(totals[3]))
    }

    // MARK: - Checkpoints

    /// Rank 0 reads the step folder `directory` and sends what it read — parameters, random
    /// features, optimizer state (when given) and the training state — to every rank. Only rank 0
    /// touches the run folder, so it need not be shared across hosts (docs/distributed.md,
    /// "Across hosts"). Collective.
    func loadFromRoot(_ directory: String, into arena: ParameterArena, optimizer: (any Optimizer)? = nil) throws -> TrainingState {
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
            var step = [Float(saved.step)]
            try step.withUnsafeMutableBufferPointer { try world.broadcast($0) }
            for name in saved.buffers.keys.sorted() {
                let storage = saved.buffers[name]!
                try world.broadcast(UnsafeMutableBufferPointer(start: storage.pointer, count: storage.count))
            }
            if !world.isRoot { try optimizer.restore(OptimizerState(step: Int(step[0]), buffers: saved.buffers)) }
        }
        guard try world.agree(on: parameterChecksum(arena)) else {
            throw CheckpointError("\(directory): ranks hold different parameters after the broadcast")
        }
        return state
    }

    /// The step folder `pointer` names — `latest`, `best` or a path — as rank 0 resolves it, on
    /// every rank. Collective.
    public func resolveOnRoot(_ pointer: String) throws -> String? {
        let resolved = try world.allOrNone { () -> String in
            guard world.isRoot else { return "" }
            guard pointer == "latest" || pointer == "best" else { return pointer }
            return try Checkpoint.resolve(run: runDirectory, pointer: pointer) ?? ""
        }
        let directory = try world.broadcast(resolved)
        return directory.isEmpty ? nil : directory
    }

    /// Loads the checkpoint `pointer` names (`latest`, `best` or a step folder) into the model,
    /// read by rank 0 and sent to every rank; returns its folder and training state. For `parseval eval`.
    public func loadCheckpoint(_ pointer: String) throws -> (directory: String, state: TrainingState) {
        guard let directory = try resolveOnRoot(pointer) else {
            throw CheckpointError("\(runDirectory): no '\(pointer)' checkpoint in \(Checkpoint.folder(run: runDirectory))")
        }
        let state = try CollectiveWatchdog.patience(10, "loading a checkpoint") { try loadFromRoot(directory, into: model.arena) }
        return (directory, state)
    }
}
