import Datasets
import Distributed
import Foundation
import Layers
import Optimizers
import Parameters
import SequenceParallel
import TensorCore

/// Data-parallel training of one configuration: every rank holds the whole model, trains
/// on its shard of each global batch, and averages gradients (bucketed, overlapped with
/// backward) before an identical optimizer step. One process is a world of one.
///
/// With `parallel.seq_parallel: P` the ranks form a `ProcessGrid`: the P ranks of a sequence
/// group get the same examples and each runs its block of N/P tokens; their partial gradients
/// are summed over the whole world and divided by the number of data-parallel groups.
public final class Trainer {
    public let configuration: TrainingConfiguration
    public let world: Communicator
    /// data_parallel × seq_parallel (the data group's rank picks the examples), and what follows
    /// from it for sequence parallelism.
    public let sharding: SequenceSharding
    public var grid: ProcessGrid { sharding.grid }
    public let runDirectory: String
    public let data: TaskData
    public let model: any TrainableModel
    let optimizer: any Optimizer
    let schedule: LearningRateSchedule
    let lossFunction: SoftmaxCrossEntropy
    let synchronizer: GradientSynchronizer
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
    public private(set) var state = TrainingState()
    var prefetcher: BatchPrefetcher?
    /// Bad examples of the current prefetcher already reported.
    var reportedBatchSkips = 0
    /// The fault `PARSEVAL_FAULT` asks for (tests only; docs/reliability.md).
    let fault: FaultInjection?

    public init(configuration requested: TrainingConfiguration, world: Communicator) throws {
        try requested.validate()
        var configuration = try requested.resolvingTaskFacts()
        self.world = world
        runDirectory = configuration.output.directory
        (sharding, matmulSummary) = try Evaluator.prepareEngine(configuration, world: world)
        let (shards, shard) = (sharding.grid.dataParallel, sharding.grid.dataRank)
        let localBatch = try configuration.localBatchSize(ranks: shards)
        try MemoryEstimate(configuration, dataParallelRanks: shards).check(ranksOnHost: Threading.ranksOnThisHost())
        let seed = UInt64(bitPattern: Int64(configuration.training.seed))
        fault = try FaultInjection.fromEnvironment()
        if world.size > 1 {
            CollectiveWatchdog.arm(rank: world.rank, warningSeconds: configuration.parallel.stallWarningSeconds,
                                   abortSeconds: configuration.parallel.stallAbortSeconds)
        }

        // Ranks load data and build the model at their own pace: the stall times stretch tenfold.
        let requestedData = configuration.data
        data = try CollectiveWatchdog.patience(10, "loading data") {
            try world.allOrNone { try TaskData.load(requestedData) }
        }
        configuration = try configuration.resolvingTaskFacts(classes: data.classes)
        self.configuration = configuration
        let (taskData, sharding) = (data, sharding)
        model = try CollectiveWatchdog.patience(10, "building the model") {
            try world.allOrNone {
                try makeModel(configuration.model, for: taskData, seed: seed, sharding: sharding)
            }
        }
        let arena = model.arena
        try world.broadcast(arena.sharedValues)

        let o = configuration.optimizer
        optimizer = o.name.make(arena: arena, o)
        schedule = configuration.schedule.kind.make(configuration.schedule, peak: o.learningRate, steps: configuration.training.steps)
        lossFunction = SoftmaxCrossEntropy(labelSmoothing: configuration.training.labelSmoothing)
        synchronizer = GradientSynchronizer(communicator: world, arena: arena,
                                            bucketBytes: configuration.parallel.bucketMegabytes << 20,
                                            firstBucketBytes: configuration.parallel.firstBucketMegabytes << 20,
                                            averagingRanks: shards)
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
        evaluator = Evaluator(configuration: configuration, world: world, sharding: sharding, model: model,
                              batchSize: localBatch * configuration.training.accumulation)
        configurationJSON = try ConfigurationLoader.encode(configuration)
        log = TrainingLog(runDirectory: runDirectory, active: world.isRoot)
        checkpoints = CheckpointManager(world: world, runDirectory: runDirectory, message: log.message)
        timeline = Timeline(runDirectory: runDirectory, active: world.isRoot, ranks: world.size)
        for (name, split) in [("training", data.train), ("validation", data.validation)] {
            if let report = split.badExamples.report() { log.message("\(name) split: \(report)") }
        }
        try world.barrier()
    }

    // MARK: - Resume

    /// Restores the newest intact checkpoint of the run folder, if any; returns its step. Rank 0
    /// chooses the checkpoint (passing over damaged ones, which it reports) and checks that it
    /// was made with the same model, task and seed; every rank loads it (the run folder must be
    /// shared).
    @discardableResult
    public func resumeIfPossible() throws -> Int? {
        try CollectiveWatchdog.patience(10, "resuming") { try resume() }
    }

