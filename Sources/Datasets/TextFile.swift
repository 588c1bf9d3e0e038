import Foundation

/// A file read whole into memory and walked line by line, for the line-oriented formats
/// (TSV, JSON lines, Pathfinder metadata).
///
/// Lines end in LF or CRLF (LRA's TSV files are written by Python's `csv` module, which
/// ends rows in CRLF); the terminator is not part of a line. Lines are numbered from 1.
struct TextFile {
    let path: String
    let bytes: [UInt8]

    /// Reads `path`, or throws an error naming it.
    static func read(_ path: String) throws -> TextFile {
        TextFile(path: path, bytes: try FileBytes.read(path))
    }

    /// Calls `body` with each line's number and bytes. A final line without a terminator
    /// counts; an empty last line after the final terminator does not.
    func forEachLine(_ body: (Int, ArraySlice<UInt8>) throws -> Void) rethrows {
        var start = 0
        var number = 1
        let newline = UInt8(ascii: "\n"), carriageReturn = UInt8(ascii: "\r")
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != newline { end += 1 }
            var contentEnd = end
            if contentEnd > start && bytes[contentEnd - 1] == carriageReturn { contentEnd -= 1 }
            try body(number, bytes[start..<contentEnd])
            number += 1
            start = end + 1
        }
    }

    /// Splits `line` at tabs into at most `maxFields` fields (the last keeps any further tabs).
    static func fields(_ line: ArraySlice<UInt8>, maxFields: Int = .max) -> [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var start = line.startIndex
        var index = line.startIndex
        while index < line.endIndex {
            if line[index] == UInt8(ascii: "\t") && result.count < maxFields - 1 {
                result.append(line[start..<index])
                start = index + 1
            }
            index += 1
        }
        result.append(line[start..<line.endIndex])
        return result
    }

    /// The bytes of `field` as a String (invalid UTF-8 is repaired, not rejected).
    static func string(_ field: ArraySlice<UInt8>) -> String {
        String(decoding: field, as: UTF8.self)
    }
}

/// Reading and writing whole files with errors that name the path.
enum FileBytes {
    static func read(_ path: String) throws -> [UInt8] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw DatasetError(file: path, "no such file")
        }
        if isFolder.boolValue { throw DatasetError(file: path, "expected a file, found a folder") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DatasetError(file: path, "cannot read the file (permissions?)")
        }
        return [UInt8](data)
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw DatasetError(file: path, "cannot write the file")
        }
    }

    /// The entries of a folder, sorted by name, or an error naming it.
    static func folderEntries(_ path: String) throws -> [String] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw DatasetError(file: path, "no such folder")
        }
        guard isFolder.boolValue else { throw DatasetError(file: path, "expected a folder, found a file") }
        do {
            return try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        } catch {
            throw DatasetError(file: path, "cannot list the folder: \(error.localizedDescription)")
        }
    }

    static func isFolder(_ path: String) -> Bool {
        var isFolder: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue
    }

    static func createFolder(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw DatasetError(file: path, "cannot create the folder: \(error.localizedDescription)")
        }
    }
}
