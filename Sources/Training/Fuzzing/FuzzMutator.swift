/// The fuzzer's inputs: seeded mutations of a corpus, in the manner of libFuzzer's mutation
/// engine without its coverage feedback. Input `n` of a campaign with seed `s` is a pure
/// function of `(s, n)` and the corpus, so any one input can be made again on its own
/// (`parseval fuzz TARGET --seed s --only n`).
public struct FuzzMutator: Sendable {
    /// The valid inputs mutations start from.
    public let corpus: [[UInt8]]
    /// Byte strings worth inserting (keywords, delimiters, hostile numbers): the dictionary.
    public let tokens: [[UInt8]]
    /// What the mutator knows of the format's framing.
    public let structure: FuzzStructure
    /// Inputs are cut to this length (the crash guard's buffer holds this many bytes).
    public let maximumLength: Int

    public init(corpus: [[UInt8]], tokens: [[UInt8]], structure: FuzzStructure = .none, maximumLength: Int = FuzzCrashGuard.capacity) {
        precondition(!corpus.isEmpty, "FuzzMutator: the corpus needs at least one input")
        self.corpus = corpus
        self.tokens = tokens
        self.structure = structure
        self.maximumLength = maximumLength
    }

    /// Input `index` of the campaign seeded `seed`: one corpus entry changed by 1–8 edits, or
    /// (one time in 32) random bytes, or (one time in 64) the corpus entry unchanged.
    public func input(_ index: Int, seed: UInt64) -> [UInt8] {
        var random = FuzzRandom(seed: seed, index: UInt64(index))
        let choice = random.below(64)
        if choice == 0 { return corpus[random.below(corpus.count)] }
        if choice <= 2 { return (0..<random.below(512)).map { _ in random.byte() } }
        var bytes = corpus[random.below(corpus.count)]
        let edits = 1 + random.below(random.below(2) == 0 ? 2 : 8)
        switch structure {
        case .lengthPrefixed(let offset, let width, let start) where random.below(2) == 0:
            if let edited = mutateHeader(bytes, offset: offset, width: width, start: start, edits: edits, &random) {
                bytes = edited
            } else {
                for _ in 0..<edits { mutate(&bytes, &random) }
            }
        case .signature(let signature):
            for _ in 0..<edits { mutate(&bytes, &random) }
            // Keep the signature three times in four, so the bytes reach the decoder itself.
            if random.below(4) != 0 { bytes = signature + bytes.dropFirst(min(signature.count, bytes.count)) }
        default:
            for _ in 0..<edits { mutate(&bytes, &random) }
        }
        if bytes.count > maximumLength { bytes.removeLast(bytes.count - maximumLength) }
        return bytes
    }

    /// Hostile numbers in text: Int and Int32 limits, values whose products overflow, negatives,
    /// floats out of range, NaN spelled every way parsers accept.
    static let numbers = ["0", "-1", "1", "-0", "255", "256", "65536", "2147483647", "2147483648", "-2147483649",
                          "4294967296", "4611686018427387904", "9223372036854775807", "9223372036854775808",
                          "-9223372036854775808", "18446744073709551616", "1e308", "1e999", "-1e999", "nan", "NaN",
                          ".nan", "inf", ".inf", "-.inf", "1.5", "0x10", "1_000"].map { Array($0.utf8) }

