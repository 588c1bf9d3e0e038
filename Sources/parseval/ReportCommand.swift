import ArgumentParser
import Foundation
import Models
import Training

extension Parseval {
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Turn run folders into a results table, learning curves and plots.",
            discussion: """
                Reads each run's config.json, metrics.jsonl and timeline.jsonl (nothing else: \
                checkpoints may be gone). Writes results.csv (task, mixer, block, seed, params, steps, \
                tokens, wall time, tokens/s, peak memory, best validation and test accuracy), \
                curves.csv (validation accuracy by step and wall time), a Markdown table of means \
                over seeds on standard output, and with --plots three kinds of PNG through gnuplot: \
                validation accuracy against step and against wall time per task, and test \
                accuracy against training throughput. launch/lra-study.sh calls it; a cluster \
                user gets the same page from their own runs:
                  parseval report runs/study/* --out runs/study/report --plots
                """)

        @Argument(help: "Run folders (output.directory of each run).") var runs: [String]
        @Option(help: "Folder for results.csv, curves.csv and the plots.") var out = "report"
        @Flag(help: "Draw the plots with gnuplot (skipped with a message when it is not installed).") var plots = false

        func run() throws {
            var results: [RunResult] = []
            for folder in runs {
                do { results.append(try RunResult(folder: folder)) } catch {
                    FileHandle.standardError.write(Data("parseval report: skipping \(folder): \(error)\n".utf8))
                }
            }
            guard !results.isEmpty else { throw ValidationError("no readable run folder among the \(runs.count) given") }
            results.sort { ($0.task, $0.mixer, $0.recipe, $0.seed) < ($1.task, $1.mixer, $1.recipe, $1.seed) }
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try AtomicFile.write(Data((RunResult.csvHeader + "\n" + results.map(\.csvRow).joined(separator: "\n") + "\n").utf8),
                                 to: "\(out)/results.csv")
            let curves = results.flatMap { run in
                run.validation.map { "\(run.task),\(run.mixer),\(run.block),\(run.seed),\($0.step),\(format($0.seconds)),\(format($0.accuracy))" }
            }
            try AtomicFile.write(Data(("task,mixer,block,seed,step,seconds,val_accuracy\n" + curves.joined(separator: "\n") + "\n").utf8),
                                 to: "\(out)/curves.csv")
            print(markdown(results))
            print("\nwrote \(out)/results.csv and \(out)/curves.csv (\(results.count) runs)")
            if plots { try drawPlots(results) }
        }

        /// Mean over seeds per task, mixer and block, with every seed's value.
        func markdown(_ results: [RunResult]) -> String {
            var lines = ["| task | mixer | recipe | params | steps | test accuracy: mean (seeds) | best validation: mean (seeds) | tokens/s | wall time |",
                         "|---|---|---|---|---|---|---|---|---|"]
            let groups = Dictionary(grouping: results) { "\($0.task)|\($0.mixer)|\($0.recipe)" }
            for key in groups.keys.sorted() {
                let runs = groups[key]!.sorted { $0.seed < $1.seed }
                func summary(_ values: [Double?]) -> String {
                    let present = values.compactMap { $0 }
                    guard !present.isEmpty else { return "—" }
                    let mean = present.reduce(0, +) / Double(present.count)
                    return String(format: "%.4f", mean) + " (" + values.map { $0.map { String(format: "%.4f", $0) } ?? "—" }
                        .joined(separator: ", ") + ")"
                }
                let first = runs[0]
                let speed = runs.map(\.tokensPerSecond).reduce(0, +) / Double(runs.count)
                let wall = runs.map(\.seconds).reduce(0, +) / Double(runs.count)
                lines.append("| \(first.task) | \(first.mixer) | \(first.recipe) | \(first.parameters) | \(first.steps) | "
                             + "\(summary(runs.map(\.test))) | \(summary(runs.map(\.bestValidation))) | "
                             + String(format: "%.0f", speed) + " | " + String(format: "%.0f s", wall) + " |")
            }
            let machines = Set(results.map(\.machine)).sorted()
            lines.append("")
            lines.append("Timed on " + (machines.count == 1 ? machines[0] : machines.map { "(\($0))" }.joined(separator: "; ")) + ".")
            return lines.joined(separator: "\n")
        }

        func drawPlots(_ results: [RunResult]) throws {
            guard let gnuplot = ["/usr/bin/gnuplot", "/usr/local/bin/gnuplot"].first(where: FileManager.default.isExecutableFile) else {
                print("gnuplot not installed: no plots (scripts/setup.sh installs it)")
                return
            }
            let data = "\(out)/plot-data"
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            // The key goes below the plot, one title a line (long recipe labels defeat columns),
            // and the canvas grows with it: beside the plot, 20-odd series squeezed the plot to nothing.
            func canvas(series: Int) -> String {
                "set terminal pngcairo size 1200,\(600 + 16 * series) noenhanced\nset key outside below center vertical font \",9\"\n"
            }
            var script = """
                set grid
                set yrange [0:1]

                """
            let byTask = Dictionary(grouping: results, by: \.task)
            for task in byTask.keys.sorted() {
                var series: [(file: String, title: String)] = []
                for run in byTask[task]! {
                    let file = "\(data)/\(task)-\(run.mixer)-\(fileNamePart(run.recipe))-s\(run.seed).dat"
                    let rows = run.validation.map { "\($0.step) \(format($0.seconds)) \(format($0.accuracy))" }
                    try AtomicFile.write(Data((rows.joined(separator: "\n") + "\n").utf8), to: file)
                    series.append((file, "\(run.label) s\(run.seed)"))
                }
                // A uniform guess, for scale: small budgets often end near it.
                let chance = byTask[task]!.map(\.classes).max().map { $0 > 0 ? 1 / Double($0) : 0 } ?? 0
                for (axis, column, label) in [("step", 1, "optimizer step"), ("time", 2, "wall-clock seconds (log scale)")] {
                    script += canvas(series: series.count + 1) + """
                        set output "\(out)/\(task)-accuracy-by-\(axis).png"
                        set title "\(task): validation accuracy by \(label)"
                        set xlabel "\(label)"; set ylabel "validation accuracy"
                        \(axis == "time" ? "set logscale x" : "unset logscale x")
                        plot \(series.map { "\"\($0.file)\" using \(column):3 with linespoints title \"\($0.title)\"" }.joined(separator: ", \\\n     ")), \\
                             \(format(chance)) with lines dashtype 2 linecolor rgb "gray" title "chance (1/\(Int((1 / max(chance, 1e-9)).rounded())))"

                        """
                }
                script += "unset logscale x\n"
            }
            // One point per task and mixer: the seeds' mean test accuracy against their mean
            // throughput, with a bar from the lowest seed to the highest.
            // Colour by mixer, point shape by task, so a mixer reads alike on every task.
            var speedSeries: [(file: String, title: String, style: String)] = []
            let tested = results.filter { $0.test != nil }
            let mixerNames = Set(tested.map(\.label)).sorted()
            let taskNames = Set(tested.map(\.task)).sorted()
            let cells = Dictionary(grouping: tested) { "\($0.task) \($0.label)" }
            for title in cells.keys.sorted() {
                let runs = cells[title]!, tests = runs.compactMap(\.test)
                let style = "linetype \((mixerNames.firstIndex(of: runs[0].label) ?? 0) + 1) pointtype \([7, 5, 9, 11, 13][(taskNames.firstIndex(of: runs[0].task) ?? 0) % 5])"
                let speed = runs.map(\.tokensPerSecond).reduce(0, +) / Double(runs.count)
                let mean = tests.reduce(0, +) / Double(tests.count)
                let file = "\(data)/speed-accuracy-\(fileNamePart(title)).dat"
                try AtomicFile.write(Data("\(format(speed)) \(format(mean)) \(format(tests.min()!)) \(format(tests.max()!))\n".utf8), to: file)
                speedSeries.append((file, title, style))
            }
            if !speedSeries.isEmpty {
                script += canvas(series: speedSeries.count) + """
                    set output "\(out)/speed-accuracy.png"
                    set title "Test accuracy (mean of seeds, bar: lowest to highest) against training throughput"
                    set xlabel "tokens/s (training, log scale)"; set ylabel "test accuracy"; set logscale x
                    plot \(speedSeries.map { "\"\($0.file)\" using 1:2:3:4 with yerrorbars \($0.style) pointsize 1.6 title \"\($0.title)\"" }.joined(separator: ", \\\n     "))
                    unset logscale x

                    """
            }
            let scriptPath = "\(data)/plots.gp"
            try AtomicFile.write(Data(script.utf8), to: scriptPath)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: gnuplot)
            process.arguments = [scriptPath]
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw ValidationError("gnuplot failed on \(scriptPath)") }
            print("wrote the plots in \(out): <task>-accuracy-by-step.png, <task>-accuracy-by-time.png, speed-accuracy.png")
        }
    }
}

