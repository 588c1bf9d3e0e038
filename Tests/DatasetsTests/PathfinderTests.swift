import Foundation
import XCTest
import TensorCore
@testable import Datasets

final class PathfinderTests: XCTestCase {
    let generator = PathfinderGenerator(settings: PathfinderSettings.hard(size: 32)!)

    func testLabelIsWhetherBothMarkersEndTheSameContour() throws {
        var positives = 0
        for index in 0..<24 {
            var random = RandomStream(seed: 21).derived(UInt64(index))
            let label = index % 2
            let sample = try generator.sample(label: label, random: &random)
            XCTAssertEqual(sample.label, label)
            let targets = sample.contours.enumerated().filter { $0.element.isTarget }
            XCTAssertEqual(targets.count, 2)
            XCTAssertTrue(targets.allSatisfy { $0.element.paddles.count == 14 }, "target contours have 14 paddles")
            // Which target contours does each marker end? (independent of markerContours)
            let startsAtFirst = Set(targets.filter { $0.element.origin == sample.markers[0] }.map(\.offset))
            let endsAtSecond = Set(targets.filter { $0.element.terminal == sample.markers[1] }.map(\.offset))
            XCTAssertFalse(startsAtFirst.isEmpty, "first marker is at a target contour's start")
            XCTAssertFalse(endsAtSecond.isEmpty, "second marker is at a target contour's end")
            let sameContour = !startsAtFirst.isDisjoint(with: endsAtSecond)
            XCTAssertEqual(sameContour ? 1 : 0, sample.label, "sample \(index)")
            XCTAssertEqual(sample.markerContours[0] == sample.markerContours[1], sample.label == 1)
            positives += sample.label
            // Markers and every target paddle are visible in the image.
            for marker in sample.markers { XCTAssertGreaterThan(sample.pixels[marker.y * 32 + marker.x], 60) }
            for paddle in targets.flatMap({ $0.element.paddles }) {
                XCTAssertGreaterThan(sample.pixels[paddle.start.y * 32 + paddle.start.x], 0)
            }
        }
        XCTAssertEqual(positives, 12)
    }

    func testContoursTurnWithinTheContinuityBound() throws {
        // continuity 1.0: a paddle never turns more than 90° from the previous direction of growth.
        var random = RandomStream(seed: 4)
        let sample = try generator.sample(label: 1, random: &random)
        for contour in sample.contours {
            XCTAssertGreaterThanOrEqual(contour.paddles.count, contour.isTarget ? 14 : 4)
            for (previous, next) in zip(contour.paddles.dropFirst(), contour.paddles.dropFirst(2)) {
                var turn = abs(previous.orientation - next.orientation)
                turn = min(turn, 2 * Double.pi - turn)
                XCTAssertLessThan(turn, Double.pi / 2, "turn of \(turn * 180 / Double.pi)°")
            }
        }
        XCTAssertGreaterThan(sample.contours.count, 2, "distractors were placed")
    }

    func testLabelsAreBalancedPerBatchAndFilesAreDeterministic() throws {
        let folder = try TemporaryFolder(self)
        let first = try generator.write(count: 21, to: folder.path + "/a", seed: 5, imagesPerBatch: 10, threads: 2)
        XCTAssertEqual(first.map { $0.labels.count }, [10, 10, 1])
        XCTAssertEqual(first.map { $0.labels.reduce(0, +) }, [5, 5, 1])
        _ = try generator.write(count: 21, to: folder.path + "/b", seed: 5, imagesPerBatch: 10, threads: 1)
        _ = try generator.write(count: 21, to: folder.path + "/c", seed: 6, imagesPerBatch: 10, threads: 2)
        let files = try FileManager.default.subpathsOfDirectory(atPath: folder.path + "/a").filter { $0.hasSuffix(".png") || $0.hasSuffix(".npy") }
        XCTAssertEqual(files.count, 21 + 3)
        var differing = 0
        for file in files {
            let a = FileManager.default.contents(atPath: folder.path + "/a/" + file)
            XCTAssertNotNil(a)
            XCTAssertEqual(a, FileManager.default.contents(atPath: folder.path + "/b/" + file), file)
            if a != FileManager.default.contents(atPath: folder.path + "/c/" + file) { differing += 1 }
        }
        XCTAssertGreaterThan(differing, 20, "another seed gives other images")
        let metadata = try String(contentsOfFile: folder.path + "/a/curv_contour_length_14/metadata/0.npy", encoding: .utf8)
        let line = metadata.split(separator: "\n")[3].split(separator: " ")
        XCTAssertEqual(Array(line.prefix(3)), ["imgs/0", "sample_3.png", "3"])
        XCTAssertEqual(Int(line[3]), first[0].labels[3])
        XCTAssertEqual(line.count, 11)
    }

    func testLoaderRoundTripsTheLayoutAndSplits80_10_10() throws {
        let folder = try TemporaryFolder(self)
        let batches = try generator.write(count: 20, to: folder.path, seed: 8, imagesPerBatch: 8, threads: 2)
        let all = try PathfinderDataset(root: folder.path, size: 32)
        XCTAssertEqual(all.count, 20)
        XCTAssertEqual(all.labels.map(Int.init), batches.flatMap(\.labels))
        // Pixels read back are the generator's (image 9 is batch 1, image 1).
        var random = RandomStream(seed: 8).derived(1, 1)
        let expected = try generator.sample(label: batches[1].labels[1], random: &random)
        var unused = RandomStream(seed: 0)
        let example = try all.example(at: 9, random: &unused)
        XCTAssertEqual(example.tokens, expected.pixels.map(Int32.init))
        XCTAssertEqual(example.label, Int32(expected.label))
        let splits = try PathfinderDataset.Split.allCases.dropLast().map { try PathfinderDataset(root: folder.path + "/curv_contour_length_14", split: $0) }
        XCTAssertEqual(splits.map(\.count), [16, 2, 2])
        XCTAssertEqual(splits.flatMap(\.imagePaths), all.imagePaths)
    }