    /// Hostile binary words: little-endian limits, float NaN, ±∞, −1.0, the largest float.
    static let words: [UInt64] = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
                                  0x7FC0_0000, 0x7F80_0000, 0xFF80_0000, 0xBF80_0000, 0x7F7F_FFFF, 0x7E00, 0x7C00, 0xFFC0,
                                  0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF, 0x4000_0000_0000_0000]

    func mutate(_ bytes: inout [UInt8], _ random: inout FuzzRandom) {
        let position = random.below(bytes.count + 1)
        switch random.below(11) {
        case 0 where position < bytes.count:  // flip a bit
            bytes[position] ^= 1 << UInt8(random.below(8))
        case 1 where position < bytes.count:  // a random byte
            bytes[position] = random.byte()
        case 2:  // delete a range
            bytes.removeSubrange(position..<min(bytes.count, position + 1 + random.below(16)))
        case 3 where !tokens.isEmpty:  // insert a dictionary token
            bytes.insert(contentsOf: tokens[random.below(tokens.count)], at: position)
        case 4 where !tokens.isEmpty && position < bytes.count:  // overwrite with a dictionary token
            let token = tokens[random.below(tokens.count)]
            bytes.replaceSubrange(position..<min(bytes.count, position + token.count), with: token)
        case 5:  // duplicate a range
            let end = min(bytes.count, position + 1 + random.below(64))
            bytes.insert(contentsOf: bytes[position..<end], at: position)
        case 6:  // replace a decimal number with a hostile one
            replaceNumber(&bytes, &random)
        case 7 where bytes.count >= 8:  // overwrite with a hostile binary word
            mutateWord(&bytes, &random)
        case 8:  // splice in a part of another corpus entry
            let other = corpus[random.below(corpus.count)]
            let start = random.below(other.count + 1)
            let end = min(other.count, start + random.below(256))
            bytes.replaceSubrange(position..<min(bytes.count, position + random.below(256)), with: other[start..<end])
        case 9:  // insert random bytes
            bytes.insert(contentsOf: (0..<(1 + random.below(8))).map { _ in random.byte() }, at: position)
        default:  // truncate
            bytes.removeSubrange(position...)
        }
    }

    /// `bytes` with its header edited alone and its new length written, so the edits reach the
    /// header's parser rather than stopping at the length check; sometimes a payload word edited
    /// too. nil when `bytes` has no such header.
    func mutateHeader(_ bytes: [UInt8], offset: Int, width: Int, start: Int, edits: Int, _ random: inout FuzzRandom) -> [UInt8]? {
        guard bytes.count >= start else { return nil }
        let length = (0..<width).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
        guard length <= bytes.count - start else { return nil }
        var header = Array(bytes[start..<(start + length)])
        var payload = Array(bytes[(start + length)...])
        for _ in 0..<edits { mutate(&header, &random) }
        if random.below(4) == 0 { mutateWord(&payload, &random) }
        if width < 8 { header = Array(header.prefix((1 << (8 * width)) - 1)) }
        var result = Array(bytes[..<start])
        for index in 0..<width { result[offset + index] = UInt8(truncatingIfNeeded: header.count >> (8 * index)) }
        return result + header + payload
    }

    /// Overwrites 1, 2, 4 or 8 bytes (often 4-byte aligned: a Float32) with a hostile word.
    func mutateWord(_ bytes: inout [UInt8], _ random: inout FuzzRandom) {
        let word = Self.words[random.below(Self.words.count)]
        let width = [1, 2, 4, 8][random.below(4)]
        guard bytes.count >= width else { return }
        var at = random.below(bytes.count - width + 1)
        if random.below(2) == 0 { at -= at % 4 }
        for offset in 0..<width { bytes[at + offset] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(offset))) }
    }

    /// Replaces one run of decimal digits (with its sign) by a hostile number.
    func replaceNumber(_ bytes: inout [UInt8], _ random: inout FuzzRandom) {
        func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }
        let starts = bytes.indices.filter { isDigit(bytes[$0]) && ($0 == 0 || !isDigit(bytes[$0 - 1])) }
        guard !starts.isEmpty else { return }
        var start = starts[random.below(starts.count)]
        var end = start
        while end < bytes.count && isDigit(bytes[end]) { end += 1 }
        if start > 0 && bytes[start - 1] == UInt8(ascii: "-") { start -= 1 }
        bytes.replaceSubrange(start..<end, with: Self.numbers[random.below(Self.numbers.count)])
    }
}

/// The framing of a target's format, for mutations that keep it intact.
public enum FuzzStructure: Sendable {
    case none
    /// A header whose little-endian length of `width` bytes is at `offset`, starting at `start`
    /// (safetensors: 0, 8, 8; NumPy's .npy version 1: 8, 2, 10).
    case lengthPrefixed(offset: Int, width: Int, start: Int)
    /// A magic number at the start (PNG, JPEG).
    case signature([UInt8])
}

/// SplitMix64, seeded by a campaign's seed and an input's index.
public struct FuzzRandom: RandomNumberGenerator, Sendable {
    var state: UInt64

    public init(seed: UInt64, index: UInt64 = 0) {
        state = seed &* 0x9E37_79B9_7F4A_7C15 ^ index &* 0xBF58_476D_1CE4_E5B9 ^ 0x94D0_49BB_1331_11EB
        _ = next()
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound` (0 when `bound` is 0).
    public mutating func below(_ bound: Int) -> Int { bound <= 0 ? 0 : Int(next() % UInt64(bound)) }

    public mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
}

/// libFuzzer's and AFL's dictionary format: one `"token"` per line (an optional `name=`
/// before it), with `\\`, `\"`, `\n`, `\t`, `\r` and `\xNN` escapes; `#` starts a comment.
public enum FuzzDictionary {
    public static func parse(_ text: String) -> [[UInt8]] {
        text.split(separator: "\n").compactMap { line -> [UInt8]? in
            let bytes = Array(line.utf8)
            guard let open = bytes.firstIndex(of: UInt8(ascii: "\"")), let close = bytes.lastIndex(of: UInt8(ascii: "\"")),
                  open < close, !line.drop(while: { $0 == " " }).hasPrefix("#") else { return nil }
            var token: [UInt8] = []
            var index = open + 1
            while index < close {
                if bytes[index] == UInt8(ascii: "\\") && index + 1 < close {
                    let escaped = bytes[index + 1]
                    index += 2
                    switch escaped {
                    case UInt8(ascii: "n"): token.append(10)
                    case UInt8(ascii: "t"): token.append(9)
                    case UInt8(ascii: "r"): token.append(13)
                    case UInt8(ascii: "x") where index + 1 < close:
                        if let value = UInt8(String(decoding: bytes[index...(index + 1)], as: UTF8.self), radix: 16) {
                            token.append(value)
                        }
                        index += 2
                    default: token.append(escaped)
                    }
                } else {
                    token.append(bytes[index])
                    index += 1
                }
            }
            return token
        }
    }

    /// The dictionary text of `tokens` (printable ASCII as is, everything else `\xNN`).
    public static func format(_ tokens: [[UInt8]]) -> String {
        tokens.map { token in
            "\"" + token.map { byte -> String in
                switch byte {
                case UInt8(ascii: "\\"): return "\\\\"
                case UInt8(ascii: "\""): return "\\\""
                case 32...126: return String(UnicodeScalar(byte))
                default: return "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
                }
            }.joined() + "\"\n"
        }.joined()
    }
}
