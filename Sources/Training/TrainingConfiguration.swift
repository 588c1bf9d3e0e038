import Datasets
import Foundation
import Layers
import Models
import SequenceParallel
import TensorCore

/// A training run, as written in a YAML config (docs/configuration.md lists every key
/// and its default). Property names map to snake_case keys: `mlpHidden` ↔ `mlp_hidden`.
public struct TrainingConfiguration: Codable, Sendable, Equatable {
    public var model = ModelConfiguration()
    public var data = DataConfiguration()
    public var optimizer = OptimizerConfiguration()
    public var schedule = ScheduleConfiguration()
    public var training = LoopConfiguration()
    public var parallel = ParallelConfiguration()
    public var output = OutputConfiguration()

    public init() {}
}

public struct DataConfiguration: Codable, Sendable, Equatable {
    /// The task (docs/datasets.md lists each one's layout).
    public var task = TaskKind.listops
    /// Folder holding the task's files.
    public var directory = "data/listops"
    /// Tokens per example after padding/truncation (the model's max_length must be ≥ this).
    public var sequenceLength = 512
    /// Count, report and skip malformed examples instead of stopping with an error.
    public var skipBadExamples = false
    /// Batches decoded ahead of training on a background thread.
    public var prefetch = 2
    /// Threads decoding one batch's examples (JPEG/PNG files of image tasks); 0: this rank's
    /// threads for image tasks (`TaskKind.images`), 1 for the others, which only slice tokens.
    public var decodeThreads = 0

    /// The decode threads in force (`decodeThreads`, or its default).
    public var effectiveDecodeThreads: Int {
        decodeThreads > 0 ? decodeThreads : (task.images ? Threading.count : 1)
    }
    /// Image tasks (cifar10, imagenet): the side of the crop fed to the model.
    public var imageSize = 224
    /// Pathfinder and Path-X: which of LRA's three difficulties to read, easy (`curv_baseline`),
    /// intermediate (`curv_contour_length_9`) or hard (`curv_contour_length_14`, LRA's reported one).
    public var difficulty = PathfinderDataset.Difficulty.hard
    /// Image tasks: per-channel normalisation (ImageNet's by default).
    public var mean: [Float] = [0.485, 0.456, 0.406]
    public var standardDeviation: [Float] = [0.229, 0.224, 0.225]

    public init() {}
}

public struct OptimizerConfiguration: Codable, Sendable, Equatable {
    public var name = OptimizerKind.adamw
    public var learningRate: Float = 1e-3
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public var weightDecay: Float = 0.01
    /// SGD only.
    public var momentum: Float = 0.9
    /// Global-norm gradient clipping; 0 turns it off.
    public var gradientClip: Float = 1

    public init() {}
}

public struct ScheduleConfiguration: Codable, Sendable, Equatable {
    public var kind = ScheduleKind.cosine
    public var warmupSteps = 100
    /// Final learning rate as a fraction of the peak (cosine and linear).
    public var finalRatio: Float = 0

    public init() {}
}

public struct LoopConfiguration: Codable, Sendable, Equatable {
    /// Optimizer steps in the run.
    public var steps = 1000
    /// Global batch: split evenly over the data-parallel ranks.
    public var batchSize = 32
    /// Micro-batches per optimizer step (gradients are reduced on the last one only).
    public var accumulation = 1
    public var evalEvery = 200
    /// Evaluation batches per evaluation (0: the whole validation split).
    public var evalBatches = 0
    public var checkpointEvery = 200
    public var logEvery = 10
    public var seed = 0
    public var labelSmoothing: Float = 0
    /// What a non-finite loss or gradient does: stop (keeping the last good checkpoint) or skip the step.
    public var onNonfinite = NonFinitePolicy.stop
    /// Inputs of the matrix products: fp32, or bf16 with fp32 accumulation where the CPU has bf16
    /// instructions (elsewhere the run prints why it stays fp32). Master weights, optimizer
    /// state, normalisation, softmax, losses, FFTs and checkpoints are fp32 in both.
    public var precision = MatmulPrecision.fp32
    /// When the run completes, evaluate its best checkpoint on the task's test split (LRA
    /// reports test accuracy) and record it in metrics.jsonl as split "test".
    public var finalTest = true

    public init() {}
}