    /// snakes2.py saves its metadata with `np.save` (a `<U32` string array of snakes2's 11
    /// columns); the fixture is such a file, written by NumPy 2.4, listing imgs/0/sample_0..3.png
    /// with labels 1, 1, 0, 0 (the images here are the generator's; only their names matter).
    func testSnakes2BinaryNumPyMetadataIsRead() throws {
        let folder = try TemporaryFolder(self)
        _ = try generator.write(count: 4, to: folder.path, seed: 8, imagesPerBatch: 4, threads: 1)
        let metadata = folder.path + "/curv_contour_length_14/metadata/0.npy"
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/snakes2-metadata.npy")
        try FileManager.default.removeItem(atPath: metadata)
        try FileManager.default.copyItem(atPath: fixture.path, toPath: metadata)
        let dataset = try PathfinderDataset(root: folder.path, size: 32)
        XCTAssertEqual(dataset.count, 4)
        XCTAssertEqual(dataset.labels, [1, 1, 0, 0])
        XCTAssertEqual(dataset.imagePaths.map { ($0 as NSString).lastPathComponent }, (0..<4).map { "sample_\($0).png" })
        // An object array (what np.save writes when a row holds None) is refused by name.
        var pickled = [UInt8](try Data(contentsOf: fixture))
        let descr = Array("'<U32'".utf8), object = Array("'|O'  ".utf8)
        let at = try XCTUnwrap((0..<120).first { Array(pickled[$0..<($0 + descr.count)]) == descr })
        pickled.replaceSubrange(at..<(at + descr.count), with: object)
        try Data(pickled).write(to: URL(fileURLWithPath: metadata))
        XCTAssertThrowsError(try PathfinderDataset(root: folder.path)) { error in
            XCTAssertTrue("\(error)".contains("0.npy") && "\(error)".contains("object array"), "\(error)")
        }
    }

    func testLoaderErrorsNameTheMetadataLineOrImage() throws {
        let folder = try TemporaryFolder(self)
        assertDatasetError([folder.path + "/metadata", "no such folder"]) { try PathfinderDataset(root: folder.path) }
        try generator.write(count: 3, to: folder.path, seed: 1, imagesPerBatch: 3, threads: 1)
        let split = folder.path + "/curv_contour_length_14"
        let metadata = split + "/metadata/0.npy"
        let lines = try String(contentsOfFile: metadata, encoding: .utf8).split(separator: "\n").map(String.init)
        try (lines[0] + "\nimgs/0 sample_1.png\n" + lines[2] + "\n").write(toFile: metadata, atomically: true, encoding: .utf8)
        assertDatasetError([metadata + ":2:", "expected at least 4 space-separated fields", "found 2"]) { try PathfinderDataset(root: folder.path) }
        try (lines[0] + "\n" + lines[1] + "\nimgs/0 sample_2.png 2 7 1.0\n").write(toFile: metadata, atomically: true, encoding: .utf8)
        assertDatasetError([metadata + ":3:", "label 0 or 1", "'7'"]) { try PathfinderDataset(root: folder.path) }
        try (lines[0] + "\nimgs/0 sample_9.png 9 1 1.0\n").write(toFile: metadata, atomically: true, encoding: .utf8)
        assertDatasetError([metadata + ":2:", "sample_9.png does not exist"]) { try PathfinderDataset(root: folder.path) }
        let lenient = try PathfinderDataset(root: folder.path, skipBadExamples: true)
        XCTAssertEqual(lenient.count, 1)
        XCTAssertEqual(lenient.badExamples.count, 1)

        try lines.joined(separator: "\n").appending("\n").write(toFile: metadata, atomically: true, encoding: .utf8)
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]).write(to: URL(fileURLWithPath: split + "/imgs/0/sample_1.png"))
        let dataset = try PathfinderDataset(root: folder.path, size: 32)
        var random = RandomStream(seed: 0)
        assertDatasetError([split + "/imgs/0/sample_1.png", "PNG"]) { try dataset.example(at: 1, random: &random) }
        let wrongSize = try PathfinderDataset(root: folder.path, size: 64)
        assertDatasetError([split + "/imgs/0/sample_0.png", "expected a 64×64 image, found 32×32"]) { try wrongSize.example(at: 0, random: &random) }
    }

    func testHardSettingsMatchLRA() {
        XCTAssertEqual(PathfinderSettings.supportedSizes.compactMap { PathfinderSettings.hard(size: $0)?.distractorCount }, [5, 5, 8, 7])
        XCTAssertEqual(PathfinderSettings.hard(size: 128)?.paddleMargins, [2, 3])
        XCTAssertEqual(PathfinderSettings.hard(size: 128)?.seedDistance, 20)
        XCTAssertEqual(PathfinderSettings.hard(size: 32)?.markerRadius, 1.5)
        XCTAssertNil(PathfinderSettings.hard(size: 48))
        XCTAssertEqual(PathfinderSettings.hard(size: 32)?.splitName, "curv_contour_length_14")
    }
}
