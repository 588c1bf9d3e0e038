import Foundation

/// The safetensors format (github.com/huggingface/safetensors), Float32 only:
/// 8-byte little-endian header length N, N bytes of JSON header
/// `{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}`
/// padded with spaces to a multiple of 8, then the tensors' bytes back to back.
/// `safetensors.torch.load_file` reads what `write` produces.
public enum SafeTensors {
    public struct Entry: Equatable, Sendable {
        public var name: String
        public var shape: [Int]
        public var values: [Float]

        public init(name: String, shape: [Int], values: [Float]) {
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    /// Writes atomically: a temporary file beside `path`, fsync, rename, fsync of the folder.
    /// Returns the bytes written (a checkpoint's manifest is computed from them, not re-read).
    @discardableResult
    public static func write(_ entries: [Entry], metadata: [String: String], to path: String) throws -> Data {
        let data = try encode(entries, metadata: metadata)
        try AtomicFile.write(data, to: path)
        return data
    }

    /// The bytes `write` puts in a file.
    public static func encode(_ entries: [Entry], metadata: [String: String]) throws -> Data {
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        for entry in entries {
            precondition(entry.values.count == entry.shape.reduce(1, *), "SafeTensors: \(entry.name) shape/value mismatch")
            let bytes = entry.values.count * 4
            header[entry.name] = ["dtype": "F32", "shape": entry.shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var data = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for entry in entries {
            entry.values.withUnsafeBufferPointer { buffer in
                // Float32 little-endian: the in-memory layout on every platform Parseval runs on.
                data.append(UnsafeBufferPointer(start: UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: UInt8.self),
                                                count: buffer.count * 4))
            }
        }
        return data
    }

    /// Reads and validates a file; errors name the file and what is wrong.
    public static func read(_ path: String) throws -> (entries: [Entry], metadata: [String: String]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckpointError("\(path): cannot read the file")
        }
        return try read(data, path: path)
    }

    /// The `__metadata__` of a file's bytes, without decoding its tensors.
    public static func metadata(_ data: Data, path: String) throws -> [String: String] {
        try parseHeader(data, path: path).metadata
    }

    /// The header's end offset, its JSON object and its `__metadata__`.
    static func parseHeader(_ data: Data, path: String) throws -> (end: Int, fields: [String: Any], metadata: [String: String]) {
        func fail(_ problem: String) -> CheckpointError { CheckpointError("\(path): \(problem)") }
        guard data.count >= 8 else { throw fail("truncated: \(data.count) bytes, not even a header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(data.count - 8), headerLength <= 100_000_000 else {
            throw fail("header length \(headerLength) exceeds the file (\(data.count) bytes): truncated or not safetensors")
        }
        let headerEnd = 8 + Int(headerLength)
        guard let header = try? JSONSerialization.jsonObject(with: data[8..<headerEnd]) as? [String: Any] else {
            throw fail("header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let values = raw as? [String: String] else { throw fail("__metadata__ must map strings to strings") }
            metadata = values
        }
        return (headerEnd, header, metadata)
    }

    /// Validates and decodes a file's bytes (`path` names it in errors).
    public static func read(_ data: Data, path: String) throws -> (entries: [Entry], metadata: [String: String]) {
        func fail(_ problem: String) -> CheckpointError { CheckpointError("\(path): \(problem)") }
        let (headerEnd, header, metadata) = try parseHeader(data, path: path)
        let dataCount = data.count - headerEnd
        var spans: [(name: String, shape: [Int], begin: Int, end: Int, width: Int, dtype: String)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw fail("tensor '\(name)': expected dtype, shape and two data_offsets")
            }
            // F32 as Parseval writes; F16 and BF16 (what a PyTorch model saved in half precision
            // holds) are widened exactly. F64 would be rounded, so it is refused rather than
            // narrowed behind the user's back.
            let widths = ["F32": 4, "F16": 2, "BF16": 2]
            guard let width = widths[dtype] else {
                throw fail("tensor '\(name)': dtype \(dtype) is not read (F32, F16 and BF16 are)"
                           + (dtype == "F64" ? "; convert it to float32 first, e.g. tensor.float() in PyTorch" : ""))
            }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataCount else {
                throw fail("tensor '\(name)': offsets \(offsets) outside the \(dataCount) data bytes (truncated?)")
            }
            // The product of a hostile shape can overflow Int: multiply with a check.
            let bytes = shape.reduce(Int?(width)) { product, size in
                product.flatMap { let (value, overflow) = $0.multipliedReportingOverflow(by: size); return overflow ? nil : value }
            }
            guard let bytes, offsets[1] - offsets[0] == bytes else {
                throw fail("tensor '\(name)': shape \(shape) needs \(bytes.map(String.init) ?? "more than Int.max") bytes, "
                           + "offsets give \(offsets[1] - offsets[0])")
            }
            spans.append((name, shape, offsets[0], offsets[1], width, dtype))
        }
        // By begin, then end (an empty tensor may share its offset with the next), then name: the
        // header's key order is not kept, and the outcome must not depend on it.
        spans.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var covered = 0
        for span in spans {
            guard span.begin == covered else { throw fail("tensor '\(span.name)' starts at \(span.begin), expected \(covered): holes or overlaps") }
            covered = span.end
        }
        guard covered == dataCount else { throw fail("tensors cover \(covered) of \(dataCount) data bytes") }
        let entries = spans.map { span in
            let values = data.withUnsafeBytes { raw -> [Float] in
                let start = raw.baseAddress! + headerEnd + span.begin
                let count = (span.end - span.begin) / span.width
                switch span.dtype {
                case "F16":
                    return (0..<count).map { Float(Float16(bitPattern: UInt16(littleEndian: start.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))) }
                case "BF16":
                    return (0..<count).map { Float(bitPattern: UInt32(UInt16(littleEndian: start.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) << 16) }
                default:
                    return (0..<count).map { start.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
                }
            }
            return Entry(name: span.name, shape: span.shape, values: values)
        }
        return (entries, metadata)
    }
}

/// Atomic file replacement: write a temporary file in the same folder, fsync it, rename
/// it over the target, fsync the folder. A reader sees the old file or the new one, never
/// a mix; a crash mid-write leaves the old file intact.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temporary = "\(folder)/.\(url.lastPathComponent).tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw CheckpointError("\(temporary): cannot create (\(String(cString: strerror(errno))))") }
        var written = 0
        let status: Int32 = data.withUnsafeBytes { raw in
            FaultInjection.beforeWriting(path, descriptor: descriptor, bytes: raw)
            while written < raw.count {
                let result = Foundation.write(descriptor, raw.baseAddress! + written, raw.count - written)
                if result <= 0 { return errno }
                written += result
            }
            return fsync(descriptor) == 0 ? 0 : errno
        }
        close(descriptor)
        guard status == 0 else {
            unlink(temporary)
            throw CheckpointError("\(path): write failed (\(String(cString: strerror(status))))")
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CheckpointError("\(path): rename failed (\(String(cString: strerror(errno))))")
        }
        let folderDescriptor = open(folder, O_RDONLY)
        if folderDescriptor >= 0 {
            fsync(folderDescriptor)
            close(folderDescriptor)
        }
    }
}

/// A checkpoint that cannot be written, read, or applied to this model.
public struct CheckpointError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
