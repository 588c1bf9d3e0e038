import Foundation
import Training
import XCTest

/// Every config under configs/ loads over the defaults and passes validation.
final class ShippedConfigurationTests: XCTestCase {
    func testEveryShippedConfigLoadsAndValidates() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("configs")
        let files = FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".yaml") } ?? []
        XCTAssertGreaterThanOrEqual(files.count, 30, "configs/ should hold the LRA task × model grid")
        for file in files {
            XCTAssertNoThrow(try ConfigurationLoader.load(path: root.appendingPathComponent(file).path).validate(), file)
        }
    }
}

/// docs/configuration.md documents every key the defaults hold.
final class ConfigurationReferenceTests: XCTestCase {
    func testEveryKeyIsDocumented() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let reference = try String(contentsOf: root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let encoded = try ConfigurationLoader.encode(TrainingConfiguration())
        let tree = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(encoded.utf8)) as? [String: [String: Any]])
        for (section, keys) in tree {
            XCTAssertTrue(reference.contains("## \(section)"), "docs/configuration.md has no section '\(section)'")
            for key in keys.keys {
                XCTAssertTrue(reference.contains("`\(key)`"), "docs/configuration.md does not document '\(section).\(key)'")
            }
        }
    }
}