func format(_ value: Double) -> String { String(format: "%.6g", value) }

/// What `parseval report` reads from one run folder.
/// `text` as part of a file name: separators become "-", parentheses go ("fnet (paper, cls)" →
/// "fnet-paper-cls").
func fileNamePart(_ text: String) -> String {
    text.replacingOccurrences(of: ", ", with: "-").replacingOccurrences(of: " ", with: "-")
        .replacingOccurrences(of: "(", with: "").replacingOccurrences(of: ")", with: "")
}

struct RunResult {
    let folder: String
    let task, mixer, block: String
    /// The block, then the pooling, head and embedding where they are not the defaults (mean,
    /// linear, table): "pre_norm", "paper, cls", "paper, cls, mlp head", "paper, cls, scalar embedding".
    let recipe: String
    /// The model's classes: 1/classes is the accuracy of a uniform guess.
    let classes: Int
    let seed, parameters, steps: Int
    let tokens, seconds, peakMemory: Double
    /// "AMD EPYC (family 26, model 2), 1 thread × 2 ranks": where the timing came from (each
    /// machine a resumed run met, in order; "unrecorded" for timelines older than the field).
    let machine: String
    let validation: [(step: Int, seconds: Double, accuracy: Double)]
    let bestValidation: Double?
    let test: Double?

