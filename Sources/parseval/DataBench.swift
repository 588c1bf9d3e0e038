import ArgumentParser
import Datasets
import Distributed
import Foundation
import TensorCore
import Training

extension Parseval.Bench {
    struct DataBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "data",
            abstract: "Examples per second of one rank's batch making (decoding, cropping, normalising), by decode thread count.",
            discussion: """
                Loads the training split of --config's task and times Batcher.makeBatch over \
                --batches batches of training.batch_size examples (after one untimed batch), for \
                each count in --decode-threads (data.decode_threads). For image tasks this is the JPEG \
                and PNG decoding that must keep up with the training step; token tasks are \
                already in memory. Reported: the median of --repeats passes, examples/s, and the \
                speedup over one thread.
                """)

        @OptionGroup var runtime: RuntimeOptions
        @Option(help: "Training config whose task and data folder to read.") var config: String
        @Option(name: .customLong("set"), help: "Override a config key (key.path=value); repeatable.") var overrides: [String] = []
        @Option(help: "Decode thread counts to compare, comma-separated (default: 1 and the rank's thread count).")
        var decodeThreads: String?
        @Option(help: "Batches per timed pass.") var batches = 4
        @Option(help: "Timed passes per thread count (the median is reported).") var repeats = 3

        func validate() throws {
            if !(1...100_000).contains(batches) || !(1...10_000).contains(repeats) {
                throw ValidationError("--batches must be 1 … 100000 and --repeats 1 … 10000")
            }
        }

        func run() throws {
            let world = MPIRuntime.initialize()
            if let threads = runtime.threads { Threading.configure(threads: threads) }
            let configuration = try ConfigurationLoader.load(path: config, overrides: overrides)
            let counts = try decodeThreads.map { text in
                try text.split(separator: ",").map { part -> Int in
                    guard let value = Int(part), (1...Threading.maximum).contains(value) else {
                        throw ValidationError("--decode-threads: '\(part)' is not a count in 1 … \(Threading.maximum)")
                    }
                    return value
                }
            } ?? Array(Set([1, Threading.count])).sorted()
            let data = try TaskData.load(configuration.data)
            let d = configuration.data, batchSize = configuration.training.batchSize
            if world.isRoot {
                printBenchHeader("bench data: \(d.task.rawValue) from \(d.directory), batch \(batchSize), "
                                 + "median of \(repeats) passes of \(batches) batches", world: world)
                print(formatRow(["decode threads", "seconds/batch", "examples/s", "speedup"], widths: [15, 14, 12, 8]))
            }
            var single: Double?
            for count in counts {
                let batcher = Batcher(dataset: data.train,
                                      sampler: DistributedSampler(count: data.train.count, ranks: 1, rank: 0, shuffle: true, seed: 1),
                                      batchSize: batchSize, sequenceLength: d.sequenceLength, dropLastBatch: true,
                                      skipBadExamples: d.skipBadExamples, seed: 1, decodeThreads: count)
                let plan = batcher.batchIndices(epoch: 0)
                guard plan.count > batches else {
                    throw ValidationError("\(d.directory): \(plan.count) batches of \(batchSize) in the training split; "
                                          + "--batches \(batches) needs more")
                }
                var log = BadExampleLog(skipBadExamples: d.skipBadExamples)
                _ = try batcher.makeBatch(indices: plan[0], epoch: 0, log: &log)
                var times: [Double] = []
                for _ in 0..<repeats {
                    let start = Date()
                    for indices in plan[1...batches] { _ = try batcher.makeBatch(indices: indices, epoch: 0, log: &log) }
                    times.append(Date().timeIntervalSince(start) / Double(batches))
                }
                let median = times.sorted()[times.count / 2]
                if count == 1 { single = median }
                if world.isRoot {
                    print(formatRow([String(count), String(format: "%.4f", median), String(format: "%.0f", Double(batchSize) / median),
                                     single.map { String(format: "%.2f×", $0 / median) } ?? "—"], widths: [15, 14, 12, 8]))
                }
            }
        }
    }
}
