import Datasets
import Distributed
import Foundation
import Layers
import Optimizers
import Parameters
import SequenceParallel
import TensorCore

/// A training run assembled from its configuration — the only training code that reads it. It
/// validates the configuration and fills in the task's facts, sets up the engine and the ranks'
/// grid, loads the data, builds the model, optimizer, schedule, gradient synchroniser, batcher,
/// evaluator and checkpoint manager, and hands the loop what it needs as `loop`. `Trainer` runs
/// the loop over it; `parseval eval` needs none of it (`Evaluator.standalone`).
public final class RunAssembly {
    /// The configuration as resolved (task facts filled in): what config.json records.
    public let configuration: TrainingConfiguration
    public let world: Communicator
    /// data_parallel × seq_parallel (the data group's rank picks the examples), and what follows
    /// from it for sequence parallelism.
    public let sharding: SequenceSharding
    public let runDirectory: String
    public let data: TaskData
    public let model: any TrainableModel
    let optimizer: any Optimizer
    let schedule: LearningRateSchedule
    let lossFunction: SoftmaxCrossEntropy
    let synchronizer: GradientSynchronizer
    /// Every scale on the way from the loss to the optimizer (`GradientScaling`).
    let scaling: GradientScaling
    let trainBatcher: Batcher
    /// Evaluation, shared with `parseval eval` (which uses it alone).
    let evaluator: Evaluator
    /// The run folder's lock, checkpoints and resume choice (rank 0 reads and writes).
    public let checkpoints: CheckpointManager
    let log: TrainingLog
    /// Wall time, tokens and memory behind each metrics record (`timeline.jsonl`).
    let timeline: Timeline
    let configurationJSON: String
    /// What the matrix products run on and in which precision (`Matmul.request`'s line).
    public let matmulSummary: String
    /// The fault `PARSEVAL_FAULT` asks for (tests only; docs/reliability.md).
    let fault: FaultInjection?
    /// What the loop reads of the configuration.
    let loop: LoopSettings

    public init(configuration requested: TrainingConfiguration, world: Communicator) throws {
        var builder = try RunBuilder(configuration: requested, world: world)
        self.world = world
        (sharding, matmulSummary) = (builder.sharding, builder.matmulSummary)
        let (shards, shard) = (sharding.grid.dataParallel, sharding.grid.dataRank)
        let localBatch = try builder.localBatchSize
        try MemoryEstimate(builder.configuration, dataParallelRanks: shards).check(ranksOnHost: Threading.ranksOnThisHost())
        let seed = builder.seed
        fault = try FaultInjection.fromEnvironment()
        data = try builder.loadData { data in
            let loaded = try TaskData.load(data)
            return (loaded, loaded.classes)
        }
        let configuration = builder.configuration
        self.configuration = configuration
        runDirectory = configuration.output.directory
        loop = LoopSettings(configuration)
        model = try builder.buildModel()
        let arena = model.arena
        try world.broadcast(arena.sharedValues)

        let o = configuration.optimizer
        optimizer = o.name.make(arena: arena, o)
        schedule = configuration.schedule.kind.make(configuration.schedule, peak: o.learningRate, steps: configuration.training.steps)
        lossFunction = SoftmaxCrossEntropy(labelSmoothing: configuration.training.labelSmoothing)
        scaling = GradientScaling(accumulation: configuration.training.accumulation, dataParallelRanks: shards)
        synchronizer = GradientSynchronizer(communicator: world, arena: arena,
                                            bucketBytes: configuration.parallel.bucketMegabytes << 20,
                                            firstBucketBytes: configuration.parallel.firstBucketMegabytes << 20,
                                            averagingRanks: scaling.dataParallelRanks)
        let d = configuration.data
        trainBatcher = Batcher(
            dataset: data.train,
            sampler: DistributedSampler(count: data.train.count, ranks: shards, rank: shard, shuffle: true, seed: seed),
            batchSize: localBatch, sequenceLength: d.sequenceLength, dropLastBatch: true,
            skipBadExamples: d.skipBadExamples, seed: seed, decodeThreads: d.effectiveDecodeThreads)
        guard trainBatcher.batchesPerEpoch > 0 else {
            throw ConfigurationError("training.batch_size \(configuration.training.batchSize): the training split "
                                     + "(\(data.train.count) examples) has no full batch of \(localBatch) per rank")
        }
        configurationJSON = try ConfigurationLoader.encode(configuration)
        log = TrainingLog(runDirectory: runDirectory, active: world.isRoot)
        checkpoints = CheckpointManager(world: world, runDirectory: runDirectory, message: log.message)
        evaluator = Evaluator(configuration: configuration, world: world, sharding: sharding, model: model,
                              batchSize: localBatch * configuration.training.accumulation, checkpoints: checkpoints)
        timeline = Timeline(runDirectory: runDirectory, active: world.isRoot, ranks: world.size)
        for (name, split) in [("training", data.train), ("validation", data.validation)] {
            if let report = split.badExamples.report() { log.message("\(name) split: \(report)") }
        }
        try world.barrier()
    }

    /// The task's test split (`TaskData.loadTest`).
    func loadTestSplit() throws -> any Dataset { try TaskData.loadTest(configuration.data) }

    /// Whether a checkpoint's saved configuration conflicts with this run's (`resumeConflicts`).
    func resumeConflicts(withSaved saved: String) throws -> [(key: String, saved: String, now: String)] {
        try configuration.resumeConflicts(withSaved: saved)
    }
}

/// The settings the training loop reads, taken from the configuration by `RunAssembly`.
struct LoopSettings {
    let training: LoopConfiguration
    let gradientClip: Float
    /// Steps between the parameter checksums compared across ranks (0: never).
    let checkEvery: Int
    /// Batches the prefetcher keeps ready.
    let prefetch: Int
    /// "attention on listops", for the run's first line.
    let title: String

    init(_ configuration: TrainingConfiguration) {
        training = configuration.training
        gradientClip = configuration.optimizer.gradientClip
        checkEvery = configuration.parallel.checkEvery
        prefetch = max(1, configuration.data.prefetch)
        title = "\(configuration.model.mixer.rawValue) on \(configuration.data.task.rawValue)"
    }
}
