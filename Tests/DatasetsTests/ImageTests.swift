import Foundation
import XCTest
import TensorCore
@testable import Datasets

final class ImageTests: XCTestCase {
    /// A smooth RGB test pattern: R follows x, G follows y, B is constant.
    static func pattern(width: Int, height: Int) -> RasterImage {
        var pixels: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width {
                pixels += [UInt8(x * 255 / max(1, width - 1)), UInt8(y * 255 / max(1, height - 1)), 90]
            }
        }
        return RasterImage(width: width, height: height, channels: 3, pixels: pixels)
    }

    func testPNGRoundTripsGrayAndRGB() throws {
        let folder = try TemporaryFolder(self)
        let gray = RasterImage(width: 5, height: 3, channels: 1, pixels: (0..<15).map { UInt8($0 * 17) })
        try PNGCodec.write(gray, to: folder.path + "/gray.png")
        XCTAssertEqual(try RasterImage.decode(file: folder.path + "/gray.png", channels: 1), gray)
        let color = Self.pattern(width: 7, height: 4)
        try PNGCodec.write(color, to: folder.path + "/color.png")
        XCTAssertEqual(try RasterImage.decode(file: folder.path + "/color.png", channels: 3), color)
        // Gray files decode to RGB by replicating the channel.
        let widened = try RasterImage.decode(file: folder.path + "/gray.png", channels: 3)
        XCTAssertEqual(widened.pixels[3..<6], [17, 17, 17])
    }

    func testJPEGRoundTripsWithinCompressionError() throws {
        let folder = try TemporaryFolder(self)
        let image = Self.pattern(width: 24, height: 16)
        try JPEGCodec.write(image, to: folder.path + "/pattern.jpg", quality: 95)
        let decoded = try RasterImage.decode(file: folder.path + "/pattern.jpg", channels: 3)
        XCTAssertEqual([decoded.width, decoded.height], [24, 16])
        let largest = zip(decoded.pixels, image.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
        XCTAssertLessThan(largest, 12, "largest pixel difference \(largest)")
    }

    func testCorruptAndForeignFilesNameTheFile() throws {
        let folder = try TemporaryFolder(self)
        let jpeg = try JPEGCodec.encode(Self.pattern(width: 32, height: 32), quality: 90)
        let truncated = try folder.write(Array(jpeg.prefix(jpeg.count / 2)), to: "truncated.jpg")
        assertDatasetError([truncated, "JPEG"]) { try RasterImage.decode(file: truncated) }
        let garbled = try folder.write(Array(jpeg.prefix(20)) + [UInt8](repeating: 0x55, count: 300), to: "garbled.jpg")
        assertDatasetError([garbled, "JPEG"]) { try RasterImage.decode(file: garbled) }
        try PNGCodec.write(Self.pattern(width: 8, height: 8), to: folder.path + "/whole.png")
        let png = [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder.path + "/whole.png")))
        let brokenPNG = try folder.write(Array(png.prefix(png.count - 20)), to: "broken.png")
        assertDatasetError([brokenPNG, "PNG"]) { try RasterImage.decode(file: brokenPNG) }
        let text = try folder.write("not an image", to: "notes.png")
        assertDatasetError([text, "expected a JPEG or PNG image"]) { try RasterImage.decode(file: text) }
        for _ in 0..<50 { XCTAssertThrowsError(try RasterImage.decode(file: garbled)) }
    }

    func testManyDamagedJPEGsFailNamingTheFile() throws {
        // Large enough that libjpeg's work dominates each decode, so where it runs shows.
        let jpeg = try JPEGCodec.encode(Self.pattern(width: 512, height: 512), quality: 90)
        let damaged: [(name: String, bytes: [UInt8])] = (0..<200).map { index in
            let name = "damaged/\(index).jpg"
            if index.isMultiple(of: 2) {  // cut off somewhere in the scan: libjpeg's "Premature end" warning
                return (name, Array(jpeg.prefix(jpeg.count * (50 + index % 45) / 100)))
            }
            // A valid start, then noise where the Huffman tables should be: a fatal libjpeg error.
            return (name, Array(jpeg.prefix(20)) + [UInt8](repeating: UInt8(index % 251), count: 400))
        }
        var messages: [String] = []
        for (name, bytes) in damaged {
            do {
                _ = try JPEGCodec.decode(bytes, channels: 3, name: name)
                XCTFail("\(name) decoded")
            } catch let error as DatasetError {
                XCTAssertEqual(error.file, name)
                XCTAssertTrue(error.description.hasPrefix(name + ": "), error.description)
                messages.append(error.message)
            }
        }
        // Each message is libjpeg's own, after the kind of failure.
        XCTAssertEqual(messages.filter { $0 == "corrupt JPEG: Premature end of JPEG file" }.count, 100, "\(Set(messages))")
        let unreadable = messages.filter { $0.hasPrefix("unreadable JPEG: ") }
        XCTAssertEqual(unreadable.count, 100, "\(Set(messages))")
        XCTAssertFalse(unreadable.contains { $0.hasSuffix("unknown libjpeg error") }, "\(Set(unreadable))")
    }

    /// A CMYK JPEG as Photoshop and PIL write it (Adobe marker, inverted values): 16×8, four
    /// flat patches of C, M, Y, K = (0, 0, 0, 0), (255, 0, 0, 0), (0, 128, 255, 0), (40, 80, 120, 100),
    /// written by PIL 12 at quality 100 without subsampling. PIL converts them to RGB (255, 255, 255),
    /// (0, 255, 255), (255, 127, 0), (131, 106, 82); ours must agree within JPEG's rounding.
    static let cmykJPEG = Data(base64Encoded:
        "/9j/7gAOQWRvYmUAZAAAAAAA/9sAQwABAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB" +
        "AQEBAQEBAQEBAQEBAQEB/8AAFAgACAAQBEMRAE0RAFkRAEsRAP/EAB8AAAEFAQEBAQEBAAAAAAAAAAABAgMEBQYHCAkKC//E" +
        "ALUQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2" +
        "Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrC" +
        "w8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/aAA4EQwBNAFkASwAAPwCP/g+c/wCcXX/d7P8A76PX9/Ff" +
        "38V/fxX9rn7SP/Mmf9zF/wC4Kv4v/wBlH/mff+5W/wDdjr/Ij/4ILf8AN1n/AHQz/wB7DX43/wDBWv8A5oB/3VX/AN5vX//Z")!

    func testCMYKJPEGsAreConvertedToRGBAndGray() throws {
        let bytes = [UInt8](Self.cmykJPEG)
        let rgb = try JPEGCodec.decode(bytes, channels: 3, name: "cmyk.jpg")
        XCTAssertEqual([rgb.width, rgb.height], [16, 8])
        let expected: [[Int]] = [[255, 255, 255], [0, 255, 255], [255, 127, 0], [131, 106, 82]]
        for (patch, colour) in expected.enumerated() {
            let offset = (3 * rgb.width + 4 * patch + 1) * 3
            for channel in 0..<3 {
                XCTAssertEqual(Int(rgb.pixels[offset + channel]), colour[channel], accuracy: 2, "patch \(patch) channel \(channel)")
            }
            let gray = try JPEGCodec.decode(bytes, channels: 1, name: "cmyk.jpg")
            let luma = (19595 * colour[0] + 38470 * colour[1] + 7471 * colour[2] + 32768) >> 16
            XCTAssertEqual(Int(gray.pixels[3 * gray.width + 4 * patch + 1]), luma, accuracy: 2, "patch \(patch) gray")
        }
    }

    func testJPEGConvertsBetweenGrayAndRGBAndReportsEncodingErrors() throws {
        let gray = RasterImage(width: 8, height: 8, channels: 1, pixels: .init(repeating: 140, count: 64))
        let widened = try JPEGCodec.decode(try JPEGCodec.encode(gray), channels: 3, name: "gray.jpg")
        XCTAssertEqual(widened.channels, 3)
        XCTAssertTrue(stride(from: 0, to: 192, by: 3).allSatisfy { Set(widened.pixels[$0..<($0 + 3)]).count == 1 })
        XCTAssertLessThan(abs(Int(widened.pixels[0]) - 140), 3)
        let narrowed = try JPEGCodec.decode(try JPEGCodec.encode(Self.pattern(width: 10, height: 6)), channels: 1, name: "rgb.jpg")
        XCTAssertEqual([narrowed.width, narrowed.height, narrowed.channels, narrowed.pixels.count], [10, 6, 1, 60])
        assertDatasetError(["cannot encode JPEG: Empty JPEG image"]) {
            try JPEGCodec.encode(RasterImage(width: 0, height: 0, channels: 3, pixels: []))
        }
    }

    /// CPU time of `clock` (this thread's or the whole process's), in seconds.

    func testImageFolderSortsClassesAndDecodesBothFormats() throws {
        let folder = try TemporaryFolder(self)
        try FileManager.default.createDirectory(atPath: folder.path + "/train/zebra", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder.path + "/train/apple", withIntermediateDirectories: true)
        try JPEGCodec.write(Self.pattern(width: 40, height: 30), to: folder.path + "/train/zebra/b.JPEG")
        try PNGCodec.write(Self.pattern(width: 20, height: 50), to: folder.path + "/train/zebra/a.png")
        try PNGCodec.write(RasterImage(width: 10, height: 10, channels: 1, pixels: .init(repeating: 200, count: 100)),
                           to: folder.path + "/train/apple/x.png")
        try folder.write("readme", to: "train/apple/readme.txt")
        let dataset = try ImageFolderDataset(root: folder.path + "/train", transform: .training(size: 16))
        XCTAssertEqual(dataset.classNames, ["apple", "zebra"])
        XCTAssertEqual(dataset.labels, [0, 1, 1])
        XCTAssertEqual(dataset.paths.map { ($0 as NSString).lastPathComponent }, ["x.png", "a.png", "b.JPEG"])
        var random = RandomStream(seed: 1)
        for index in 0..<dataset.count {
            let example = try dataset.example(at: index, random: &random)
            XCTAssertEqual(example.image?.shape, [16, 16, 3])
            XCTAssertEqual(example.label, dataset.labels[index])
        }
        // A constant gray image normalises to (200/255 − mean) / std everywhere.
        let constant = try dataset.example(at: 0, random: &random).image!
        for channel in 0..<3 {
            let expected = (Float(200) / 255 - ImageTransform.imageNetMean[channel]) / ImageTransform.imageNetStandardDeviation[channel]
            XCTAssertEqual(constant[5, 7, channel], expected, accuracy: 1e-5)
        }
    }

    func testImageFolderErrors() throws {
        let folder = try TemporaryFolder(self)
        assertDatasetError([folder.path + "/missing", "no such folder"]) {
            try ImageFolderDataset(root: folder.path + "/missing", transform: .evaluation(size: 8))
        }
        try FileManager.default.createDirectory(atPath: folder.path + "/val/cat", withIntermediateDirectories: true)
        assertDatasetError([folder.path + "/val/cat", "no .jpg, .jpeg or .png files"]) {
            try ImageFolderDataset(root: folder.path + "/val", transform: .evaluation(size: 8))
        }
        try PNGCodec.write(Self.pattern(width: 8, height: 8), to: folder.path + "/val/cat/1.png")
        assertDatasetError([folder.path + "/val/cat", "not one of the 1 training classes"]) {
            try ImageFolderDataset(root: folder.path + "/val", transform: .evaluation(size: 8), classNames: ["dog"])
        }
        try folder.write([0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0], to: "val/cat/2.jpg")
        let dataset = try ImageFolderDataset(root: folder.path + "/val", transform: .evaluation(size: 8))
        var random = RandomStream(seed: 0)
        assertDatasetError([folder.path + "/val/cat/2.jpg", "JPEG"]) { try dataset.example(at: 1, random: &random) }
    }

    func testEvaluationTransformIsIdentityAtNativeSize() {
        // Resize to the image's own size and crop all of it: pixels pass through unchanged.
        let image = Self.pattern(width: 12, height: 12)
        let transform = ImageTransform.evaluation(size: 12, resize: 12, mean: [0, 0, 0], standardDeviation: [1, 1, 1])
        var random = RandomStream(seed: 0)
        let output = transform.apply(image, random: &random)
        let largest = zip(output.scalars, image.pixels).map { abs($0 - Float($1) / 255) }.max() ?? 1
        XCTAssertEqual(output.count, image.pixels.count)
        XCTAssertLessThan(largest, 1e-6)
    }

    func testEvaluationTransformResizesShorterSideThenCentreCrops() {
        // 40×20 → shorter side 10 gives 20×10 (2× down), centre crop 10×10 keeps columns 5..<15,
        // i.e. source columns 10..<30; bilinear at half-pixel centres averages source pairs.
        let image = Self.pattern(width: 40, height: 20)
        let transform = ImageTransform.evaluation(size: 10, resize: 10, mean: [0, 0, 0], standardDeviation: [1, 1, 1])
        var random = RandomStream(seed: 0)
        let output = transform.apply(image, random: &random)
        for x in 0..<10 {
            let sourceX = 10 + 2 * x
            let expected = (Float(image.pixels[sourceX * 3]) + Float(image.pixels[(sourceX + 1) * 3])) / 2 / 255
            XCTAssertEqual(output[0, x, 0], expected, accuracy: 1e-5)
        }
    }

    func testRandomResizedCropFollowsTorchvisionBoundsAndIsDeterministic() {
        var areas: [Double] = []
        for seed in 0..<200 {
            var random = RandomStream(seed: UInt64(seed))
            let (top, left, height, width) = ImageTransform.randomCrop(width: 64, height: 48, scale: 0.08...1,
                                                                       ratio: (3.0 / 4)...(4.0 / 3), random: &random)
            XCTAssertTrue(top >= 0 && left >= 0 && top + height <= 48 && left + width <= 64)
            areas.append(Double(height * width) / Double(64 * 48))
        }
        XCTAssertGreaterThan(areas.min()!, 0.05)
        XCTAssertLessThan(areas.min()!, 0.3)
        let image = Self.pattern(width: 64, height: 48)
        var first = RandomStream(seed: 3), second = RandomStream(seed: 3)
        XCTAssertEqual(ImageTransform.training(size: 16).apply(image, random: &first),
                       ImageTransform.training(size: 16).apply(image, random: &second))
    }

    func testHorizontalFlipMirrorsColumns() {
        let image = Self.pattern(width: 16, height: 16)
        var plain = ImageTransform.Sampling(top: 0, left: 0, stepY: 1, stepX: 1, rows: 0...15, columns: 0...15, flip: false)
        let transform = ImageTransform(mode: .resizeCenterCrop(resize: 16), size: 16, mean: [0, 0, 0], standardDeviation: [1, 1, 1])
        let unflipped = transform.resample(image, plain)
        plain.flip = true
        let flipped = transform.resample(image, plain)
        for x in 0..<16 { XCTAssertEqual(flipped[3, x, 0], unflipped[3, 15 - x, 0]) }
    }
}

