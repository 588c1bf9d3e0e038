/// LRA Retrieval (AAN): pairs of documents, each encoded by bytes like Text, for a dual
/// encoder. The files (`new_aan_pairs.{train,eval,test}.tsv`) have no header and five
/// tab-separated fields per line: `label id1 id2 text1 text2`; the label is 0 or 1 and may be
/// written as a float (`1.0`). Each example has `tokens` = text1 and `pairedTokens` = text2,
/// each truncated to `maxLength`.
public enum RetrievalLoader {
    /// LRA Retrieval's length per document.
    public static let defaultMaxLength = 4000

    public static func load(file: String, maxLength: Int = defaultMaxLength, skipBadExamples: Bool = false) throws -> InMemoryDataset {
        try load(bytes: try FileBytes.read(file), file: file, maxLength: maxLength, skipBadExamples: skipBadExamples)
    }

    /// `load(file:)` on bytes already in memory; `file` names them in errors (the fuzzer's entry).
    package static func load(bytes: [UInt8], file: String, maxLength: Int = defaultMaxLength,
                             skipBadExamples: Bool = false) throws -> InMemoryDataset {
        let text = TextFile(path: file, bytes: bytes)
        var examples: [Example] = []
        var log = BadExampleLog(skipBadExamples: skipBadExamples)
        try text.forEachLine { number, line in
            do {
                let fields = TextFile.fields(line)
                guard fields.count == 5 else {
                    throw DatasetError(file: file, line: number,
                                       "expected 5 tab-separated fields (label, id1, id2, text1, text2), found \(fields.count)")
                }
                let label = try TextClassificationLoader.parseLabel(TextFile.string(fields[0]), classCount: 2, file: file, line: number)
                for (field, which) in [(fields[3], "text1"), (fields[4], "text2")] where field.isEmpty {
                    throw DatasetError(file: file, line: number, "empty \(which): a document needs at least one byte")
                }
                examples.append(Example(tokens: ByteTokenizer.encode(fields[3], maxLength: maxLength),
                                        pairedTokens: ByteTokenizer.encode(fields[4], maxLength: maxLength),
                                        label: label))
            } catch let error as DatasetError {
                try log.handle(error)
            }
        }
        return InMemoryDataset(examples: examples, badExamples: log)
    }
}
