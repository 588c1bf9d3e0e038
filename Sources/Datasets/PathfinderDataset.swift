import Foundation
import TensorCore

/// Reads Pathfinder / Path-X in LRA's layout (what `PathfinderGenerator.write` and the
/// original snakes2.py produce; metadata as text lines, or as the binary string array that
/// snakes2.py's `np.save` writes):
///
///     root/curv_contour_length_14/metadata/<batch>.npy    lines `imgs/<batch> sample_<i>.png <i> <label> …`
///     root/curv_contour_length_14/imgs/<batch>/sample_<i>.png
///
/// `root` may be the `curv_contour_length_14` folder itself. Metadata files are read in
/// numeric batch order; as in LRA, the first 80% of the examples form the training split,
/// the next 10% validation, the last 10% test. Each example is an 8-bit gray image read as
/// `size × size` tokens (pixel values, vocabulary 256, no padding); images are decoded when
/// requested. Metadata problems (a short line, a label other than 0/1, a missing image) are
/// reported with the metadata file and line; a corrupt image with its path.
public struct PathfinderDataset: Dataset {
    /// LRA's 80/10/10 split of the metadata order, or everything.
    public enum Split: String, Sendable, CaseIterable {
        case train, validation, test, all
    }

    /// The folder holding `metadata/` and `imgs/`.
    public let folder: String
    /// Each example's PNG file.
    public let imagePaths: [String]
    /// Each example's label: 1 if the markers are on the same contour.
    public let labels: [Int32]
    /// The image side every image must have, or nil to accept any square size.
    public let size: Int?
    /// Metadata lines skipped under `skipBadExamples`.
    public let badExamples: BadExampleLog

    /// Gray levels 0–255 are the tokens.
    public static let vocabularySize = 256

    /// LRA's three difficulties: the folder snakes2.py writes for each.
    public enum Difficulty: String, Sendable, CaseIterable, Codable {
        case easy, intermediate, hard

        /// `curv_baseline`, `curv_contour_length_9`, `curv_contour_length_14`.
        public var folderName: String {
            switch self {
            case .easy: return "curv_baseline"
            case .intermediate: return "curv_contour_length_9"
            case .hard: return "curv_contour_length_14"
            }
        }
    }

    public init(root: String, split: Split = .all, size: Int? = nil, contourLength: Int = 14,
                skipBadExamples: Bool = false) throws {
        try self.init(root: root, split: split, size: size, variantFolder: "curv_contour_length_\(contourLength)",
                      skipBadExamples: skipBadExamples)
    }

    public init(root: String, split: Split = .all, size: Int? = nil, difficulty: Difficulty,
                skipBadExamples: Bool = false) throws {
        try self.init(root: root, split: split, size: size, variantFolder: difficulty.folderName,
                      skipBadExamples: skipBadExamples)
    }

    init(root: String, split: Split, size: Int?, variantFolder: String, skipBadExamples: Bool) throws {
        let nested = (root as NSString).appendingPathComponent(variantFolder)
        let folder = FileBytes.isFolder((nested as NSString).appendingPathComponent("metadata")) ? nested : root
        let metadataFolder = (folder as NSString).appendingPathComponent("metadata")
        guard FileBytes.isFolder(metadataFolder) else {
            throw DatasetError(file: metadataFolder, "no such folder; expected LRA's Pathfinder layout <root>/\(variantFolder)/metadata/*.npy")
        }
        let batches = try FileBytes.folderEntries(metadataFolder)
            .filter { $0.hasSuffix(".npy") }
            .sorted { (Int(($0 as NSString).deletingPathExtension) ?? .max, $0) < (Int(($1 as NSString).deletingPathExtension) ?? .max, $1) }
        guard !batches.isEmpty else { throw DatasetError(file: metadataFolder, "no metadata files (*.npy)") }
        var paths: [String] = []
        var labels: [Int32] = []
        var log = BadExampleLog(skipBadExamples: skipBadExamples)
        for batch in batches {
            let file = (metadataFolder as NSString).appendingPathComponent(batch)
            func add(_ line: ArraySlice<UInt8>, _ number: Int) throws {
                do {
                    let (path, label) = try Self.parse(line, file: file, line: number, folder: folder)
                    paths.append(path)
                    labels.append(label)
                } catch let error as DatasetError {
                    try log.handle(error)
                }
            }
            let text = try TextFile.read(file)
            if NPYStrings.isNPY(text.bytes) {
                // snakes2.py's np.save: a string array, one row per image (row r is "line" r + 1).
                for (index, row) in try NPYStrings.rows(text.bytes, file: file).enumerated() {
                    try add(ArraySlice(Array(row.joined(separator: " ").utf8)), index + 1)
                }
            } else {
                try text.forEachLine { number, line in try add(line, number) }
            }
        }
        let (start, end) = Self.bounds(of: split, count: paths.count)
        self.folder = folder
        imagePaths = Array(paths[start..<end])
        self.labels = Array(labels[start..<end])
        self.size = size
        badExamples = log
    }

    /// LRA's 80/10/10 split of `count` examples in metadata order.
    public static func bounds(of split: Split, count: Int) -> (Int, Int) {
        let trainEnd = count * 8 / 10, validationEnd = count * 9 / 10
        switch split {
        case .train: return (0, trainEnd)
        case .validation: return (trainEnd, validationEnd)
        case .test: return (validationEnd, count)
        case .all: return (0, count)
        }
    }

    private static func parse(_ line: ArraySlice<UInt8>, file: String, line number: Int, folder: String) throws -> (String, Int32) {
        let fields = TextFile.string(line).split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 4 else {
            throw DatasetError(file: file, line: number,
                               "expected at least 4 space-separated fields (subfolder, file, index, label), found \(fields.count)")
        }
        guard let label = Int32(fields[3]), label == 0 || label == 1 else {
            throw DatasetError(file: file, line: number, "expected a label 0 or 1 in field 4, found '\(fields[3])'")
        }
        let path = ((folder as NSString).appendingPathComponent(String(fields[0])) as NSString).appendingPathComponent(String(fields[1]))
        guard FileManager.default.fileExists(atPath: path) else {
            throw DatasetError(file: file, line: number, "image \(path) does not exist")
        }
        return (path, label)
    }

    public var count: Int { imagePaths.count }

    /// Image `index` as gray-level tokens.
    public func example(at index: Int, random: inout RandomStream) throws -> Example {
        let image = try RasterImage.decode(file: imagePaths[index], channels: 1)
        guard image.width == image.height, size.map({ $0 == image.width }) ?? true else {
            throw DatasetError(file: imagePaths[index],
                               "expected a \(size.map { "\($0)×\($0)" } ?? "square") image, found \(image.width)×\(image.height)")
        }
        return Example(tokens: image.pixels.map { Int32($0) }, label: labels[index])
    }
}
