import Datasets
import Foundation
import XCTest

/// A fresh folder under the system's temporary directory, removed when the test ends.
final class TemporaryFolder {
    let path: String

    init(_ testCase: XCTestCase) throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("parseval-datasets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let path = self.path
        testCase.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    }

    /// `path/relative`, with its parent folders created.
    func file(_ relative: String) throws -> String {
        let full = (path as NSString).appendingPathComponent(relative)
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        return full
    }

    /// Writes `text` (UTF-8) to `path/relative` and returns the full path.
    @discardableResult
    func write(_ text: String, to relative: String) throws -> String {
        try write(Array(text.utf8), to: relative)
    }

    @discardableResult
    func write(_ bytes: [UInt8], to relative: String) throws -> String {
        let full = try file(relative)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
        return full
    }
}

/// Asserts that `body` throws a `DatasetError` whose description contains every fragment.
func assertDatasetError<T>(_ fragments: [String], file: StaticString = #filePath, line: UInt = #line,
                           _ body: () throws -> T) {
    do {
        _ = try body()
        XCTFail("expected a DatasetError containing \(fragments)", file: file, line: line)
    } catch {
        let text = "\(error)"
        XCTAssertTrue(error is DatasetError, "not a DatasetError: \(text)", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(text.contains(fragment), "'\(text)' does not contain '\(fragment)'", file: file, line: line)
        }
    }
}
