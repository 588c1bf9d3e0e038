import ArgumentParser
import Datasets
import Distributed
import Foundation
import Training

extension Parseval {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a model from a YAML config, alone or under mpirun (data parallel).",
            discussion: """
                The global batch (training.batch_size) is split over the ranks. Progress and \
                metrics come from rank 0; checkpoints, metrics.jsonl and the resolved config go to \
                output.directory. A run whose folder holds a checkpoint resumes from it unless \
                --fresh is given. Example:
                  mpirun -np 2 parseval train --config configs/quickstart.yaml --set training.steps=200
                Exit codes: 2 config, 3 data, 4 checkpoint, 5 non-finite loss, gradient or parameters, \
                6 MPI, 7 stopped by SIGTERM, SIGINT or SIGUSR1 after writing a checkpoint, or before the \
                first step with nothing to save (run the same command to resume; a second signal stops \
                at once), 1 other.
                """)

        @Option(help: "YAML config (configs/ has one per LRA task and model).") var config: String
        @Option(name: .customLong("set"), help: "Override a key: --set model.dim=128 (repeatable).")
        var overrides: [String] = []
        @Flag(help: "Start from step 0, removing the run folder's checkpoints and metrics.jsonl first.") var fresh = false

        func run() throws {
            let world = MPIRuntime.initialize()
            StopSignals.install()
            try reportingFailures(world) {
                let configuration = try ConfigurationLoader.load(path: config, overrides: overrides)
                let (choices, fft) = activateKernelChoices()
                let trainer = try Trainer(configuration: configuration, world: world)
                if world.isRoot { print(trainer.matmulSummary + "; kernel choices: \(choices) measured for this CPU; \(fft)") }
                try trainer.prepare(fresh: fresh)
                let summary = try trainer.run()
                if world.isRoot {
                    print(String(format: "validation accuracy %.4f (loss %.4f) after %ld steps",
                                 summary.validationAccuracy, summary.validationLoss, summary.steps))
                    if let test = summary.test {
                        print(String(format: "test accuracy %.4f (best checkpoint, step %ld)", test.accuracy, test.step))
                    }
                    print("checkpoint: \(summary.checkpoint ?? "none")")
                    print("metrics:    \(summary.metrics)")
                }
            }
        }
    }

    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "eval",
            abstract: "Evaluate a checkpoint on the validation or test split: accuracy, loss, and optionally logits.",
            discussion: """
                Uses the config saved in the run folder unless --config is given. --logits writes \
                one line per example: its index, label and logits (tab-separated), in split order. \
                Reads only the split evaluated and the checkpoint (rank 0 reads it and sends it to \
                the other ranks); writes nothing to the run folder, which may be read-only.
                """)

        @Option(name: .customLong("run"), help: "Run folder (output.directory of the training run).")
        var runFolder: String
        @Option(help: "Which checkpoint: latest, best, or a step folder path.") var checkpoint = "latest"
        @Option(help: "Which split: val (the validation split) or test (docs/datasets.md lists each task's).")
        var split = Evaluator.EvaluationSplit.val
        @Option(help: "Config to use instead of RUN/config.json.") var config: String?
        @Option(name: .customLong("set"), help: "Override a key (repeatable).") var overrides: [String] = []
        @Option(help: "Write per-example logits to this file.") var logits: String?

        func run() throws {
            let world = MPIRuntime.initialize()
            try reportingFailures(world) {
                var configuration = try ConfigurationLoader.load(path: config ?? "\(runFolder)/config.json", overrides: overrides)
                configuration.output.directory = runFolder
                activateKernelChoices()
                // The evaluator alone: no training data, no optimizer state, nothing written to the run folder.
                let (evaluator, dataset) = try Evaluator.standalone(configuration: configuration, world: world, split: split)
                let (directory, state) = try evaluator.checkpoints.load(named: checkpoint, into: evaluator.model.arena)
                var lines: [String] = []
                // The ranks of a sequence group share their examples (and logits): one writes them.
                let writesLogits = evaluator.grid.sequenceGroup.rank == 0
                let result = try evaluator.evaluate(dataset, maxBatches: Int.max, parametersStep: state.step) { batch, output in
                    for (k, index) in batch.indices.enumerated() where writesLogits && batch.labels[k] >= 0 {
                        let row = (0..<output.shape[1]).map { String(output[k, $0]) }.joined(separator: "\t")
                        lines.append("\(index)\t\(batch.labels[k])\t\(row)")
                    }
                }
                guard result.loss.isFinite else {
                    throw NonFiniteError("checkpoint \(directory) (step \(state.step)) gives a non-finite loss (\(result.loss)) "
                                         + "on the \(split == .test ? "test" : "validation") split")
                }
                if let logits {
                    // Each rank holds its shard; gather them to rank 0 in rank order.
                    let shards = try world.gather(lines.joined(separator: "\n"))
                    if world.isRoot {
                        let body = shards.filter { !$0.isEmpty }.joined(separator: "\n")
                        try AtomicFile.write(Data(("index\tlabel\tlogits\n" + body + "\n").utf8), to: logits)
                    }
                }
                if world.isRoot {
                    print(String(format: "checkpoint %@ (step %ld): %@ accuracy %.4f, loss %.4f over %ld examples",
                                 directory, state.step, split == .test ? "test" : "validation", result.accuracy, result.loss,
                                 result.count))
                    if let logits { print("logits: \(logits)") }
                }
            }
        }
    }
}

/// Runs `body`; a thrown error is reported with the rank and turned into the exit code
/// for its kind. With more than one rank the whole job is aborted, so no rank is left
/// waiting in a collective.
/// The documented exit code of an error (`parseval train --help`): 2 config, 3 data,
/// 4 checkpoint, 5 non-finite loss, 6 MPI, 1 other; another rank's failure keeps its code.
func documentedExitCode(for error: any Error) -> Int32 {
    switch error {
    case is ConfigurationError, is RunLockError: return 2
    case is DatasetError: return 3
    case is CheckpointError: return 4
    case is NonFiniteError: return 5
    case is MPIError: return 6
    case let peer as PeerFailure: return peer.code
    default: return 1
    }
}

func reportingFailures(_ world: Communicator, _ body: () throws -> Void) throws {
    Communicator.exitCode = documentedExitCode(for:)
    do {
        try body()
    } catch let error as ValidationError {
        throw error
    } catch let stop as StoppedBySignal {
        // Every rank stops at the same step (the request is all-reduced), so the job ends
        // cleanly through MPI_Finalize rather than MPI_Abort.
        if world.isRoot { print("\nparseval: \(stop)") }
        throw ExitCode(StopSignals.exitCode)
    } catch {
        let code = documentedExitCode(for: error)
        if world.size > 1 { MPIRuntime.abort("\(error)", code: code) }
        FileHandle.standardError.write(Data("parseval: error: \(error)\n".utf8))
        throw ExitCode(code)
    }
}

extension Evaluator.EvaluationSplit: ExpressibleByArgument {}
