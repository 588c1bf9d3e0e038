/// Reads LRA's ListOps TSV files and tokenises them as LRA's input pipeline does: drop `(`
/// and `)`, rename `]` to `X`, split on whitespace, map through a fixed vocabulary, truncate
/// to the maximum length (the batcher pads to it).
///
/// Vocabulary (`vocabulary[id]`): 0 = padding, then `0`…`9` (ids 1–10), `[MIN` 11, `[MAX` 12,
/// `[MED` 13, `[SM` 14, `X` 15 — 16 ids. LRA built its vocabulary from the training set in
/// hash order; a fixed one makes checkpoints portable between runs.
public enum ListOpsLoader {
    /// Token strings by id; id 0 is padding.
    public static let vocabulary = ["<pad>", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
                                    "[MIN", "[MAX", "[MED", "[SM", "X"]
    /// Classes: the values 0–9.
    public static let classCount = 10
    /// LRA's sequence length.
    public static let defaultMaxLength = 2000

    /// The id of one token, or nil if it is not in the vocabulary.
    public static func tokenID(_ token: some Collection<UInt8>) -> Int32? {
        let bytes = Array(token)
        if bytes.count == 1 {
            if bytes[0] >= UInt8(ascii: "0") && bytes[0] <= UInt8(ascii: "9") { return Int32(bytes[0] - UInt8(ascii: "0")) + 1 }
            if bytes[0] == UInt8(ascii: "X") || bytes[0] == UInt8(ascii: "]") { return 15 }
            return nil
        }
        switch String(decoding: bytes, as: UTF8.self) {
        case "[MIN": return 11
        case "[MAX": return 12
        case "[MED": return 13
        case "[SM": return 14
        default: return nil
        }
    }

    /// LRA's tokenisation of one source text into ids, or the first unknown token.
    public static func tokenize(_ source: some Collection<UInt8>) -> Result<[Int32], UnknownToken> {
        var ids: [Int32] = []
        var token: [UInt8] = []
        func flush() -> UnknownToken? {
            defer { token.removeAll(keepingCapacity: true) }
            guard !token.isEmpty else { return nil }
            guard let id = tokenID(token) else { return UnknownToken(text: String(decoding: token, as: UTF8.self)) }
            ids.append(id)
            return nil
        }
        for byte in source {
            switch byte {
            case UInt8(ascii: "("), UInt8(ascii: ")"): continue
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                if let unknown = flush() { return .failure(unknown) }
            default: token.append(byte)
            }
        }
        if let unknown = flush() { return .failure(unknown) }
        return .success(ids)
    }

    /// A token outside the vocabulary.
    public struct UnknownToken: Error, Equatable {
        public let text: String
    }

    /// Loads one split file (e.g. `basic_train.tsv`). Bad rows throw a `DatasetError` naming the
    /// file and line, or with `skipBadExamples` are skipped and listed in `badExamples`.
    public static func load(file: String, maxLength: Int = defaultMaxLength, skipBadExamples: Bool = false) throws -> InMemoryDataset {
        try load(bytes: try FileBytes.read(file), file: file, maxLength: maxLength, skipBadExamples: skipBadExamples)
    }

    /// `load(file:)` on bytes already in memory; `file` names them in errors (the fuzzer's entry).
    package static func load(bytes: [UInt8], file: String, maxLength: Int = defaultMaxLength,
                             skipBadExamples: Bool = false) throws -> InMemoryDataset {
        let text = TextFile(path: file, bytes: bytes)
        var log = BadExampleLog(skipBadExamples: skipBadExamples)
        var examples: [Example] = []
        try text.forEachLine { number, line in
            if number == 1 {
                guard TextFile.string(line) == "Source\tTarget" else {
                    throw DatasetError(file: file, line: 1, "expected the header 'Source<TAB>Target', found '\(TextFile.string(line.prefix(40)))'")
                }
                return
            }
            do {
                examples.append(try parseRow(line, file: file, line: number, maxLength: maxLength))
            } catch let error as DatasetError {
                try log.handle(error)
            }
        }
        if text.bytes.isEmpty { throw DatasetError(file: file, "empty file; expected the header 'Source<TAB>Target'") }
        return InMemoryDataset(examples: examples, badExamples: log)
    }

    static func parseRow(_ line: ArraySlice<UInt8>, file: String, line number: Int, maxLength: Int) throws -> Example {
        let fields = TextFile.fields(line)
        guard fields.count == 2 else {
            throw DatasetError(file: file, line: number, "expected 2 tab-separated fields (Source, Target), found \(fields.count)")
        }
        let targetText = TextFile.string(fields[1])
        guard let target = Int32(targetText), (0..<Int32(classCount)).contains(target) else {
            throw DatasetError(file: file, line: number, "expected a Target in 0...9, found '\(targetText)'")
        }
        switch tokenize(fields[0]) {
        case .failure(let unknown):
            throw DatasetError(file: file, line: number,
                               "unknown token '\(unknown.text)'; expected one of ( ) ] 0-9 [MIN [MAX [MED [SM")
        case .success(let ids):
            guard !ids.isEmpty else { throw DatasetError(file: file, line: number, "expected an expression, found an empty Source") }
            return Example(tokens: Array(ids.prefix(maxLength)), label: target)
        }
    }
}
