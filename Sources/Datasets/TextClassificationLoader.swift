import Foundation

/// Byte-level text classification (LRA Text): every example is the bytes of a document,
/// encoded by `ByteTokenizer` (byte + 1, 0 = padding) and truncated to `maxLength`.
///
/// Three layouts:
/// - `aclImdb(root:split:)`: IMDB's folders, `root/<split>/pos/*.txt` (label 1) and
///   `root/<split>/neg/*.txt` (label 0); files in name order, negatives first.
/// - `tsv(file:)`: one example per line, `label<TAB>text` (an optional first line
///   `label<TAB>text` is a header); the text runs to the end of the line.
/// - `jsonLines(file:)`: one JSON object per line with an integer `label` and a string `text`.
///
/// Labels must lie in `0..<classCount`.
public enum TextClassificationLoader {
    /// LRA Text's length.
    public static let defaultMaxLength = 4096

    /// Loads IMDB's `aclImdb/<split>/{neg,pos}/*.txt`.
    public static func aclImdb(root: String, split: String = "train", maxLength: Int = defaultMaxLength,
                               skipBadExamples: Bool = false) throws -> InMemoryDataset {
        let splitFolder = (root as NSString).appendingPathComponent(split)
        var examples: [Example] = []
        var log = BadExampleLog(skipBadExamples: skipBadExamples)
        for (label, name) in [(Int32(0), "neg"), (Int32(1), "pos")] {
            let folder = (splitFolder as NSString).appendingPathComponent(name)
            guard FileBytes.isFolder(folder) else {
                throw DatasetError(file: folder, "no such folder; expected aclImdb's layout \(split)/neg and \(split)/pos")
            }
            for entry in try FileBytes.folderEntries(folder) where entry.hasSuffix(".txt") {
                let path = (folder as NSString).appendingPathComponent(entry)
                do {
                    let bytes = try FileBytes.read(path)
                    guard !bytes.isEmpty else { throw DatasetError(file: path, "empty document: no text to classify") }
                    examples.append(Example(tokens: ByteTokenizer.encode(bytes, maxLength: maxLength), label: label))
                } catch let error as DatasetError {
                    try log.handle(error)
                }
            }
        }
        guard !examples.isEmpty || log.count > 0 else {
            throw DatasetError(file: splitFolder, "no .txt files in neg/ or pos/")
        }
        return InMemoryDataset(examples: examples, badExamples: log)
    }

    /// Loads `label<TAB>text` lines.
    public static func tsv(file: String, classCount: Int = 2, maxLength: Int = defaultMaxLength,
                           skipBadExamples: Bool = false) throws -> InMemoryDataset {
        let text = try TextFile.read(file)
        var examples: [Example] = []
        var log = BadExampleLog(skipBadExamples: skipBadExamples)
        try text.forEachLine { number, line in
            if number == 1 && TextFile.string(line) == "label\ttext" { return }
            do {
                let fields = TextFile.fields(line, maxFields: 2)
                guard fields.count == 2 else {
                    throw DatasetError(file: file, line: number, "expected 2 tab-separated fields (label, text), found \(fields.count)")
                }
                let label = try parseLabel(TextFile.string(fields[0]), classCount: classCount, file: file, line: number)
                guard !fields[1].isEmpty else { throw DatasetError(file: file, line: number, "empty text: nothing to classify") }
                examples.append(Example(tokens: ByteTokenizer.encode(fields[1], maxLength: maxLength), label: label))
            } catch let error as DatasetError {
                try log.handle(error)
            }
        }
        return InMemoryDataset(examples: examples, badExamples: log)
    }

    /// Loads JSON lines `{"label": 1, "text": "…"}`; blank lines are ignored.
    public static func jsonLines(file: String, classCount: Int = 2, maxLength: Int = defaultMaxLength,
                                 skipBadExamples: Bool = false) throws -> InMemoryDataset {
        let text = try TextFile.read(file)
        var examples: [Example] = []
        var log = BadExampleLog(skipBadExamples: skipBadExamples)
        let decoder = JSONDecoder()
        try text.forEachLine { number, line in
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { return }
            do {
                let row: LabelledText
                do {
                    row = try decoder.decode(LabelledText.self, from: Data(line))
                } catch {
                    throw DatasetError(file: file, line: number,
                                       "expected a JSON object with an integer \"label\" and a string \"text\" (\(describe(error)))")
                }
                guard (0..<classCount).contains(row.label) else {
                    throw DatasetError(file: file, line: number, "label \(row.label) is out of range; expected 0...\(classCount - 1)")
                }
                guard !row.text.isEmpty else { throw DatasetError(file: file, line: number, "empty text: nothing to classify") }
                examples.append(Example(tokens: ByteTokenizer.encode(Array(row.text.utf8), maxLength: maxLength),
                                        label: Int32(row.label)))
            } catch let error as DatasetError {
                try log.handle(error)
            }
        }
        return InMemoryDataset(examples: examples, badExamples: log)
    }

    private struct LabelledText: Decodable {
        let label: Int
        let text: String
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context): return "wrong type at \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\""
        case DecodingError.valueNotFound(_, let context): return "null at \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\""
        default: return "not valid JSON"
        }
    }

    /// An integer label in range; LRA's TSV files also write labels as floats ("1.0").
    static func parseLabel(_ text: String, classCount: Int, file: String, line: Int) throws -> Int32 {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let value: Int? = Int(trimmed) ?? Double(trimmed).flatMap { $0 == $0.rounded() && abs($0) < 1e9 ? Int($0) : nil }
        guard let value else {
            throw DatasetError(file: file, line: line, "expected an integer label, found '\(trimmed.prefix(40))'")
        }
        guard (0..<classCount).contains(value) else {
            throw DatasetError(file: file, line: line, "label \(value) is out of range; expected 0...\(classCount - 1)")
        }
        return Int32(value)
    }
}
