import Foundation
import TensorCore

/// ImageNet-style folders: `root/<class>/<image>` with one subfolder per class, classes
/// sorted by name (label = position), images with extension .jpg, .jpeg or .png (any case)
/// sorted by name. Images are decoded (libjpeg-turbo, libpng) and transformed when an example
/// is requested, so the batcher's threads and the prefetcher overlap decoding with training.
///
/// Errors name the file: a missing root, a class folder without images, an unreadable or
/// corrupt image, a class folder not in `classNames` (an out-of-range label).
public struct ImageFolderDataset: Dataset {
    public let root: String
    /// Class names; label i is `classNames[i]`.
    public let classNames: [String]
    /// Every image's path, in label then name order.
    public let paths: [String]
    public let labels: [Int32]
    public let transform: ImageTransform

    /// The extensions read (compared case-insensitively).
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png"]

    /// Scans `root`. Pass the training split's `classNames` when loading another split so
    /// labels agree; a subfolder outside that list is an error.
    public init(root: String, transform: ImageTransform, classNames: [String]? = nil) throws {
        let folders = try FileBytes.folderEntries(root).filter {
            !$0.hasPrefix(".") && FileBytes.isFolder((root as NSString).appendingPathComponent($0))
        }
        guard !folders.isEmpty else {
            throw DatasetError(file: root, "expected one subfolder per class (e.g. \(root)/n01440764/), found none")
        }
        let names = classNames ?? folders
        var paths: [String] = []
        var labels: [Int32] = []
        for folder in folders {
            let folderPath = (root as NSString).appendingPathComponent(folder)
            guard let label = names.firstIndex(of: folder) else {
                throw DatasetError(file: folderPath, "class folder '\(folder)' is not one of the \(names.count) training classes")
            }
            let images = try FileBytes.folderEntries(folderPath).filter {
                ImageFolderDataset.imageExtensions.contains(($0 as NSString).pathExtension.lowercased())
            }
            guard !images.isEmpty else { throw DatasetError(file: folderPath, "no .jpg, .jpeg or .png files in this class folder") }
            for image in images {
                paths.append((folderPath as NSString).appendingPathComponent(image))
                labels.append(Int32(label))
            }
        }
        self.root = root
        self.classNames = names
        self.paths = paths
        self.labels = labels
        self.transform = transform
    }

    public var count: Int { paths.count }

    /// Decodes, transforms and normalises image `index` into a (size, size, 3) tensor.
    public func example(at index: Int, random: inout RandomStream) throws -> Example {
        let image = try RasterImage.decode(file: paths[index], channels: 3)
        return Example(image: transform.apply(image, random: &random), label: labels[index])
    }
}
