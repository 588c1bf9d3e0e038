import Foundation
import TensorCore

/// ListOps expressions generated exactly as LRA's `lra_benchmarks/data/listops.py` does.
///
/// `tree(depth)`: below `maxDepth` draw r ~ U[0, 1), at `maxDepth` take r = 1. If r > 0.25 the
/// node is a value (one of 0–9, length 1); otherwise draw k ∈ [2, `maxArguments`] children
/// at depth + 1, then an operator from `[MIN`, `[MAX`, `[MED`, `[SM`; the node's length is
/// 2 + the children's (operator and closing `]`). The root is at depth 1. A tree is kept
/// when `minLength < length < maxLength` (both strict, as in LRA) and it is not a
/// duplicate, until there are `train + validation + test` trees; the first `train` form the
/// training split, the next `validation` the validation split, the rest the test split.
///
/// The source text is LRA's `to_string`: each binary pair of the nested tuple
/// `((((op, a), b), …), ])` is written `( x y )`, e.g. `( ( ( [MAX 2 ) 9 ) ] )`.
/// Random draws come from `RandomStream(seed: seed)` in the order the recipe makes them,
/// so a seed fixes every file byte for byte.
public struct ListOpsGenerator: Sendable {
    /// What to generate.
    public struct Settings: Sendable, Equatable {
        /// Expressions in `basic_train.tsv`.
        public var trainCount = 96_000
        /// Expressions in `basic_val.tsv`.
        public var validationCount = 2_000
        /// Expressions in `basic_test.tsv`.
        public var testCount = 2_000
        /// Trees must be strictly longer than this.
        public var minLength = 500
        /// Trees must be strictly shorter than this.
        public var maxLength = 2_000
        /// Nodes at this depth are always values.
        public var maxDepth = 10
        /// Operators take 2...maxArguments arguments.
        public var maxArguments = 10
        /// Seed of the `RandomStream` all draws come from.
        public var seed: UInt64 = 0

        /// LRA's settings (96 000 / 2 000 / 2 000, 500 < length < 2000).
        public init() {}

        /// A quickstart set: 4 000 / 500 / 500 short expressions (20 < length < 256).
        public static var small: Settings {
            var settings = Settings()
            settings.trainCount = 4_000
            settings.validationCount = 500
            settings.testCount = 500
            settings.minLength = 20
            settings.maxLength = 256
            return settings
        }
    }

    /// One generated expression.
    public struct Expression: Sendable, Equatable {
        /// LRA's source text, with parentheses.
        public var source: String
        /// The expression's value, 0–9.
        public var value: Int
        /// Operators, values and closing brackets: the token count after LRA's tokenisation.
        public var length: Int
    }

    /// The three splits.
    public struct Splits: Sendable, Equatable {
        /// The training split.
        public var train: [Expression]
        /// The validation split.
        public var validation: [Expression]
        /// The test split.
        public var test: [Expression]
    }

    /// The operators in LRA's order (the order `random.choice` draws from).
    public static let operators = ["[MIN", "[MAX", "[MED", "[SM"]
    /// The probability threshold: r > 0.25 makes a value.
    public static let valueThreshold: Float = 0.25

    /// What this generator makes.
    public let settings: Settings

    public init(settings: Settings) {
        precondition(settings.maxArguments >= 2, "ListOpsGenerator: maxArguments must be at least 2")
        precondition(settings.minLength + 1 < settings.maxLength,
                     "ListOpsGenerator: no length fits strictly between \(settings.minLength) and \(settings.maxLength)")
        self.settings = settings
    }