public struct ParallelConfiguration: Codable, Sendable, Equatable {
    /// Threads per rank; 0: PARSEVAL_THREADS, else cores per local rank.
    public var threads = 0
    public var bucketMegabytes = 25
    public var firstBucketMegabytes = 1
    /// FFTW planner effort for the model's transforms: estimate (instant) or measure (times
    /// candidate algorithms once per shape, usually faster transforms).
    public var fftPlanning = FFTPlanningEffort.estimate
    /// Compare a parameter checksum across ranks every N steps (0: never).
    public var checkEvery = 100
    /// Warn when an MPI call waits longer than this for the other ranks, naming them (0: never).
    public var stallWarningSeconds = 30.0
    /// End the job with MPI_Abort when an MPI call waits longer than this, naming the ranks
    /// that never arrived (Horovod's 60 s; 0: never). Ten times longer while rank 0 writes a
    /// checkpoint or ranks load data (`CollectiveWatchdog.patience`).
    public var stallAbortSeconds = 60.0
    /// Sequence parallelism: ranks that share each sequence, each holding a contiguous block
    /// of sequence_length / P tokens (1: none). The job's ranks must be a multiple of it.
    public var seqParallel = 1

    public init() {}
}

public struct OutputConfiguration: Codable, Sendable, Equatable {
    /// Run folder: checkpoints, metrics.jsonl and the resolved config go here.
    public var directory = "runs/default"

    public init() {}
}

extension TrainingConfiguration {
    /// Element prototypes for keys that hold lists of mappings: each element's keys are
    /// checked against these.
    static let listElements: [String: any Encodable & Sendable] = ["model.downsample": DownsampleStage(layer: 0, ratio: 1)]

    /// Keys whose values must come from a fixed set, with the set (from the schema).
    public static var choices: [String: [String]] {
        var found: [String: [String]] = [:]
        func walk(_ kind: SettingKind, _ path: String) {
            switch kind {
            case .choice(let names): found[path] = names
            case .section(let fields): for (key, field) in fields { walk(field, path.isEmpty ? key : "\(path).\(key)") }
            default: break
            }
        }
        walk(schema, "")
        return found
    }

    /// Checks values that decoding cannot: each setting's range (`settingRules`), then the
    /// combinations. The error's `key` is the setting at fault.
    public func validate() throws {
        try validateRanges()
        do { try model.validate() } catch { throw ConfigurationError(error.message, key: error.key) }
        func require(_ condition: Bool, _ message: String, key: String = "data.sequence_length") throws {
            if !condition { throw ConfigurationError(message, key: key) }
        }
        // Image tasks read every pixel as a token: a length that is not the image's pixel count
        // would silently cut the image (Path-X's 128×128 read as its top 8 rows) or pad it.
        if data.task == .image {
            try require(data.sequenceLength == 1024, "data.task image is CIFAR-10's 32×32 pixels: data.sequence_length must be 1024, "
                        + "got \(data.sequenceLength)")
        }
        if data.task == .pathfinder {
            let side = Int(Double(data.sequenceLength).squareRoot().rounded())
            try require(side * side == data.sequenceLength, "data.task pathfinder reads side × side pixels: data.sequence_length "
                        + "must be a square (1024 for Pathfinder-32, 4096 for 64, 16384 for Path-X's 128), got \(data.sequenceLength)")
        }
        try require(model.head == .linear || !(data.task.images || data.task.paired),
                    "model.head mlp is for sequence classifiers; data.task \(data.task.rawValue) has its own head "
                    + (data.task.paired ? "(the dual encoder's two-layer head)" : "(the vision classifier's linear head)"), key: "model.head")
        try require(model.embedding == .table || !data.task.images,
                    "model.embedding scalar embeds token ids; data.task \(data.task.rawValue) embeds image patches", key: "model.embedding")
        if data.task.images {
            try require(model.patchSize > 0, "data.task \(data.task.rawValue) gives images: set model.patch_size (e.g. 16 at 224 px, 4 at 32 px)", key: "model.patch_size")
            let side = data.task == .cifar10 ? 32 : data.imageSize
            try require(side % model.patchSize == 0, "image side \(side) is not divisible by model.patch_size \(model.patchSize)", key: "model.patch_size")
            let patches = (side / model.patchSize) * (side / model.patchSize)
            try require(model.maxLength >= patches, "model.max_length \(model.maxLength) is below the \(patches) patches per image", key: "model.max_length")
            try require(!model.mixer.filtersFixedLength || model.maxLength == patches,
                        "model.mixer \(model.mixer.rawValue) filters a fixed length: model.max_length must equal the \(patches) patches per image", key: "model.max_length")
            try require(data.mean.count == 3 && data.standardDeviation.count == 3 && data.standardDeviation.allSatisfy { $0 > 0 },
                        "data.mean and data.standard_deviation need 3 values (standard deviations positive)", key: "data.mean")
        } else {
            try require(model.patchSize == 0, "model.patch_size is for image tasks (cifar10, imagenet), not \(data.task.rawValue)", key: "model.patch_size")
            try require(data.sequenceLength <= model.maxLength,
                        "data.sequence_length \(data.sequenceLength) exceeds model.max_length \(model.maxLength)")
            try require(!model.mixer.filtersFixedLength || data.sequenceLength == model.maxLength,
                        "model.mixer \(model.mixer.rawValue) filters a fixed length: data.sequence_length (\(data.sequenceLength)) must "
                        + "equal model.max_length (\(model.maxLength))")
        }
        try validateSequenceParallelism()
    }

