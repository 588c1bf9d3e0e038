import Foundation

/// Byte-level text classification (LRA Text): every example is the bytes of a document,
/// encoded by `ByteTokenizer` (byte + 1, 0 = padding) and truncated to `maxLength`.
///
/// LRA's layout, `aclImdb(root:split:)`: IMDB's folders, `root/<split>/pos/*.txt` (label 1) and
/// `root/<split>/neg/*.txt` (label 0); files in name order, negatives first. (TSV and JSON-lines
/// loaders, never reachable from a config, were removed: issue 17.)
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
                    examples.append(try document(try FileBytes.read(path), file: path, label: label, maxLength: maxLength))
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

    /// One document's example: its bytes as tokens (`file` names it in errors; the fuzzer's entry).
    package static func document(_ bytes: [UInt8], file: String, label: Int32, maxLength: Int = defaultMaxLength) throws -> Example {
        guard !bytes.isEmpty else { throw DatasetError(file: file, "empty document: no text to classify") }
        return Example(tokens: ByteTokenizer.encode(bytes, maxLength: maxLength), label: label)
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
