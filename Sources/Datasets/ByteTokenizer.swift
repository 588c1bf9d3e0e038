/// LRA's byte-level encoding for Text and Retrieval: byte b becomes id b + 1, 0 is padding,
/// so the vocabulary has 257 ids.
public enum ByteTokenizer {
    public static let vocabularySize = 257

    /// The ids of the first `maxLength` bytes of `bytes`.
    public static func encode(_ bytes: some Collection<UInt8>, maxLength: Int) -> [Int32] {
        bytes.prefix(maxLength).map { Int32($0) + 1 }
    }

    /// The bytes back from ids (padding dropped).
    public static func decode(_ ids: [Int32]) -> [UInt8] {
        ids.filter { $0 > 0 }.map { UInt8($0 - 1) }
    }
}
