import TensorCore

/// The range of every setting with one, in one table: `TrainingConfiguration.validate` checks
/// them all before anything runs, the loader puts the file and line that set the key in front
/// of the message, and docs/configuration.md's "Allowed values" is this table
/// (`parseval config --allowed` prints it; DocsTests compares the two).
///
/// The bounds keep every count, size and step far from overflow where it is multiplied, shifted
/// or handed to C as a 32-bit int; the memory estimate (`MemoryEstimate`) then refuses what
/// passes here but cannot fit.
public struct SettingRule: Sendable {
    public let key: String
    /// What is allowed, as the docs and the error say it: "1 … 1048576".
    public let allowed: String
    /// The value as text when it is not allowed; nil when it is.
    let violation: @Sendable (TrainingConfiguration) -> String?

    /// `value` within `range`.
    static func within<T: Comparable & Sendable>(_ key: String, _ range: ClosedRange<T>, _ note: String = "",
                                                 _ value: @escaping @Sendable (TrainingConfiguration) -> T) -> SettingRule {
        SettingRule(key: key, allowed: "\(range.lowerBound) … \(range.upperBound)\(note)") { c in
            let v = value(c)
            return range.contains(v) ? nil : "\(v)"
        }
    }

    /// `value` 0 (meaning `zero`) or within `range`.
    static func zeroOr(_ key: String, _ range: ClosedRange<Int>, _ zero: String,
                       _ value: @escaping @Sendable (TrainingConfiguration) -> Int) -> SettingRule {
        SettingRule(key: key, allowed: "0 (\(zero)), or \(range.lowerBound) … \(range.upperBound)") { c in
            let v = value(c)
            return v == 0 || range.contains(v) ? nil : "\(v)"
        }
    }

    /// `value` in [lower, upper): a probability, a momentum.
    static func from(_ key: String, _ lower: Float, below upper: Float, _ note: String = "",
                     _ value: @escaping @Sendable (TrainingConfiguration) -> Float) -> SettingRule {
        SettingRule(key: key, allowed: "\(lower) ≤ value < \(upper)\(note)") { c in
            let v = value(c)
            return v >= lower && v < upper ? nil : "\(v)"
        }
    }

    /// `value` in (0, upper].
    static func positive(_ key: String, upTo upper: Float, _ note: String = "",
                         _ value: @escaping @Sendable (TrainingConfiguration) -> Float) -> SettingRule {
        SettingRule(key: key, allowed: "0 < value ≤ \(upper)\(note)") { c in
            let v = value(c)
            return v > 0 && v <= upper ? nil : "\(v)"
        }
    }
}

extension TrainingConfiguration {
    /// Bounds shared by several keys.
    enum Bound {
        /// Tokens, positions, vocabulary and classes: 2^24 (16.7 M).
        static let count = 1 << 24
        /// Widths and hidden sizes: 2^20.
        static let width = 1 << 20
        /// Optimizer steps and cadences: 2^40 (10^12), so step arithmetic never nears Int's end.
        static let steps = 1 << 40
        /// Threads: `Threading.maximum`.
        static let threads = Threading.maximum
    }

