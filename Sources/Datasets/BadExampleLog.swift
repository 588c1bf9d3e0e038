/// What loaders do with an example they cannot read: throw (the default) or, with
/// `skipBadExamples`, count it, keep its error for the report, and go on.
///
/// Bad input never passes silently: a loader that skipped anything exposes this log, and
/// `summary` is the line a command prints.
public struct BadExampleLog: Sendable, Equatable {
    /// Skip bad examples (recording each) instead of throwing the first.
    public let skipBadExamples: Bool
    /// Every problem that was skipped, in the order met.
    public private(set) var skipped: [DatasetError] = []

    public init(skipBadExamples: Bool = false) {
        self.skipBadExamples = skipBadExamples
    }

    /// Throws `error`, or records it when skipping bad examples.
    public mutating func handle(_ error: DatasetError) throws {
        guard skipBadExamples else { throw error }
        skipped.append(error)
    }

    /// Records every problem of `other` (used when loaders combine several files).
    public mutating func absorb(_ other: BadExampleLog) {
        skipped.append(contentsOf: other.skipped)
    }

    /// How many examples were skipped.
    public var count: Int { skipped.count }

    /// The count and the first `limit` problems, each with its file and line, or nil when
    /// nothing was skipped: `skipped 3 bad examples: a.tsv:12: …; a.tsv:40: …; (1 more)`.
    public func report(first limit: Int = 5) -> String? {
        guard !skipped.isEmpty else { return nil }
        let noun = skipped.count == 1 ? "example" : "examples"
        let listed = skipped.prefix(limit).map { "\($0)" }.joined(separator: "; ")
        let more = skipped.count > limit ? "; (\(skipped.count - limit) more)" : ""
        return "skipped \(skipped.count) bad \(noun) (data.skip_bad_examples): \(listed)\(more)"
    }

    /// One line for the user, or nil when nothing was skipped:
    /// `skipped 3 bad examples (first: data/train.tsv:12: expected …)`.
    public var summary: String? {
        guard let first = skipped.first else { return nil }
        let noun = skipped.count == 1 ? "example" : "examples"
        return "skipped \(skipped.count) bad \(noun) (first: \(first))"
    }
}