    func resume() throws -> Int? {
        let chosen = try checkpoints.chooseForResume(conflicts: configuration.resumeConflicts(withSaved:))
        guard let directory = chosen else {
            // No checkpoint: lines in metrics.jsonl come from a run killed before its first one.
            try log.truncate(after: 0)
            try timeline.resume(after: 0)
            return nil
        }
        state = try checkpoints.load(directory, into: model.arena, optimizer: optimizer)
        try log.truncate(after: state.step)
        try timeline.resume(after: state.step)
        log.message("resumed from \(directory) at step \(state.step) (epoch \(state.epoch), batch \(state.batchInEpoch))")
        return state.step
    }

    // MARK: - Training

    public struct Summary: Sendable {
        public var steps: Int
        public var validationAccuracy: Double
        public var validationLoss: Double
        public var checkpoint: String?
        public var metrics: String
        /// The best checkpoint's accuracy on the test split, and that checkpoint's step (nil when
        /// `training.final_test` is off, the run stopped early, or the task has no test split).
        public var test: (accuracy: Double, step: Int)?
    }

    /// Trains to `training.steps` (or to `stopStep`, as if interrupted there: the schedule
    /// still runs to `training.steps`), evaluating and checkpointing as configured.
    public func run(until stopStep: Int? = nil) throws -> Summary {
        let t = configuration.training
        let endStep = min(stopStep ?? t.steps, t.steps)
        let start = Date()
        let startStep = state.step
        var window = state.window ?? MetricsWindow()
        var windowTokens = 0.0  // progress line only: its tokens/s is not a metric
        var windowStart = Date()
        log.message("training \(configuration.model.mixer.rawValue) on \(configuration.data.task.rawValue): "
                    + "\(data.train.count) examples, \(model.arena.count) parameters, \(world.size) rank(s), "
                    + "global batch \(t.batchSize), \(t.steps) steps → \(runDirectory)")
        var lastValidation = (accuracy: -1.0, loss: Double.nan)
        // The resolved config is written by training only, once the run is under way: `eval`
        // and a run that failed to start leave the folder's config.json as it was.
        if world.isRoot {
            try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
            try AtomicFile.write(Data(configurationJSON.utf8), to: "\(runDirectory)/config.json")
        }
        while state.step < endStep {
            CollectiveWatchdog.setContext("step \(state.step + 1)")
            let learningRate = schedule.learningRate(at: state.step)
            let outcome = try trainStep(learningRate: learningRate)
            var checkpointWritten = false
            if outcome.skipped {
                window.skipped += 1  // its non-finite loss or norm stays out of the metrics
            } else {
                window.loss += outcome.lossSum
                window.correct += outcome.correct
                window.count += outcome.count
                window.gradientNorm = outcome.gradientNorm
                windowTokens += outcome.tokens
                timeline.add(tokens: outcome.tokens)
            }
            state.step += 1

            if state.step % t.logEvery == 0 || state.step == t.steps {
                let elapsed = Date().timeIntervalSince(windowStart)
                let done = Double(state.step - startStep), remaining = Double(t.steps - state.step)
                let eta = Date().timeIntervalSince(start) / max(done, 1) * remaining
                let counted = window.count > 0
                let loss = counted ? window.loss / window.count : nil
                let accuracy = counted ? window.correct / window.count : nil
                try log.record(MetricsRecord(step: state.step, epoch: state.epoch, split: "train",
                                             loss: loss, accuracy: accuracy,
                                             examples: Int(window.count), learningRate: Double(learningRate),
                                             gradientNorm: window.gradientNorm, skippedSteps: window.skipped,
                                             skippedExamples: data.train.badExamples.count > 0 ? data.train.badExamples.count : nil))
                timeline.record(step: state.step, split: "train")
                if let prefetched = prefetcher?.badExamples, prefetched.count > reportedBatchSkips {
                    log.message("training batches: \(prefetched.report() ?? "")")
                    reportedBatchSkips = prefetched.count
                }
                let lossText = loss.map { String(format: "%.4f", $0) } ?? "n/a", accuracyText = accuracy.map { String(format: "%.3f", $0) } ?? "n/a"
                log.progress(String(format: "step %d/%d | epoch %d | loss %@ | acc %@ | lr %.2e | %.0f tok/s | ETA %@",
                                    state.step, t.steps, state.epoch, lossText, accuracyText,
                                    learningRate, windowTokens / max(elapsed, 1e-9), formatDuration(eta)))
                window = MetricsWindow()
                windowTokens = 0
                windowStart = Date()
            }
            state.window = window  // a checkpoint of this step carries the open window
            if configuration.parallel.checkEvery > 0 && state.step % configuration.parallel.checkEvery == 0 {
                guard try world.agree(on: parameterChecksum(model.arena)) else {
                    MPIRuntime.abort("parameters diverged across ranks at step \(state.step)")
                }
            }
            var isBest = false
            if t.evalEvery > 0 && (state.step % t.evalEvery == 0 || state.step == t.steps) {
                let result = try evaluate()
                lastValidation = (result.accuracy, result.loss)
                isBest = result.accuracy > state.bestAccuracy
                if isBest {
                    state.bestAccuracy = result.accuracy
                    state.bestStep = state.step
                }
                try log.record(MetricsRecord(step: state.step, epoch: state.epoch, split: "validation", loss: result.loss,
                                             accuracy: result.accuracy, examples: result.count,
                                             skippedExamples: result.skipped > 0 ? result.skipped : nil))
                timeline.record(step: state.step, split: "validation")
                log.progress(String(format: "step %d | validation loss %.4f | accuracy %.4f (%d examples)%@",
                                    state.step, result.loss, result.accuracy, result.count, isBest ? " | best" : ""), keep: true)
            }
            if isBest || (t.checkpointEvery > 0 && state.step % t.checkpointEvery == 0) || state.step == endStep {
                try checkpoints.save(arena: model.arena, optimizer: optimizer, state: state,
                                     configurationJSON: configurationJSON, isBest: isBest)
                checkpointWritten = true
            }
            if outcome.stopRequested {
                if !checkpointWritten {
                    try checkpoints.save(arena: model.arena, optimizer: optimizer, state: state,
                                         configurationJSON: configurationJSON, isBest: false)
                }
                let signal = StopSignals.pending.map(StopSignals.name) ?? "a stop signal on another rank"
                throw StoppedBySignal(step: state.step, signal: signal,
                                      checkpoint: checkpoints.latest ?? runDirectory)
            }
        }
        if lastValidation.accuracy < 0 {
            let result = try evaluate()
            lastValidation = (result.accuracy, result.loss)
            // With eval_every 0 this is the run's only evaluation: its checkpoint is the best
            // one evaluated, so `eval --checkpoint best` works for every finished run.
            if state.bestStep < 0 { try checkpoints.markLatestAsBest(step: state.step) }
        }
        log.message("")
        var summary = Summary(steps: state.step, validationAccuracy: lastValidation.accuracy, validationLoss: lastValidation.loss,
                              checkpoint: try Checkpoint.resolve(run: runDirectory), metrics: "\(runDirectory)/metrics.jsonl")
        if t.finalTest && state.step == t.steps { summary.test = try testBestCheckpoint() }
        return summary
    }