    /// Every setting with a range, in the order of docs/configuration.md.
    public static var settingRules: [SettingRule] {
        let (count, width, steps, threads) = (Bound.count, Bound.width, Bound.steps, Bound.threads)
        return [
            .zeroOr("model.vocabulary_size", 2...count, "the task's") { $0.model.vocabularySize },
            .within("model.max_length", 1...count) { $0.model.maxLength },
            .within("model.dim", 1...width) { $0.model.dim },
            .within("model.depth", 1...1024) { $0.model.depth },
            .within("model.heads", 1...4096) { $0.model.heads },
            .within("model.mlp_hidden", 1...width) { $0.model.mlpHidden },
            .from("model.dropout", 0, below: 1) { $0.model.dropout },
            .zeroOr("model.classes", 2...count, "the task's") { $0.model.classes },
            .within("model.padding_index", -1...count, " (-1: none; below the vocabulary)") { $0.model.paddingIndex },
            .within("model.filter_knots", 0...count) { $0.model.filterKnots },
            .within("model.random_features", 1...65536) { $0.model.randomFeatures },
            .within("model.feature_redraw_interval", 0...steps) { $0.model.featureRedrawInterval },
            .within("model.patch_size", 0...4096) { $0.model.patchSize },
            .within("model.norm_epsilon", 0.0...0.5) { $0.model.normEpsilon },
            .within("model.embedding_std", Float(0)...100) { $0.model.embeddingStd },
            .within("model.class_token_std", Float(0)...100, " (0: zeros)") { $0.model.classTokenStd },
            .within("data.sequence_length", 1...count) { $0.data.sequenceLength },
            .within("data.prefetch", 0...64, " (0 and 1: one batch ahead)") { $0.data.prefetch },
            .within("data.decode_threads", 0...threads, " (0: the rank's threads for image tasks)") { $0.data.decodeThreads },
            .within("data.image_size", 1...16384) { $0.data.imageSize },
            SettingRule(key: "data.standard_deviation", allowed: "three values > 0 (image tasks)") { c in
                c.data.standardDeviation.allSatisfy { $0 > 0 } ? nil : "\(c.data.standardDeviation)"
            },
            .positive("optimizer.learning_rate", upTo: 100) { $0.optimizer.learningRate },
            .from("optimizer.beta1", 0, below: 1) { $0.optimizer.beta1 },
            .from("optimizer.beta2", 0, below: 1) { $0.optimizer.beta2 },
            .positive("optimizer.epsilon", upTo: 1) { $0.optimizer.epsilon },
            .within("optimizer.weight_decay", Float(0)...100, " (decoupled: each step scales weights by 1 − lr·decay)") { $0.optimizer.weightDecay },
            .from("optimizer.momentum", 0, below: 1) { $0.optimizer.momentum },
            SettingRule(key: "optimizer.gradient_clip", allowed: "≥ 0 (0: off)") { $0.optimizer.gradientClip >= 0 ? nil : "\($0.optimizer.gradientClip)" },
            .within("schedule.warmup_steps", 0...steps) { $0.schedule.warmupSteps },
            .within("schedule.final_ratio", Float(0)...1) { $0.schedule.finalRatio },
            .within("training.steps", 1...steps) { $0.training.steps },
            .within("training.batch_size", 1...count) { $0.training.batchSize },
            .within("training.accumulation", 1...65536) { $0.training.accumulation },
            .within("training.eval_every", 0...steps, " (0: at the end only)") { $0.training.evalEvery },
            .within("training.eval_batches", 0...steps, " (0: the whole split)") { $0.training.evalBatches },
            .within("training.checkpoint_every", 0...steps, " (0: at the end and on the best only)") { $0.training.checkpointEvery },
            .within("training.log_every", 1...steps) { $0.training.logEvery },
            .from("training.label_smoothing", 0, below: 1) { $0.training.labelSmoothing },
            .within("parallel.threads", 0...threads, " (0: PARSEVAL_THREADS, else cores per local rank)") { $0.parallel.threads },
            .within("parallel.bucket_megabytes", 1...65536) { $0.parallel.bucketMegabytes },
            .within("parallel.first_bucket_megabytes", 1...65536) { $0.parallel.firstBucketMegabytes },
            .within("parallel.check_every", 0...steps, " (0: never)") { $0.parallel.checkEvery },
            .within("parallel.stall_warning_seconds", 0.0...1e6, " (0: never)") { $0.parallel.stallWarningSeconds },
            .within("parallel.stall_abort_seconds", 0.0...1e6, " (0: never)") { $0.parallel.stallAbortSeconds },
            .within("parallel.seq_parallel", 1...65536) { $0.parallel.seqParallel },
        ]
    }

    /// docs/configuration.md's "Allowed values" table, from `settingRules`.
    public static var allowedValuesTable: String {
        (["| key | allowed |", "|---|---|"] + settingRules.map { "| `\($0.key)` | \($0.allowed) |" }).joined(separator: "\n")
    }

    /// Checks every setting against its rule (`settingRules`); the error names the key.
    func validateRanges() throws {
        for rule in TrainingConfiguration.settingRules {
            if let value = rule.violation(self) {
                throw ConfigurationError("\(rule.key) must be \(rule.allowed), got \(value)", key: rule.key)
            }
        }
    }
}
