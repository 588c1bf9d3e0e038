import Foundation

/// A problem with input data, located precisely enough for a person to fix it: the file, the
/// line when the format has lines, and what was expected.
///
/// Its description reads like a compiler diagnostic:
/// `data/train.tsv:1043: expected 2 tab-separated fields, found 1`.
public struct DatasetError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// The file (or folder) the problem is in, as the caller named it.
    public let file: String
    /// The 1-based line number, for line-oriented formats.
    public let line: Int?
    /// What was found and what was expected.
    public let message: String

    public init(file: String, line: Int? = nil, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }

    public var errorDescription: String? { description }
}