final class ImagePipelineTests: XCTestCase {
    func testImageBatchesDoNotDependOnThreadsOrBatchSize() throws {
        let folder = try TemporaryFolder(self)
        for (index, name) in ["b/1.png", "a/2.jpg", "a/3.png", "b/4.jpeg", "a/5.png"].enumerated() {
            let path = try folder.file("train/" + name)
            let image = ImageTests.pattern(width: 20 + 4 * index, height: 18 + index)
            if name.hasSuffix("png") { try PNGCodec.write(image, to: path) } else { try JPEGCodec.write(image, to: path) }
        }
        let dataset = try ImageFolderDataset(root: folder.path + "/train", transform: .training(size: 8))
        func images(batchSize: Int, threads: Int) throws -> [Int: [Float]] {
            let batcher = Batcher(dataset: dataset, sampler: DistributedSampler(count: dataset.count, seed: 3), batchSize: batchSize,
                                  sequenceLength: 0, seed: 11, decodeThreads: threads)
            let prefetcher = BatchPrefetcher(batcher: batcher, epoch: 2)
            var byIndex: [Int: [Float]] = [:]
            while let batch = try prefetcher.next() {
                let images = try XCTUnwrap(batch.images)
                XCTAssertEqual(images.shape, [batch.size, 8, 8, 3])
                XCTAssertEqual(batch.tokens, [])
                let perImage = 8 * 8 * 3
                for (row, index) in batch.indices.enumerated() {
                    byIndex[index] = Array(images.scalars[(row * perImage)..<((row + 1) * perImage)])
                }
            }
            return byIndex
        }
        let reference = try images(batchSize: 2, threads: 1)
        XCTAssertEqual(reference.count, 5)
        XCTAssertEqual(try images(batchSize: 3, threads: 2), reference)
    }
}