    /// The model's task facts filled in from the task (`TaskKind`): `model.classes` and
    /// `model.vocabulary_size` left at 0 take the task's; set, they are checked — the classes
    /// must equal the task's, the vocabulary must cover it. `classes`: the count the task's
    /// data gives (ImageNet's training folders), else the task's fixed count. ImageNet's classes
    /// stay 0 until its data is read.
    public func resolvingTaskFacts(classes dataClasses: Int? = nil) throws -> TrainingConfiguration {
        var resolved = self
        let task = data.task
        if let classes = dataClasses ?? task.classes {
            if model.classes == 0 {
                resolved.model.classes = classes
            } else if model.classes != classes {
                throw ConfigurationError("model.classes is \(model.classes), the \(task.rawValue) task has \(classes) "
                                         + "(leave model.classes out to take the task's)")
            }
        }
        if !task.images {
            if model.vocabularySize == 0 {
                resolved.model.vocabularySize = task.vocabularySize
            } else if model.vocabularySize < task.vocabularySize {
                throw ConfigurationError("model.vocabulary_size \(model.vocabularySize) is smaller than the \(task.rawValue) "
                                         + "vocabulary (\(task.vocabularySize)); leave it out to take the task's")
            }
        }
        return resolved
    }

    /// What `parallel.seq_parallel` > 1 supports: `SequenceSharding.check`, with this run's task.
    func validateSequenceParallelism() throws {
        do {
            try SequenceSharding.check(model.shardingRequest(ranks: parallel.seqParallel, task: data.task.rawValue,
                                                             taskSupported: data.task.supportsSequenceParallel,
                                                             sequenceLength: data.sequenceLength))
        } catch let error as SequenceParallelError {
            throw ConfigurationError(error.description)
        }
    }

    /// Keys that define what a run computes: a checkpoint resumes only under the same values.
    /// Everything else (run length, cadences, precision, threads and parallel layout, paths,
    /// optimizer settings and schedule) may change between a run and its resume.
    static let resumeIdentityKeys = ["model.", "data.task", "data.sequence_length", "data.image_size",
                                     "training.seed", "training.batch_size", "training.accumulation",
                                     "training.label_smoothing", "optimizer.name"]

    /// The identity keys whose values differ between this configuration and `saved` (a
    /// checkpoint's resolved config, JSON), with both values.
    public func resumeConflicts(withSaved saved: String) throws -> [(key: String, saved: String, now: String)] {
        func flatten(_ json: String) throws -> [String: String] {
            guard let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return [:] }
            var flat: [String: String] = [:]
            func walk(_ value: Any, _ path: String) {
                if let dictionary = value as? [String: Any] {
                    for (key, child) in dictionary { walk(child, path.isEmpty ? key : "\(path).\(key)") }
                } else if let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]) {
                    flat[path] = String(decoding: data, as: UTF8.self)
                }
            }
            walk(object, "")
            return flat
        }
        let (before, now) = (try flatten(saved), try flatten(ConfigurationLoader.encode(self)))
        let keys = Set(before.keys).union(now.keys).filter { key in
            TrainingConfiguration.resumeIdentityKeys.contains { $0.hasSuffix(".") ? key.hasPrefix($0) : key == $0 }
        }
        return keys.sorted().compactMap { key in
            let (old, new) = (before[key] ?? "(absent)", now[key] ?? "(absent)")
            return old == new ? nil : (key, old, new)
        }
    }

    /// Checks that the global batch splits over `ranks` data-parallel ranks and micro-batches.
    public func localBatchSize(ranks: Int) throws -> Int {
        let divisor = ranks * training.accumulation
        guard training.batchSize % divisor == 0 else {
            throw ConfigurationError("training.batch_size \(training.batchSize) is not divisible by "
                                     + "\(ranks) ranks × training.accumulation \(training.accumulation)")
        }
        return training.batchSize / divisor
    }
}