    /// Loads the best checkpoint (else the latest) and evaluates it on the test split; records
    /// the result in metrics.jsonl. A task without a test split, or missing test files, is
    /// reported and skipped: the training it follows is done and saved.
    func testBestCheckpoint() throws -> (accuracy: Double, step: Int)? {
        let test: any Dataset
        do {
            test = try CollectiveWatchdog.patience(10, "loading the test split") {
                try world.allOrNone { try TaskData.loadTest(configuration.data) }
            }
        } catch let error as DatasetError {
            log.message("test split not evaluated: \(error)")
            return nil
        }
        guard let directory = try checkpoints.resolve("best") ?? checkpoints.resolve("latest") else { return nil }
        // The model keeps its final parameters: the best ones are loaded for this evaluation only.
        let arena = model.arena
        let final = Array(UnsafeBufferPointer(arena.sharedValues))
        defer { final.withUnsafeBufferPointer { arena.sharedValues.baseAddress!.update(from: $0.baseAddress!, count: $0.count) } }
        let tested = try CollectiveWatchdog.patience(10, "loading the best checkpoint") {
            try checkpoints.load(directory, into: arena)
        }
        let result = try evaluate(split: test, maxBatches: Int.max, parametersStep: tested.step)
        try log.record(MetricsRecord(step: tested.step, epoch: tested.epoch, split: "test", loss: result.loss,
                                     accuracy: result.accuracy, examples: result.count,
                                     skippedExamples: result.skipped > 0 ? result.skipped : nil))
        timeline.record(step: tested.step, split: "test")
        return (result.accuracy, tested.step)
    }

    struct StepOutcome {
        var lossSum = 0.0, correct = 0.0, count = 0.0, tokens = 0.0, gradientNorm = 0.0
        var skipped = false
        /// Some rank received a stop signal (`StopSignals`) before the step's all-reduce.
        var stopRequested = false
    }

