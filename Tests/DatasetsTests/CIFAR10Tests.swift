import XCTest
import TensorCore
@testable import Datasets

final class CIFAR10Tests: XCTestCase {
    /// Record i: label i % 10, R plane = i, G plane = pixel index mod 256, B plane = 255 − i.
    static func records(_ count: Int, badLabelAt bad: Int? = nil) -> [UInt8] {
        var bytes: [UInt8] = []
        for record in 0..<count {
            bytes.append(record == bad ? 10 : UInt8(record % 10))
            bytes += [UInt8](repeating: UInt8(record), count: 1024)
            bytes += (0..<1024).map { UInt8($0 % 256) }
            bytes += [UInt8](repeating: UInt8(255 - record), count: 1024)
        }
        return bytes
    }

    func testGrayscaleTokensFollowTensorFlowsFormula() throws {
        let folder = try TemporaryFolder(self)
        let path = try folder.write(Self.records(3), to: "data_batch_1.bin")
        let loaded = try CIFAR10Loader.load(files: [path])
        XCTAssertEqual(loaded.examples.map(\.label), [0, 1, 2])
        for (record, example) in loaded.examples.enumerated() {
            XCTAssertEqual(example.tokens.count, 1024)
            for pixel in [0, 1, 300, 1023] {
                // Independent: in Double, weights (0.2989, 0.5870, 0.1140), scaled by 255.5/255, truncated.
                let (r, g, b) = (Double(record), Double(pixel % 256), Double(255 - record))
                let expected = Int32(((0.2989 * r + 0.5870 * g + 0.1140 * b) / 255 * 255.5).rounded(.towardZero))
                XCTAssertEqual(Double(example.tokens[pixel]), Double(expected), accuracy: 1, "record \(record) pixel \(pixel)")
            }
        }
        XCTAssertEqual(CIFAR10Loader.grayscale(red: 255, green: 255, blue: 255), 255)
        XCTAssertEqual(CIFAR10Loader.grayscale(red: 0, green: 0, blue: 0), 0)
        XCTAssertEqual(CIFAR10Loader.grayscale(red: 100, green: 100, blue: 100), 100)
    }

    func testRGBImagesAreNormalisedHWC() throws {
        let folder = try TemporaryFolder(self)
        let path = try folder.write(Self.records(2), to: "test_batch.bin")
        let loaded = try CIFAR10Loader.load(files: [path], encoding: .rgb(mean: [0, 0.5, 0], standardDeviation: [1, 0.5, 2]))
        let image = try XCTUnwrap(loaded.examples[1].image)
        XCTAssertEqual(image.shape, [32, 32, 3])
        XCTAssertEqual(image[0, 0, 0], 1.0 / 255, accuracy: 1e-6)
        XCTAssertEqual(image[1, 3, 1], (Float(35) / 255 - 0.5) / 0.5, accuracy: 1e-6)   // pixel 35
        XCTAssertEqual(image[31, 31, 2], Float(254) / 255 / 2, accuracy: 1e-6)
    }

    func testBadFilesAndLabelsAreReported() throws {
        let folder = try TemporaryFolder(self)
        let truncated = try folder.write(Array(Self.records(2).dropLast(7)), to: "data_batch_2.bin")
        assertDatasetError([truncated, "3073-byte records", "6139 bytes"]) { try CIFAR10Loader.load(files: [truncated]) }
        let badLabel = try folder.write(Self.records(3, badLabelAt: 1), to: "data_batch_3.bin")
        assertDatasetError([badLabel, "record 2", "label 10 is out of range"]) { try CIFAR10Loader.load(files: [badLabel]) }
        let skipped = try CIFAR10Loader.load(files: [badLabel], skipBadExamples: true)
        XCTAssertEqual(skipped.examples.map(\.label), [0, 2])
        XCTAssertEqual(skipped.badExamples.count, 1)
        assertDatasetError([folder.path + "/data_batch_1.bin", "no such file"]) {
            try CIFAR10Loader.load(files: CIFAR10Loader.trainingFiles(root: folder.path))
        }
    }
}
