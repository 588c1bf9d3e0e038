import ArgumentParser
import Datasets
import Foundation
import TensorCore

extension Parseval {
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate the LRA tasks that are defined by generators: ListOps, Pathfinder and Path-X.",
            discussion: """
                Output is deterministic for a seed (the same files byte for byte) and uses LRA's \
                own file layouts, so LRA's loaders read it and Parseval reads LRA's files. \
                Formats and settings: docs/datasets.md.
                """,
            subcommands: [ListOps.self, Pathfinder.self])
    }
}

extension Parseval.Generate {
    struct ListOps: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "listops",
            abstract: "Generate ListOps as LRA's listops.py does: basic_train.tsv, basic_val.tsv, basic_test.tsv.",
            discussion: """
                Nested [MIN / [MAX / [MED / [SM expressions over digits 0-9 (depth ≤ 10, 2-10 \
                arguments), kept when min-length < tokens < max-length, without duplicates. \
                Defaults are LRA's (96000/2000/2000, 500 < length < 2000). --preset small makes \
                4000/500/500 expressions of 20 < length < 256 for a quick start; options given \
                explicitly override the preset.

                Example: parseval generate listops --preset small --seed 1 --out data/listops-small
                """)

        @Option(help: "Starting values for the options below: lra (the benchmark) or small (a quick start).")
        var preset: Preset = .lra
        @Option(help: "Training expressions (lra: 96000, small: 4000).") var train: Int?
        @Option(help: "Validation expressions (lra: 2000, small: 500).") var val: Int?
        @Option(help: "Test expressions (lra: 2000, small: 500).") var test: Int?
        @Option(help: "Keep expressions with more tokens than this (lra: 500, small: 20).") var minLength: Int?
        @Option(help: "Keep expressions with fewer tokens than this (lra: 2000, small: 256).") var maxLength: Int?
        @Option(help: "Random seed; the same seed writes the same files.") var seed: UInt64 = 0
        @Option(help: "Folder to write the three TSV files into (created if needed).") var out: String

        enum Preset: String, ExpressibleByArgument, CaseIterable {
            case lra, small
        }

        var settings: ListOpsGenerator.Settings {
            var settings = preset == .small ? ListOpsGenerator.Settings.small : ListOpsGenerator.Settings()
            settings.trainCount = train ?? settings.trainCount
            settings.validationCount = val ?? settings.validationCount
            settings.testCount = test ?? settings.testCount
            settings.minLength = minLength ?? settings.minLength
            settings.maxLength = maxLength ?? settings.maxLength
            settings.seed = seed
            return settings
        }

        func validate() throws {
            let settings = self.settings
            for (name, value) in [("train", settings.trainCount), ("val", settings.validationCount), ("test", settings.testCount)]
            where value < 0 {
                throw ValidationError("--\(name) must be 0 or more, got \(value)")
            }
            if settings.minLength < 0 || settings.minLength + 1 >= settings.maxLength {
                throw ValidationError("no length fits strictly between --min-length \(settings.minLength) and --max-length \(settings.maxLength)")
            }
        }

        func run() throws {
            let settings = self.settings
            let total = settings.trainCount + settings.validationCount + settings.testCount
            print("Generating \(total) ListOps expressions (\(settings.minLength) < length < \(settings.maxLength), seed \(settings.seed))")
            let start = Date()
            let splits = ListOpsGenerator(settings: settings).generate { kept in
                if kept % 10_000 == 0 { print("  \(kept)/\(total)") }
            }
            for path in try ListOpsGenerator.write(splits, to: out) { print("wrote \(path)") }
            print(String(format: "done in %.1f s", Date().timeIntervalSince(start)))
        }
    }

    struct Pathfinder: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pathfinder",
            abstract: "Generate Pathfinder (32, 64 px) or Path-X (128, 256 px) images with LRA's hard settings.",
            discussion: """
                Writes OUT/curv_contour_length_14/imgs/<batch>/sample_<i>.png (8-bit gray) and \
                OUT/curv_contour_length_14/metadata/<batch>.npy (text, one line per image: \
                subfolder, file, index, label, settings), LRA's layout. Labels are balanced in \
                every batch: 1 when both markers are on the same contour. Images are generated on \
                --threads threads; the files do not depend on the thread count. Loaders split the \
                images 80/10/10 in metadata order.

                Example: parseval generate pathfinder --size 32 --count 2000 --seed 1 --out data/pathfinder32
                """)

        @Option(help: "Image side: 32 or 64 (Pathfinder), 128 (Path-X) or 256.") var size = 32
        @Option(help: "Number of images.") var count: Int
        @Option(help: "Images per batch (one imgs/<batch> folder and metadata file each).") var imagesPerBatch = 1000
        @Option(help: "Random seed; the same seed writes the same files.") var seed: UInt64 = 0
        @Option(help: "Threads generating images (default: all cores).") var threads = Machine.usableCores()
        @Option(help: "Folder to write into (created if needed).") var out: String

        func validate() throws {
            guard PathfinderSettings.hard(size: size) != nil else {
                throw ValidationError("--size must be one of \(PathfinderSettings.supportedSizes.map(String.init).joined(separator: ", ")), got \(size)")
            }
            if count < 1 { throw ValidationError("--count must be at least 1, got \(count)") }
            if imagesPerBatch < 1 { throw ValidationError("--images-per-batch must be at least 1, got \(imagesPerBatch)") }
            if threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        }

        func run() throws {
            let settings = PathfinderSettings.hard(size: size)!
            print("Generating \(count) \(size)×\(size) Pathfinder images (\(settings.splitName), seed \(seed), \(threads) threads)")
            let start = Date()
            let generator = PathfinderGenerator(settings: settings)
            let batches = try generator.write(count: count, to: out, seed: seed, imagesPerBatch: imagesPerBatch, threads: threads) { done in
                print(String(format: "  %ld/%ld images, %.1f s", done, count, Date().timeIntervalSince(start)))
            }
            let positives = batches.flatMap(\.labels).reduce(0, +)
            print("wrote \(batches.count) batch(es) under \((out as NSString).appendingPathComponent(settings.splitName)): "
                  + "\(positives) positive, \(count - positives) negative")
        }
    }
}