    /// One optimizer step over `accumulation` micro-batches; metrics are global (all ranks).
    func trainStep(learningRate: Float) throws -> StepOutcome {
        let t = configuration.training, arena = model.arena
        var outcome = StepOutcome()
        let step = state.step + 1
        fault?.strikeProcess(step: step, rank: world.rank)
        arena.zeroGradients()
        if fault?.isDue([.nanGradient], step: step, rank: world.rank) == true { arena.sharedGradients.baseAddress![0] = .nan }
        var finite = true
        for micro in 0..<t.accumulation {
            let batch = try nextBatch()
            let context = ForwardContext(
                training: true,
                random: RandomStream(seed: UInt64(bitPattern: Int64(t.seed)))
                    .derived(UInt64(state.step), UInt64(grid.dataRank), UInt64(micro)),
                step: state.step)
            let logits = model.logits(for: batch, context: context)
            try sharding.throwIfFailed()
            var result = lossFunction.forward(logits: logits, labels: batch.labels)
            if micro == 0 && fault?.isDue([.nanLoss], step: step, rank: world.rank) == true { result.loss = .nan }
            finite = finite && result.loss.isFinite
            outcome.lossSum += result.loss * Double(result.count)
            outcome.correct += Double(result.correct)
            outcome.count += Double(result.count)
            outcome.tokens += Double(batch.mask.reduce(0, +) + (batch.pairedMask?.reduce(0, +) ?? 0))
            var dLogits = lossFunction.backward()
            if t.accumulation > 1 { dLogits.withUnsafeMutableBufferPointer { Kernels.scale($0, by: 1 / Float(t.accumulation)) } }
            if micro == t.accumulation - 1 {
                synchronizer.begin()
                model.backward(dLogits) { [synchronizer] first in
                    do { try synchronizer.gradientsReady(from: first) } catch { MPIRuntime.abort("\(error)") }
                }
                try synchronizer.finish()
            } else {
                model.backward(dLogits, gradientsReady: nil)
            }
            try sharding.throwIfFailed()
        }
        // Metrics, the finiteness verdict and stop requests are reduced so every rank decides alike.
        var totals = [outcome.lossSum, outcome.correct, outcome.count, outcome.tokens, finite ? 0 : 1,
                      StopSignals.pending == nil ? 0 : 1]
        try world.allreduce(&totals, .sum)
        outcome.stopRequested = totals[5] > 0
        var counted = Array(totals[0..<4])
        sharding.countOnce(&counted)
        (outcome.lossSum, outcome.correct, outcome.count, outcome.tokens) = (counted[0], counted[1], counted[2], counted[3])
        let clip = configuration.optimizer.gradientClip
        let norm = clip > 0 ? clipGradientNorm(arena, maxNorm: clip) : gradientNorm(arena)
        outcome.gradientNorm = Double(norm)
        if totals[4] > 0 || !norm.isFinite {
            let what = totals[4] > 0 ? "loss" : "gradient norm"
            if t.onNonfinite == .skip {
                log.message("step \(step): non-finite \(what); step skipped (training.on_nonfinite: skip)")
                outcome.skipped = true
                return outcome
            }
            let last = checkpoints.latest ?? "none yet"
            throw NonFiniteError(step: step, what: what, lastCheckpoint: last)
        }
        optimizer.step(learningRate: learningRate)
        return outcome
    }

    /// The next training batch, moving to the next epoch when this one is used up.
    func nextBatch() throws -> Batch {
        while true {
            if prefetcher == nil {
                reportedBatchSkips = 0
                prefetcher = BatchPrefetcher(batcher: trainBatcher, epoch: state.epoch, firstBatch: state.batchInEpoch,
                                             depth: max(1, configuration.data.prefetch))
            }
            if let batch = try prefetcher!.next() {
                state.batchInEpoch += 1
                return batch
            }
            prefetcher = nil
            state.epoch += 1
            state.batchInEpoch = 0
        }
    }

    // MARK: - Evaluation

    public typealias Evaluation = Evaluator.Evaluation

    /// Accuracy and loss over the validation split, or `split` (`Evaluator.evaluate`).
    public func evaluate(split: (any Dataset)? = nil, maxBatches: Int? = nil, parametersStep: Int? = nil,
                         logits: ((Batch, Tensor) -> Void)? = nil) throws -> Evaluation {
        try evaluator.evaluate(split ?? data.validation, maxBatches: maxBatches, parametersStep: parametersStep ?? state.step,
                               logits: logits)
    }
}

/// A non-finite loss or gradient under `training.on_nonfinite: stop`.
public struct NonFiniteError: Error, CustomStringConvertible {
    public let step: Int
    public let what: String
    public let lastCheckpoint: String
    public var description: String {
        "non-finite \(what) at step \(step); training stopped. The last good checkpoint is \(lastCheckpoint)"
    }
}