    /// Generates the splits. `progress` is called with the number of distinct trees kept so far
    /// every 1000 trees.
    public func generate(progress: (Int) -> Void = { _ in }) -> Splits {
        let wanted = settings.trainCount + settings.validationCount + settings.testCount
        var random = RandomStream(seed: settings.seed)
        var seen = Set<String>()
        var kept: [Expression] = []
        kept.reserveCapacity(wanted)
        while kept.count < wanted {
            var text: [UInt8] = []
            let (value, length) = tree(depth: 1, random: &random, text: &text)
            guard length > settings.minLength && length < settings.maxLength else { continue }
            let source = String(decoding: text, as: UTF8.self)
            guard seen.insert(source).inserted else { continue }
            kept.append(Expression(source: source, value: value, length: length))
            if kept.count % 1000 == 0 { progress(kept.count) }
        }
        let validationEnd = settings.trainCount + settings.validationCount
        return Splits(train: Array(kept[0..<settings.trainCount]),
                      validation: Array(kept[settings.trainCount..<validationEnd]),
                      test: Array(kept[validationEnd...]))
    }

    /// Appends one tree's source to `text`; returns its value and length.
    func tree(depth: Int, random: inout RandomStream, text: inout [UInt8]) -> (value: Int, length: Int) {
        let r: Float = depth < settings.maxDepth ? random.uniform() : 1
        if r > ListOpsGenerator.valueThreshold {
            let value = random.integer(below: 10)
            text.append(UInt8(ascii: "0") + UInt8(value))
            return (value, 1)
        }
        let childCount = 2 + random.integer(below: settings.maxArguments - 1)
        var children: [UInt8] = []
        var values: [Int] = []
        var length = 2
        for _ in 0..<childCount {
            children.append(UInt8(ascii: " "))
            let child = tree(depth: depth + 1, random: &random, text: &children)
            children.append(contentsOf: Array(" )".utf8))
            values.append(child.value)
            length += child.length
        }
        let operatorIndex = random.integer(below: ListOpsGenerator.operators.count)
        // ( ( … ( op c0 ) c1 ) … ck-1 ) ] )  — one "( " per child plus one for the closing bracket.
        for _ in 0...childCount { text.append(contentsOf: Array("( ".utf8)) }
        text.append(contentsOf: Array(ListOpsGenerator.operators[operatorIndex].utf8))
        text.append(contentsOf: children)
        text.append(contentsOf: Array(" ] )".utf8))
        return (ListOpsGenerator.apply(operatorIndex, to: values), length)
    }

    /// The value of an operator over its arguments: min, max, median (integer part of the
    /// mean of the middle pair for an even count, as `int(np.median)`), or sum mod 10.
    static func apply(_ operatorIndex: Int, to values: [Int]) -> Int {
        switch operatorIndex {
        case 0: return values.min()!
        case 1: return values.max()!
        case 2:
            let sorted = values.sorted()
            let middle = sorted.count / 2
            return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        default: return values.reduce(0, +) % 10
        }
    }

    // MARK: - Files

    /// LRA's file names for a split: `basic_train.tsv`, `basic_val.tsv`, `basic_test.tsv`.
    public static func fileName(split: String, task: String = "basic") -> String {
        "\(task)_\(split).tsv"
    }

    /// Writes the splits as LRA's TSV files in `folder` (created if needed): header
    /// `Source\tTarget`, one `source\tvalue` row per expression, rows ending in CRLF like
    /// Python's `csv.writer`. Returns the paths written.
    @discardableResult
    public static func write(_ splits: Splits, to folder: String, task: String = "basic") throws -> [String] {
        try FileBytes.createFolder(folder)
        var written: [String] = []
        for (split, expressions) in [("train", splits.train), ("val", splits.validation), ("test", splits.test)] {
            var bytes = Array("Source\tTarget\r\n".utf8)
            for expression in expressions {
                bytes.append(contentsOf: Array(expression.source.utf8))
                bytes.append(contentsOf: Array("\t\(expression.value)\r\n".utf8))
            }
            let path = (folder as NSString).appendingPathComponent(fileName(split: split, task: task))
            try FileBytes.write(bytes, to: path)
            written.append(path)
        }
        return written
    }
}
