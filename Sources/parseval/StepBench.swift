import ArgumentParser
import Distributed
import Foundation
import Layers
import Models
import Optimizers
import TensorCore
import Training

extension Parseval.Bench {
    struct StepBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "step",
            abstract: "Time one training step (forward, backward, AdamW) of the standard encoder.",
            discussion: """
                Defaults are the standard encoder of docs/benchmarks.md: 4 layers, dim 256, MLP 1024, 8 heads, \
                sequence 4096, batch 4, vocabulary 257. Reports the median step time, tokens/s, \
                the time and share spent in gemm (profiled), the gemm bound at the sgemm rate \
                measured inside the step, and peak tensor memory. Under mpirun each rank runs \
                --batch examples and gradients are averaged as in training (bucketed, \
                overlapped): step time at P ranks over 1 rank is the weak-scaling efficiency, and \
                the step splits into compute, exposed communication (time inside the gradient \
                all-reduce calls) and overlapped communication (the same all-reduce timed alone, \
                less what was exposed). --config times the model of a config instead (its model \
                section and data.sequence_length, with --set overrides; --batch stays the batch per \
                rank): what launch/lra-study.sh --estimate multiplies by each cell's steps. \
                Kernel choices: the step runs the measured choices for this CPU (the committed \
                table, then the --wisdom file) as train does; --tune measures the shapes that have \
                none during the first warm-up step and saves them, and plans every FFT with FFTW's \
                measure and saves FFTW's wisdom beside them (runs import it); --no-kernel-choices \
                (or --engine) runs every operation as configured.
                """)

        @OptionGroup var runtime: RuntimeOptions
        @OptionGroup var options: BenchOptions
        @OptionGroup var matmul: MatmulOptions
        @OptionGroup var choices: KernelChoiceOptions
        @Option(help: "Encoder layers.") var depth = 4
        @Option(help: "Token vocabulary.") var vocabulary = 257
        @Option(help: "Dropout rate of the encoder blocks (the LRA recipes use 0.1).") var dropout: Float = 0
        @Option(help: "FFTW planner effort (parallel.fft_planning); --tune plans with measure and saves the plans as FFTW wisdom.") var planning: FFTPlanningEffort = .estimate
        @Option(help: "Gradient bucket size in MB for the overlapped all-reduce (parallel.bucket_megabytes).")
        var bucketMegabytes = 25
        @Option(help: "Token mixer: \(MixerKind.allCases.map(\.rawValue).joined(separator: ", ")).")
        var mixer = MixerKind.attention.rawValue
        @Option(help: "Time this config's model (a sequence classifier) instead of the standard encoder.") var config: String?
        @Option(name: .customLong("set"), help: "Override a key of --config (repeatable).") var overrides: [String] = []

        func run() throws {
            let world = try startFFTBenchmark(runtime, planning: planning)
            let products = try matmul.apply()
            let choiceSummary = choices.apply(engineChosen: matmul.engine != nil)
            guard let kind = MixerKind(rawValue: mixer) else {
                throw ValidationError("--mixer must be one of \(MixerKind.allCases.map(\.rawValue)), got '\(mixer)'")
            }
            let o = options
            var configuration = ModelConfiguration()
            var sequence = o.sequence
            if let config {
                do {
                    let loaded = try ConfigurationLoader.load(path: config, overrides: overrides)
                    guard !loaded.data.task.images && !loaded.data.task.paired else {
                        throw ValidationError("--config: bench step times sequence classifiers, not data.task \(loaded.data.task.rawValue)")
                    }
                    (configuration, sequence) = (loaded.model, loaded.data.sequenceLength)
                } catch let error as ConfigurationError {
                    throw ValidationError(error.description)
                }
            } else {
                configuration.mixer = kind
                configuration.vocabularySize = vocabulary
                configuration.maxLength = o.sequence
                configuration.dim = o.dim
                configuration.depth = depth
                configuration.heads = o.heads
                configuration.mlpHidden = o.mlp
                configuration.dropout = dropout
                configuration.classes = 10
                do { try configuration.validate() } catch { throw ValidationError(error.message) }
            }
            let (vocabulary, classes) = (configuration.vocabularySize, configuration.classes)

            let model = EncoderClassifier(configuration, seed: 1)
            let optimizer = AdamW(arena: model.arena)
            let synchronizer = GradientSynchronizer(communicator: world, arena: model.arena, bucketBytes: bucketMegabytes << 20)
            let loss = SoftmaxCrossEntropy()
            var stream = RandomStream(seed: 2)
            let tokens = (0..<o.batch * sequence).map { _ in Int32(1 + stream.integer(below: vocabulary - 1)) }
            let labels = (0..<o.batch).map { _ in Int32(stream.integer(below: classes)) }
            let context = ForwardContext(training: true)
            func step() {
                model.arena.zeroGradients()
                let logits = model.forward(tokens: tokens, mask: nil, batch: o.batch, length: sequence, context: context)
                _ = loss.forward(logits: logits, labels: labels)
                synchronizer.begin()
                model.backward(loss.backward()) { first in
                    do { try synchronizer.gradientsReady(from: first) } catch { MPIRuntime.abort("\(error)") }
                }
                do { try synchronizer.finish() } catch { MPIRuntime.abort("\(error)") }
                optimizer.step(learningRate: 1e-4)
            }
            for _ in 0..<o.warmup { step() }
            if choices.tune && o.warmup == 0 { step() }  // the measuring step
            let saved = world.isRoot ? try choices.save() : nil
            MemoryStatistics.resetPeak()
            let poolBefore = StoragePool.statistics
            var times: [Double] = [], gemmTimes: [Double] = [], exposed: [Double] = [], alone: [Double] = []
            var gemmFlops = 0.0
            for _ in 0..<o.repeats {
                GemmProfiler.start()
                synchronizer.resetTimes()
                let start = ContinuousClock.now
                step()
                let elapsed = ContinuousClock.now - start
                let profile = GemmProfiler.stop()
                times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
                gemmTimes.append(profile.seconds)
                exposed.append(synchronizer.exposedSeconds)
                gemmFlops = profile.flops
            }
            // The gradient all-reduce alone, bucketed as in the step, with nothing to overlap.
            try world.barrier()
            for _ in 0..<o.repeats { alone.append(try synchronizer.allreduceAlone()) }
            let poolAfter = StoragePool.statistics
            // The slowest rank's median is the job's step time.
            func middle(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
            var medians = [middle(times), middle(gemmTimes), middle(exposed), middle(alone)]
            try world.allreduce(&medians, .max)
            let (median, gemmMedian) = (medians[0], medians[1])
            let (exposedMedian, aloneMedian) = (medians[2], medians[3])
            guard world.isRoot else { return }
            let c = configuration
            printBenchHeader("bench step: \(c.mixer.rawValue) encoder\(config.map { " of \($0)" } ?? ""), \(c.depth) layers, dim \(c.dim), "
                             + "mlp \(c.mlpHidden), heads \(c.heads), seq \(sequence), batch \(o.batch), dropout \(c.dropout), FFTW \(FFTPlanner.effort.rawValue); "
                             + "median of \(o.repeats) after \(o.warmup) warm-up", world: world)
            print("# \(products)")
            print("# \(saved ?? choiceSummary)")
            print("# engine rates: " + measureRates().map { "\($0.0.rawValue) " + String(format: "%.1f GFLOP/s", $0.1) }
                .joined(separator: ", ") + " (16384×1024×256)")
            print(String(format: "step time            %.3f s", median))
            print(String(format: "tokens/s             %.0f (all ranks)", Double(world.size * o.batch * sequence) / median))
            print(String(format: "gemm time            %.3f s (%.1f%% of the step), %.1f GFLOP at %.1f GFLOP/s",
                         gemmMedian, 100 * gemmMedian / median, gemmFlops / 1e9, gemmFlops / gemmMedian / 1e9))
            print(String(format: "step / gemm time     %.3f", median / gemmMedian))
            if world.size > 1 {
                // compute = step − exposed; overlapped = the all-reduce's own time that the step hid.
                let overlapped = min(max(aloneMedian - exposedMedian, 0), aloneMedian)
                print(String(format: "compute              %.3f s", median - exposedMedian))
                print(String(format: "exposed comm         %.3f s (%.1f%% of the step)", exposedMedian, 100 * exposedMedian / median))
                print(String(format: "all-reduce alone     %.3f s (%.1f MB in %ld bucket(s) of ≤ %ld MB)", aloneMedian,
                             Double(model.arena.count) * 4 / 1e6, synchronizer.buckets.count, bucketMegabytes))
                print(String(format: "overlapped comm      %.3f s (%.0f%% of the all-reduce hidden)", overlapped,
                             aloneMedian > 0 ? 100 * overlapped / aloneMedian : 0))
            }
            if Matmul.bf16FallbackCount > 0 {
                print("bf16 fallbacks       \(Matmul.bf16FallbackCount) products ran in fp32 (no bf16 kernel for their shape)")
            }
            print(String(format: "parameters           %ld (%.1f MB)", model.arena.count, Double(model.arena.count) * 4 / 1e6))
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)  // ru_maxrss in KiB on Linux: the process's peak, as PyTorch's is measured
            print(String(format: "peak resident memory %.1f MB (the process: parameters, optimizer, activations, libraries)",
                         Double(usage.ru_maxrss) * 1024 / 1e6))
            print(String(format: "peak tensor memory   %.1f MB (pool reserves %.1f MB)", Double(MemoryStatistics.peak) / 1e6,
                         Double(poolAfter.reservedBytes) / 1e6))
            let requests = (poolAfter.hits + poolAfter.misses) - (poolBefore.hits + poolBefore.misses)
            print(String(format: "tensor allocations   %.1f per step, %.1f of them from the system (steady state: 0)",
                         Double(requests) / Double(o.repeats), Double(poolAfter.misses - poolBefore.misses) / Double(o.repeats)))
        }
    }
}
