import Datasets
import Foundation
import Layers
import Models
import Optimizers
import Training
import XCTest

/// Seeded random and mutated bytes fed to every parser of outside input: the YAML config
/// loader, the TSV loaders, the safetensors reader, and the PNG and JPEG decoders (through
/// `RasterImage.decode`, their public entry). Errors are fine; a crash fails the whole run.
/// Each parser gets a few hundred inputs, a few seconds in all.
final class FuzzTests: XCTestCase {
    var folder: String!
    var random = SeededGenerator(seed: 2024)

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("parseval-fuzz-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    // MARK: - Mutations

    /// `seed` changed by 1–4 edits: flipped bits, random bytes, deletions, insertions of
    /// `tokens`, duplicated or cut ranges; or, one time in eight, random bytes.
    func mutate(_ seed: [UInt8], tokens: [[UInt8]] = []) -> [UInt8] {
        if Int.random(in: 0..<8, using: &random) == 0 {
            return (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        }
        var bytes = seed
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let position = Int.random(in: 0...bytes.count, using: &random)
            switch Int.random(in: 0..<6, using: &random) {
            case 0 where position < bytes.count: bytes[position] ^= 1 << UInt8.random(in: 0...7, using: &random)
            case 1 where position < bytes.count: bytes[position] = UInt8.random(in: 0...255, using: &random)
            case 2: bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...16, using: &random)))
            case 3 where !tokens.isEmpty: bytes.insert(contentsOf: tokens.randomElement(using: &random)!, at: position)
            case 4:
                let end = min(bytes.count, position + Int.random(in: 1...64, using: &random))
                bytes.insert(contentsOf: bytes[position..<end], at: position)
            default: bytes.removeSubrange(position...)
            }
        }
        return bytes
    }

    /// Writes `bytes` to a file and returns its path.
    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = "\(folder!)/\(name)"
        // Plain POSIX calls: Foundation's Data.write fsyncs, which is slow on a busy disk.
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw CocoaError(.fileWriteUnknown) }
        defer { close(descriptor) }
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw CocoaError(.fileWriteUnknown) }
        return path
    }

    // MARK: - Parsers

    func testConfigLoaderSurvivesMutatedYAML() throws {
        let seed = Array(TrainingRunTestCase.tinyConfiguration.utf8)
            + Array("parallel:\n  threads: 1\n  stall_warning_seconds: 60\nlist: [1, {a: b}]\nanchor: &x {k: v}\nalias: *x\n".utf8)
        let tokens = ["\n", ":", ": ", "- ", "{", "}", "[", "]", "&a ", "*a", "!!int ", "!!map ", "'", "\"", "#", "\t", "  ",
                      "model", "dim", "training", "1e999", "-1", "null", "~", "? ", "|\n", ">\n", "<<: *a\n", "\u{FEFF}"].map { Array($0.utf8) }
        var outcomes = [0, 0]
        for _ in 0..<400 {
            let path = try file("config.yaml", mutate(seed, tokens: tokens))
            do {
                try ConfigurationLoader.load(path: path).validate()
                outcomes[0] += 1
            } catch {
                outcomes[1] += 1
            }
        }
        XCTAssertGreaterThan(outcomes[1], 0, "mutations should produce some errors (loaded, failed: \(outcomes))")
    }

    func testTSVLoadersSurviveMutatedFiles() throws {
        let listOps = Array("Source\tTarget\n( ( [MAX 2 9 ) 4 )\t9\n( [SM 1 ( [MIN 3 5 ) ] )\t4\r\n[MED 1 2 3 ]\t2\n".utf8)
        let pairs = Array("label\tid1\tid2\ttext1\ttext2\n1\ta\tb\tfirst text\tsecond\n0\tc\td\tx\ty\n".utf8)
        let tokens = ["\t", "\n", "\r\n", "[MAX", "]", "(", "10", "-1", "1.5", "\u{0}", "\u{FFFD}"].map { Array($0.utf8) } + [[0xFF], [0xC3]]
        for _ in 0..<200 {
            _ = try? ListOpsLoader.load(file: try file("listops.tsv", mutate(listOps, tokens: tokens)), maxLength: 16)
            _ = try? ListOpsLoader.load(file: try file("listops.tsv", mutate(listOps, tokens: tokens)), skipBadExamples: true)
            _ = try? RetrievalLoader.load(file: try file("pairs.tsv", mutate(pairs, tokens: tokens)), maxLength: 8)
        }
        XCTAssertEqual(try ListOpsLoader.load(file: try file("listops.tsv", listOps)).count, 3, "the unmutated seed must load")
    }

    func testSafeTensorsReaderSurvivesMutatedFiles() throws {
        var configuration = ModelConfiguration()
        (configuration.vocabularySize, configuration.maxLength, configuration.dim, configuration.depth) = (5, 4, 4, 1)
        (configuration.heads, configuration.mlpHidden, configuration.classes) = (1, 4, 2)
        let model = EncoderClassifier(configuration, seed: 1)
        var state = TrainingState()
        state.step = 1
        try Checkpoint.save(run: folder, arena: model.arena, optimizer: SGD(arena: model.arena), state: state, configurationJSON: "{}")
        let seed = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(folder!)/checkpoints/step-00000001/model.safetensors")))
        // Numbers that overflow shape products and offsets, and JSON that changes type.
        let tokens = ["9223372036854775807", "4611686018427387904", "-8", "1e30", "[]", "{}", "null", "\"F16\"", "\"", ",", "[[1]]"]
            .map { Array($0.utf8) }
        var loaded = 0
        for iteration in 0..<500 {
            var bytes: [UInt8]
            switch iteration % 3 {
            case 0: bytes = mutate(seed, tokens: tokens)
            case 1: bytes = replacingHeaderNumber(of: seed, with: tokens.randomElement(using: &random)!)
            default:  // header lengths near and past the file's end
                bytes = seed
                let length = UInt64.random(in: 0...UInt64(bytes.count + 16), using: &random)
                withUnsafeBytes(of: length.littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
            }
            let path = try file("model.safetensors", bytes)
            if (try? SafeTensors.read(path)) != nil { loaded += 1 }
        }
        XCTAssertLessThan(loaded, 500, "mutations should produce some errors")
    }

    /// A safetensors file whose header has one of its numbers (a shape, an offset) replaced
    /// by `replacement`, with the header length field updated to match.
    func replacingHeaderNumber(of file: [UInt8], with replacement: [UInt8]) -> [UInt8] {
        let length = Int(file.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        var header = Array(file[8..<8 + length])
        let digits = header.indices.filter { (48...57).contains(header[$0]) && ($0 == 0 || !(48...57).contains(header[$0 - 1])) }
        guard let start = digits.randomElement(using: &random) else { return file }
        var end = start
        while end < header.count && (48...57).contains(header[end]) { end += 1 }
        header.replaceSubrange(start..<end, with: replacement)
        return withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header + file[(8 + length)...]
    }

    func testImageDecodersSurviveMutatedPNGAndJPEG() throws {
        let image = RasterImage(width: 12, height: 10, channels: 3, pixels: (0..<360).map { UInt8($0 * 37 % 256) })
        try PNGCodec.write(image, to: "\(folder!)/seed.png")
        let png = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(folder!)/seed.png")))
        let jpeg = try JPEGCodec.encode(image, quality: 80)
        let signatures: [[UInt8]] = [[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], [0xFF, 0xD8, 0xFF]]
        var failures = 0
        for iteration in 0..<600 {
            var bytes = mutate(iteration % 2 == 0 ? png : jpeg)
            // Keep the signature most of the time so the bytes reach the codec itself.
            if iteration % 4 != 3 {
                let signature = signatures[iteration % 2]
                bytes = signature + bytes.dropFirst(min(signature.count, bytes.count))
            }
            do {
                let decoded = try RasterImage.decode(bytes, channels: iteration % 3 == 0 ? 1 : 3, name: "fuzz-\(iteration)")
                XCTAssertEqual(decoded.pixels.count, decoded.width * decoded.height * decoded.channels)
            } catch {
                failures += 1
            }
        }
        XCTAssertGreaterThan(failures, 0, "mutations should produce some errors")
    }
}