    var tokensPerSecond: Double { seconds > 0 ? tokens / seconds : 0 }
    /// "fnet", or "fnet (paper)" for a block other than the default: the run's name in plots.
    var label: String { recipe == "pre_norm" ? mixer : "\(mixer) (\(recipe))" }

    static let csvHeader = "task,mixer,block,seed,params,steps,tokens,wall_seconds,tokens_per_s,peak_memory_mb,val_accuracy,test_accuracy,machine,run"
    var csvRow: String {
        [task, mixer, block, "\(seed)", "\(parameters)", "\(steps)", format(tokens), format(seconds), format(tokensPerSecond),
         format(peakMemory), bestValidation.map(format) ?? "", test.map(format) ?? "", "\"\(machine)\"", folder].joined(separator: ",")
    }

    init(folder: String) throws {
        self.folder = folder
        let configuration = try ConfigurationLoader.load(path: "\(folder)/config.json")
        task = configuration.data.task.rawValue
        // With DCT downsampling a mixer takes its definition's name for it (attention's is the
        // Fourier Transformer, He et al.; others keep their name, marked).
        let m = configuration.model
        mixer = m.downsample.isEmpty ? m.mixer.rawValue : m.mixer.definition.downsampledName
        block = configuration.model.block.rawValue
        recipe = ([block] + (m.pooling == .mean ? [] : [m.pooling.rawValue]) + (m.head == .linear ? [] : ["\(m.head.rawValue) head"])
                  + (m.embedding == .table ? [] : ["\(m.embedding.rawValue) embedding"])
                  + (m.positions == .learned ? [] : ["\(m.positions.rawValue) positions"])
                  + (m.embeddingStd == ModelConfiguration().embeddingStd ? [] : ["embedding std \(m.embeddingStd)"])).joined(separator: ", ")
        classes = configuration.model.classes
        seed = configuration.training.seed
        let shape = configuration.data.taskShape
        parameters = try makeModel(configuration.model, images: shape.images, paired: shape.paired, seed: 0).arena.count

        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        func lines<T: Decodable>(_ file: String, as type: T.Type) throws -> [T] {
            guard let text = try? String(contentsOfFile: "\(folder)/\(file)", encoding: .utf8) else {
                throw CheckpointError("\(folder)/\(file): missing")
            }
            return try text.split(separator: "\n").enumerated().map { index, line in
                do { return try decoder.decode(T.self, from: Data(line.utf8)) } catch {
                    throw CheckpointError("\(folder)/\(file):\(index + 1): not a record (\(error))")
                }
            }
        }
        let metrics = try lines("metrics.jsonl", as: MetricsRecord.self)
        let timeline = (try? lines("timeline.jsonl", as: TimelineRecord.self)) ?? []
        let clock = Dictionary(timeline.filter { $0.split == "validation" }.map { ($0.step, $0.seconds) }, uniquingKeysWith: { $1 })
        steps = metrics.filter { $0.split == "train" }.map(\.step).max() ?? 0
        validation = metrics.filter { $0.split == "validation" }.compactMap { record in
            record.accuracy.map { (record.step, clock[record.step] ?? .nan, $0) }
        }
        bestValidation = validation.map(\.accuracy).max()
        test = metrics.last { $0.split == "test" }?.accuracy
        let lastTrain = timeline.last { $0.split == "train" }
        tokens = lastTrain?.tokens ?? 0
        seconds = lastTrain?.seconds ?? 0
        peakMemory = timeline.map(\.peakMemoryMb).max() ?? 0
        var machines: [String] = []
        for record in timeline {
            let name = record.cpu.map { cpu in
                let threads = record.threads ?? 0, ranks = record.ranks ?? 1
                return "\(cpu), \(threads) thread\(threads == 1 ? "" : "s")" + (ranks > 1 ? " × \(ranks) ranks" : "")
            } ?? "unrecorded"
            if machines.last != name { machines.append(name) }
        }
        machine = machines.isEmpty ? "unrecorded" : machines.joined(separator: " then ")
    }
}
