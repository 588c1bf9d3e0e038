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
    /// Everything the run is built from its configuration.
    public let run: RunAssembly
    public private(set) var state = TrainingState()
    var prefetcher: BatchPrefetcher?
    /// Bad examples of the current prefetcher already reported.
    var reportedBatchSkips = 0

    /// Assembles the run (`RunAssembly`). Collective.
    public init(configuration: TrainingConfiguration, world: Communicator) throws {
        run = try RunAssembly(configuration: configuration, world: world)
    }

    public var configuration: TrainingConfiguration { run.configuration }
    public var world: Communicator { run.world }
    public var sharding: SequenceSharding { run.sharding }
    public var grid: ProcessGrid { run.sharding.grid }
    public var runDirectory: String { run.runDirectory }
    public var data: TaskData { run.data }
    public var model: any TrainableModel { run.model }
    public var checkpoints: CheckpointManager { run.checkpoints }
    public var matmulSummary: String { run.matmulSummary }
    var optimizer: any Optimizer { run.optimizer }
    var log: TrainingLog { run.log }
    var timeline: Timeline { run.timeline }
    var loop: LoopSettings { run.loop }

    // MARK: - Resume

    /// Takes the run folder for this job (its lock), then starts over (`fresh`: the folder's
    /// checkpoints and metrics removed) or resumes from its newest intact checkpoint. Collective.
    public func prepare(fresh: Bool) throws {
        try checkpoints.lockRunFolder()
        if fresh { try checkpoints.discardHistory() } else { try resumeIfPossible() }
    }

    /// Restores the newest intact checkpoint of the run folder, if any; returns its step. Rank 0
    /// chooses the checkpoint (passing over damaged ones, which it reports) and checks that it
    /// was made with the same model, task and seed; every rank loads it (the run folder must be
    /// shared).
    @discardableResult
    public func resumeIfPossible() throws -> Int? {
        try CollectiveWatchdog.patience(10, "resuming") { try resume() }
    }

    func resume() throws -> Int? {
        let chosen = try checkpoints.chooseForResume(conflicts: run.resumeConflicts(withSaved:))
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
        let t = loop.training
        let endStep = min(stopStep ?? t.steps, t.steps)
        var progress = Progress(window: state.window ?? MetricsWindow(), startStep: state.step)
        log.message("training \(loop.title): "
                    + "\(data.train.count) examples, \(model.arena.count) parameters, \(world.size) rank(s), "
                    + "global batch \(t.batchSize), \(t.steps) steps → \(runDirectory)")
        var lastValidation: Evaluation?
        try checkpoints.recordConfiguration(run.configurationJSON)
        while state.step < endStep {
            CollectiveWatchdog.setContext("step \(state.step + 1)")
            let learningRate = run.schedule.learningRate(at: state.step)
            let outcome = try trainStep(learningRate: learningRate)
            StopSignals.firstStepDone()
            progress.add(outcome, timeline: timeline)
            state.step += 1
            if state.step % t.logEvery == 0 || state.step == t.steps { try recordTraining(&progress, learningRate: learningRate) }
            state.window = progress.window  // a checkpoint of this step carries the open window
            if loop.checkEvery > 0 && state.step % loop.checkEvery == 0 {
                guard try world.agree(on: parameterChecksum(model.arena)) else {
                    MPIRuntime.abort("parameters diverged across ranks at step \(state.step)")
                }
            }
            var isBest = false
            if t.evalEvery > 0 && (state.step % t.evalEvery == 0 || state.step == t.steps) {
                let result = try evaluate()
                (lastValidation, isBest) = (result, try recordValidation(result))
            }
            let due = isBest || (t.checkpointEvery > 0 && state.step % t.checkpointEvery == 0) || state.step == endStep
            // A stop request checkpoints the step whether or not one was due.
            if due || outcome.stopRequested {
                try checkpoints.save(arena: model.arena, optimizer: optimizer, state: state,
                                     configurationJSON: run.configurationJSON, isBest: isBest)
            }
            if outcome.stopRequested {
                let signal = StopSignals.pending.map(StopSignals.name) ?? "a stop signal on another rank"
                throw StoppedBySignal(step: state.step, signal: signal, checkpoint: checkpoints.latest ?? runDirectory)
            }
        }
        if lastValidation == nil {
            let result = try evaluate()
            try requireFinite(result, step: state.step)
            lastValidation = result
            // With eval_every 0 this is the run's only evaluation: its checkpoint is the best
            // one evaluated, so `eval --checkpoint best` works for every finished run.
            if state.bestStep < 0 { try checkpoints.markLatestAsBest(step: state.step) }
        }
        log.message("")
        var summary = Summary(steps: state.step, validationAccuracy: lastValidation?.accuracy ?? -1, validationLoss: lastValidation?.loss ?? .nan,
                              checkpoint: try Checkpoint.resolve(run: runDirectory), metrics: "\(runDirectory)/metrics.jsonl")
        if t.finalTest && state.step == t.steps { summary.test = try testBestCheckpoint() }
        return summary
    }

    /// The open metrics window (a checkpoint carries it) and, for the progress line only, the
    /// tokens and time since the last line and since the run (re)started.
    struct Progress {
        var window: MetricsWindow
        let startStep: Int
        let start = Date()
        /// Tokens since the last progress line: its tokens/s is not a metric.
        var tokens = 0.0
        var since = Date()

        mutating func add(_ outcome: StepOutcome, timeline: Timeline) {
            if outcome.skipped {
                window.skipped += 1  // its non-finite loss or norm stays out of the metrics
                return
            }
            window.loss += outcome.lossSum
            window.correct += outcome.correct
            window.count += outcome.count
            window.gradientNorm = outcome.gradientNorm
            tokens += outcome.tokens
            timeline.add(tokens: outcome.tokens)
        }
    }

    /// Writes the training window's metrics record and progress line, then opens a new window.
    func recordTraining(_ progress: inout Progress, learningRate: Float) throws {
        let t = loop.training, window = progress.window
        let elapsed = Date().timeIntervalSince(progress.since)
        let done = Double(state.step - progress.startStep), remaining = Double(t.steps - state.step)
        let eta = Date().timeIntervalSince(progress.start) / max(done, 1) * remaining
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
        log.progress(String(format: "step %ld/%ld | epoch %ld | loss %@ | acc %@ | lr %.2e | %.0f tok/s | ETA %@",
                            state.step, t.steps, state.epoch, lossText, accuracyText,
                            learningRate, progress.tokens / max(elapsed, 1e-9), formatDuration(eta)))
        (progress.window, progress.tokens, progress.since) = (MetricsWindow(), 0, Date())
    }

    /// Checks a validation, records it (metrics, timeline, progress line) and whether it is the
    /// run's best so far, which it returns.
    func recordValidation(_ result: Evaluation) throws -> Bool {
        try requireFinite(result, step: state.step)
        let isBest = result.accuracy > state.bestAccuracy
        if isBest {
            state.bestAccuracy = result.accuracy
            state.bestStep = state.step
        }
        try log.record(MetricsRecord(step: state.step, epoch: state.epoch, split: "validation", loss: result.loss,
                                     accuracy: result.accuracy, examples: result.count,
                                     skippedExamples: result.skipped > 0 ? result.skipped : nil))
        timeline.record(step: state.step, split: "validation")
        log.progress(String(format: "step %ld | validation loss %.4f | accuracy %.4f (%ld examples)%@",
                            state.step, result.loss, result.accuracy, result.count, isBest ? " | best" : ""), keep: true)
        return isBest
    }

    /// A validation whose loss is not finite stops the run (exit 5) before it is recorded, marked
    /// best or checkpointed.
    func requireFinite(_ result: Evaluation, step: Int) throws {
        guard !result.loss.isFinite else { return }
        throw NonFiniteError(step: step, what: "validation loss (\(result.loss))", lastCheckpoint: checkpoints.latest ?? "none yet")
    }

    /// Loads the best checkpoint (else the latest) and evaluates it on the test split; records
    /// the result in metrics.jsonl. A task without a test split, or missing test files, is
    /// reported and skipped: the training it follows is done and saved.
    func testBestCheckpoint() throws -> (accuracy: Double, step: Int)? {
        let test: any Dataset
        do {
            test = try CollectiveWatchdog.patience(10, "loading the test split") {
                try world.allOrNone { try run.loadTestSplit() }
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
        guard result.loss.isFinite else {
            throw NonFiniteError("the test loss of \(directory) is \(result.loss): not recorded")
        }
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
        let t = loop.training, arena = model.arena
        var outcome = StepOutcome()
        let step = state.step + 1
        run.fault?.strikeProcess(step: step, rank: world.rank)
        arena.zeroGradients()
        if run.fault?.isDue([.nanGradient], step: step, rank: world.rank) == true { arena.sharedGradients.baseAddress![0] = .nan }
        var finite = true
        for micro in 0..<t.accumulation {
            let batch = try nextBatch()
            let context = ForwardContext(
                training: true,
                random: RandomStream(seed: t.seed.seedBits)
                    .derived(UInt64(state.step), UInt64(grid.dataRank), UInt64(micro)),
                step: state.step)
            let logits = model.logits(for: batch, context: context)
            try sharding.throwIfFailed()
            var result = run.lossFunction.forward(logits: logits, labels: batch.labels)
            if micro == 0 && run.fault?.isDue([.nanLoss], step: step, rank: world.rank) == true { result.loss = .nan }
            finite = finite && result.loss.isFinite
            outcome.lossSum += result.loss * Double(result.count)
            outcome.correct += Double(result.correct)
            outcome.count += Double(result.count)
            outcome.tokens += Double(batch.mask.reduce(0, +) + (batch.pairedMask?.reduce(0, +) ?? 0))
            var dLogits = run.lossFunction.backward()
            if let factor = run.scaling.microBatchFactor { dLogits.withUnsafeMutableBufferPointer { Kernels.scale($0, by: factor) } }
            if micro == t.accumulation - 1 {
                run.synchronizer.begin()
                let synchronizer = run.synchronizer
                model.backward(dLogits) { first in
                    do { try synchronizer.gradientsReady(from: first) } catch { MPIRuntime.abort("\(error)") }
                }
                try run.synchronizer.finish()
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
        let clip = loop.gradientClip
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
        if run.fault?.isDue([.nanParameter], step: step, rank: world.rank) == true { arena.sharedValues[arena.count - 1] = .nan }
        // A finite gradient can still make a non-finite update (a learning rate or decay far too
        // large): it cannot be skipped once applied, so every policy stops here, before the
        // parameters reach a checkpoint.
        if let tensor = arena.firstNonFiniteParameter() {
            throw NonFiniteError(step: step, what: "parameter '\(tensor)' after the update (learning rate \(learningRate); "
                                 + "training.on_nonfinite cannot skip an update already applied)",
                                 lastCheckpoint: checkpoints.latest ?? "none yet")
        }
        return outcome
    }

    /// The next training batch, moving to the next epoch when this one is used up.
    func nextBatch() throws -> Batch {
        while true {
            if prefetcher == nil {
                reportedBatchSkips = 0
                prefetcher = BatchPrefetcher(batcher: run.trainBatcher, epoch: state.epoch, firstBatch: state.batchInEpoch,
                                             depth: loop.prefetch)
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
        try run.evaluator.evaluate(split ?? data.validation, maxBatches: maxBatches, parametersStep: parametersStep ?? state.step,
                               logits: logits)
    }
}

/// A non-finite loss or gradient under `training.on_nonfinite: stop`, parameters an update made
/// non-finite, or a checkpoint whose evaluation is not finite (exit 5).
public struct NonFiniteError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }

    /// Training stopped at `step`; `lastCheckpoint` is the newest one written (all finite).
    public init(step: Int, what: String, lastCheckpoint: String) {
        description = "non-finite \(what) at step \(step); training stopped. The last good checkpoint is \(lastCheckpoint)"
    }
}
