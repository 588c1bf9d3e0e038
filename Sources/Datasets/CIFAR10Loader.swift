import Foundation
import TensorCore

/// CIFAR-10's binary batches (`data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`):
/// records of 1 label byte (0–9) and 3072 pixel bytes, the R, G and B planes of a 32×32
/// image, each row-major.
///
/// Two encodings:
/// - `grayscaleTokens` (LRA Image): 1024 tokens, one 8-bit gray value per pixel (vocabulary
///   256; no padding, every mask entry is 1). The gray value is TensorFlow's
///   `tf.image.rgb_to_grayscale` on uint8 images, as LRA's pipeline calls it:
///   `gray = uint8(trunc((0.2989·r + 0.5870·g + 0.1140·b) / 255 · 255.5))`, in Float32.
/// - `rgb`: a (32, 32, 3) tensor, `(pixel / 255 − mean[c]) / std[c]`, for a vision model.
public enum CIFAR10Loader {
    /// What an example holds.
    public enum Encoding: Sendable, Equatable {
        /// LRA Image: 1024 gray-level tokens.
        case grayscaleTokens
        /// A normalised (32, 32, 3) image.
        case rgb(mean: [Float], standardDeviation: [Float])
    }

    /// Bytes per record: 1 label + 3 × 32 × 32 pixels.
    public static let recordBytes = 3073
    /// Image side in pixels.
    public static let side = 32
    /// The ten classes.
    public static let classCount = 10
    /// CIFAR-10's training-set channel statistics.
    public static let mean: [Float] = [0.4914, 0.4822, 0.4465]
    public static let standardDeviation: [Float] = [0.2470, 0.2435, 0.2616]

    /// `root/data_batch_1.bin` … `data_batch_5.bin`.
    public static func trainingFiles(root: String) -> [String] {
        (1...5).map { (root as NSString).appendingPathComponent("data_batch_\($0).bin") }
    }

    /// `root/test_batch.bin`.
    public static func testFiles(root: String) -> [String] {
        [(root as NSString).appendingPathComponent("test_batch.bin")]
    }

    /// Loads every record of `files`, in order.
    public static func load(files: [String], encoding: Encoding = .grayscaleTokens, skipBadExamples: Bool = false) throws -> InMemoryDataset {
        var examples: [Example] = []
        var log = BadExampleLog(skipBadExamples: skipBadExamples)
        for file in files {
            try appendRecords(try FileBytes.read(file), file: file, encoding: encoding, to: &examples, log: &log)
        }
        return InMemoryDataset(examples: examples, badExamples: log)
    }

    /// The records of one file's bytes (`file` names them in errors; the fuzzer's entry).
    package static func load(bytes: [UInt8], file: String, encoding: Encoding = .grayscaleTokens,
                             skipBadExamples: Bool = false) throws -> InMemoryDataset {
        var examples: [Example] = []
        var log = BadExampleLog(skipBadExamples: skipBadExamples)
        try appendRecords(bytes, file: file, encoding: encoding, to: &examples, log: &log)
        return InMemoryDataset(examples: examples, badExamples: log)
    }

    static func appendRecords(_ bytes: [UInt8], file: String, encoding: Encoding, to examples: inout [Example],
                              log: inout BadExampleLog) throws {
        guard bytes.count % recordBytes == 0, !bytes.isEmpty else {
            throw DatasetError(file: file, "expected a whole number of \(recordBytes)-byte records (1 label + 3072 pixels), found \(bytes.count) bytes")
        }
        for record in 0..<(bytes.count / recordBytes) {
            let start = record * recordBytes
            let label = bytes[start]
            guard Int(label) < classCount else {
                try log.handle(DatasetError(file: file, "record \(record + 1): label \(label) is out of range; expected 0...9"))
                continue
            }
            let planes = bytes[(start + 1)..<(start + recordBytes)]
            switch encoding {
            case .grayscaleTokens:
                examples.append(Example(tokens: grayscaleTokens(planes), label: Int32(label)))
            case .rgb(let mean, let standardDeviation):
                examples.append(Example(image: rgbImage(planes, mean: mean, standardDeviation: standardDeviation), label: Int32(label)))
            }
        }
    }

    /// TensorFlow's `rgb_to_grayscale` of one uint8 pixel.
    public static func grayscale(red: UInt8, green: UInt8, blue: UInt8) -> UInt8 {
        let inverse: Float = 1 / 255
        let gray = Float(red) * inverse * 0.2989 + Float(green) * inverse * 0.5870 + Float(blue) * inverse * 0.1140
        return UInt8(min(255, gray * 255.5))
    }

    static func grayscaleTokens(_ planes: ArraySlice<UInt8>) -> [Int32] {
        let pixels = side * side
        return planes.withUnsafeBufferPointer { source in
            (0..<pixels).map { Int32(grayscale(red: source[$0], green: source[pixels + $0], blue: source[2 * pixels + $0])) }
        }
    }

    static func rgbImage(_ planes: ArraySlice<UInt8>, mean: [Float], standardDeviation: [Float]) -> Tensor {
        let pixels = side * side
        var image = Tensor(zeros: [side, side, 3])
        image.withUnsafeMutableBufferPointer { destination in
            planes.withUnsafeBufferPointer { source in
                for channel in 0..<3 {
                    let scale = 1 / (255 * standardDeviation[channel]), shift = -mean[channel] / standardDeviation[channel]
                    for pixel in 0..<pixels {
                        destination[pixel * 3 + channel] = Float(source[channel * pixels + pixel]) * scale + shift
                    }
                }
            }
        }
        return image
    }
}
