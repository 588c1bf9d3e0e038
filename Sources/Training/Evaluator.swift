import Datasets
import Distributed
import Foundation
import Layers
import Optimizers
import Parameters
import SequenceParallel
import TensorCore

/// Evaluation of a model on a split, sharded over the data-parallel ranks. The trainer evaluates
/// through it; `parseval eval` uses it alone (`standalone`), loading a checkpoint through its
/// `checkpoints`: it loads the validation or test split only — no training data, no optimizer
/// state — and writes nothing to the run folder, which may be read-only.
public final class Evaluator {
    public let configuration: TrainingConfiguration
    public let world: Communicator
    /// The ranks' grid and what follows from it for sequence parallelism.
    public let sharding: SequenceSharding
    public var grid: ProcessGrid { sharding.grid }
    public let model: any TrainableModel
    public let runDirectory: String
    /// The run folder's checkpoints, read by rank 0 and sent to every rank.
    public let checkpoints: CheckpointManager
    /// Examples per rank per evaluation batch.
    let batchSize: Int

    /// `checkpoints`: the run's manager (the trainer's, which logs), else one of its own.
    public init(configuration: TrainingConfiguration, world: Communicator, sharding: SequenceSharding, model: any TrainableModel,
                batchSize: Int, checkpoints: CheckpointManager? = nil) {
        self.configuration = configuration
        self.world = world
        self.sharding = sharding
        self.model = model
        self.batchSize = batchSize
        runDirectory = configuration.output.directory
        self.checkpoints = checkpoints ?? CheckpointManager(world: world, runDirectory: runDirectory)
    }

    /// The evaluator `parseval eval` runs: the grid and model of `configuration`, its engine
    /// settings, and `split`'s examples — the validation split loaded without the training one,
    /// or the test split. Collective.
    public static func standalone(configuration requested: TrainingConfiguration, world: Communicator, split: EvaluationSplit) throws
        -> (evaluator: Evaluator, dataset: any Dataset) {
        var builder = try RunBuilder(configuration: requested, world: world)
        let localBatch = try builder.localBatchSize
        let dataset = try builder.loadData { data -> (any Dataset, classes: Int?) in
            switch split {
            case .val:
                let loaded = try TaskData.load(data, training: false)
                return (loaded.validation, loaded.classes)
            case .test:
                return (try TaskData.loadTest(data), nil)
            }
        }
        let configuration = builder.configuration
        let evaluator = Evaluator(configuration: configuration, world: world, sharding: builder.sharding, model: try builder.buildModel(),
                                  batchSize: localBatch * configuration.training.accumulation)
        return (evaluator, dataset)
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
                skipBadExamples: configuration.data.skipBadExamples, seed: configuration.training.seed.seedBits,
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
        let total = dataset.count
        for (number, indices) in plan.prefix(limit).enumerated() {
            var batch = try batcher.makeBatch(indices: indices, epoch: 0, log: &log)
            for k in sharding.evaluationPadding(batchNumber: number, batchSize: batcher.batchSize, count: batch.size, total: total) {
                batch.labels[k] = evaluationLoss.ignoreIndex
            }
            let output = model.logits(for: batch, context: context)
            try sharding.throwIfFailed()
            logits?(batch, output)
            let result = evaluationLoss.forward(logits: output, labels: batch.labels)
            totals[0] += result.loss * Double(result.count)
            totals[1] += Double(result.correct)
            totals[2] += Double(result.count)
        }
        totals[3] = Double(log.count)
        try world.allreduce(&totals, .sum)
        sharding.countOnce(&totals)
        let count = max(totals[2], 1)
        return Evaluation(accuracy: totals[1] / count, loss: totals[0] / count, count: Int(totals[2]),
                          skipped: dataset.badExamples.count + Int(totals[3]))
    }
}
