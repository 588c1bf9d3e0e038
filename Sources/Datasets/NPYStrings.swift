import Foundation

/// The rows of a 2-D NumPy string array saved with `np.save` — how snakes2.py (the Pathfinder
/// generator behind LRA) writes its metadata: a list of lists of strings and numbers, which
/// NumPy stores as fixed-width unicode (`<U…`, UTF-32LE) or bytes (`|S…`).
///
/// Format (NumPy's NEP 1): `\x93NUMPY`, a major and minor version byte, the header length
/// (2 bytes little-endian in version 1, 4 in versions 2 and 3), a Python dict literal with
/// `descr`, `fortran_order` and `shape`, then the elements. Object arrays are pickles and are
/// refused with a message.
package enum NPYStrings {
    package static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    package static func isNPY(_ bytes: [UInt8]) -> Bool { bytes.starts(with: magic) }

    /// The array's rows, each its fields as strings (trailing NULs removed).
    package static func rows(_ bytes: [UInt8], file: String) throws -> [[String]] {
        func fail(_ problem: String) -> DatasetError { DatasetError(file: file, "NumPy array: \(problem)") }
        guard bytes.count >= 10, isNPY(bytes) else { throw fail("no \\x93NUMPY header") }
        let major = bytes[6]
        let (lengthBytes, start) = major == 1 ? (2, 10) : (4, 12)
        guard major >= 1 && major <= 3, bytes.count >= start else { throw fail("unsupported format version \(major)") }
        let headerLength = (0..<lengthBytes).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
        guard start + headerLength <= bytes.count else { throw fail("header of \(headerLength) bytes runs past the file") }
        let header = String(decoding: bytes[start..<(start + headerLength)], as: UTF8.self)
        func value(of key: String) -> Substring? {
            guard let keyRange = header.range(of: "'\(key)':") else { return nil }
            return header[keyRange.upperBound...].drop { $0 == " " }
        }
        guard let descr = value(of: "descr"), descr.first == "'", let close = descr.dropFirst().firstIndex(of: "'") else {
            throw fail("header has no 'descr': \(header)")
        }
        let type = String(descr[descr.index(after: descr.startIndex)..<close])
        guard value(of: "fortran_order")?.hasPrefix("False") == true else { throw fail("Fortran-ordered arrays are not supported") }
        guard let shapeText = value(of: "shape"), shapeText.first == "(", let end = shapeText.firstIndex(of: ")") else {
            throw fail("header has no 'shape': \(header)")
        }
        let shape = shapeText[shapeText.index(after: shapeText.startIndex)..<end].split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.compactMap { Int($0) }
        guard shape.count == 2 else { throw fail("expected a 2-D array (rows of fields), found shape \(shapeText[...end])") }
        let (unit, width): (Int, Int)
        if type.hasPrefix("<U"), let count = Int(type.dropFirst(2)) {
            (unit, width) = (4, count)
        } else if type.hasPrefix("|S"), let count = Int(type.dropFirst(2)) {
            (unit, width) = (1, count)
        } else if type.hasSuffix("O") {
            throw fail("an object array (pickled) is not readable here; save the metadata as strings (np.array(rows, dtype=str))")
        } else {
            throw fail("element type \(type), expected strings (<U… or |S…)")
        }
        let (rows, columns) = (shape[0], shape[1])
        let dataStart = start + headerLength
        let dataBytes = bytes.count - dataStart
        guard rows >= 0, columns >= 0 else {
            throw fail("shape (\(rows), \(columns)): expected non-negative sizes")
        }
        // Empty elements would let a header claim any number of rows for no data bytes.
        guard width >= 1 else { throw fail("element type \(type): expected a string width of at least 1") }
        guard rows == 0 || columns >= 1 else { throw fail("shape (\(rows), 0): expected at least one field per row") }
        // A hostile header's sizes overflow Int when multiplied: every product is checked.
        let (elementBytes, elementOverflow) = unit.multipliedReportingOverflow(by: width)
        let (elements, elementsOverflow) = rows.multipliedReportingOverflow(by: columns)
        let (total, totalOverflow) = elements.multipliedReportingOverflow(by: elementBytes)
        guard !elementOverflow, !elementsOverflow, !totalOverflow, dataBytes == total else {
            let needed = elementOverflow || elementsOverflow || totalOverflow ? "more than \(Int.max)" : "\(total)"
            throw fail("\(dataBytes) data bytes for shape (\(rows), \(columns)) of \(type); expected \(needed) "
                       + "(rows × columns × \(unit == 4 ? "4 × " : "")\(width))")
        }
        return (0..<rows).map { row in
            (0..<columns).map { column in
                let offset = dataStart + (row * columns + column) * elementBytes
                if unit == 1 {
                    return String(decoding: bytes[offset..<(offset + width)].prefix { $0 != 0 }, as: UTF8.self)
                }
                var scalars = String.UnicodeScalarView()
                for index in 0..<width {
                    let base = offset + 4 * index
                    let code = UInt32(bytes[base]) | UInt32(bytes[base + 1]) << 8 | UInt32(bytes[base + 2]) << 16 | UInt32(bytes[base + 3]) << 24
                    if code == 0 { break }
                    scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                }
                return String(scalars)
            }
        }
    }
}
