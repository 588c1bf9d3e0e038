import ArgumentParser
import Distributed
import Foundation
import Optimizers
import Training

extension Parseval {
    struct CheckpointCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "checkpoint",
            abstract: "Work with checkpoints: import weights written by PyTorch or another tool.",
            subcommands: [Seal.self])
    }

    struct Seal: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seal a safetensors file of weights into a Parseval checkpoint of a run folder.",
            discussion: """
                The file must hold every parameter of the configured model by Parseval's name and \
                shape (docs/checkpoints.md lists them); F32, F16 and BF16 are read, F64 is refused. \
                Kernelized mixers' random features (NAME.features) are taken when present. The \
                result is RUN/checkpoints/step-N with Parseval's metadata, checksum and manifest and \
                zero optimizer moments, pointed at by `latest` and `best`, and RUN/config.json: \
                evaluate it with `parseval eval RUN`, or fine-tune by training with the same config \
                and output.directory. Example, after PyTorch wrote model.safetensors:
                  parseval checkpoint seal --config configs/lra/listops-fftnet.yaml --weights model.safetensors --run runs/imported
                """)

        @Option(help: "YAML config of the model the weights belong to.") var config: String
        @Option(name: .customLong("set"), help: "Override a key (repeatable).") var overrides: [String] = []
        @Option(help: "The safetensors file to import.") var weights: String
        @Option(name: .customLong("run"), help: "Run folder to write the checkpoint into (default: the config's output.directory).")
        var runFolder: String?
        @Option(help: "Optimizer step the weights stand at (names the step folder; 0 or more).") var step = 0
        @Flag(help: "Seal weights holding NaN or infinite values (refused by default, naming the tensor).")
        var allowNonfinite = false
        @Option(help: "Naming scheme of the weights: parseval, torch-encoder or timm-vit (docs/checkpoints.md).")
        var from = WeightSource.parseval

        func validate() throws {
            guard (0...TrainingState.maximumPosition).contains(step) else {
                throw ValidationError("--step must be in 0...\(TrainingState.maximumPosition), got \(step)")
            }
        }

        func run() throws {
            let world = MPIRuntime.initialize()
            try reportingFailures(world) {
                var configuration = try ConfigurationLoader.load(path: config, overrides: overrides)
                if let runFolder { configuration.output.directory = runFolder }
                let builder = try RunBuilder(configuration: configuration, world: world)
                let folder = configuration.output.directory
                let model = try builder.buildModel()
                let optimizer = AdamW(arena: model.arena)
                let json = try ConfigurationLoader.encode(builder.configuration)
                let checkpoints = CheckpointManager(world: world, runDirectory: folder)
                try checkpoints.lockRunFolder()
                let directory = try Checkpoint.seal(weights: weights, source: from, model: model.arena, optimizer: optimizer, run: folder,
                                                    step: step, configurationJSON: json, allowNonFinite: allowNonfinite)
                try checkpoints.recordConfiguration(json)
                print("sealed \(weights) → \(directory) (\(model.arena.count) parameters, \(model.arena.buffers.count) buffers)")
            }
        }
    }
}

extension WeightSource: ExpressibleByArgument {}
