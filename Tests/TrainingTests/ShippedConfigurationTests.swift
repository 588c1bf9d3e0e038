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
