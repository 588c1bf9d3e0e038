import Datasets
import Foundation

/// The training and validation splits of a task, read from `data.directory`.
///
/// | task | files |
/// |---|---|
/// | listops | `basic_train.tsv`, `basic_val.tsv` (LRA's TSV; `parseval generate listops`) |
/// | text | aclImdb layout: `train/{pos,neg}/*.txt`, `test/{pos,neg}/*.txt` |
/// | retrieval | `new_aan_pairs.train.tsv`, `new_aan_pairs.eval.tsv` (LRA's AAN TSV) |
/// | image | CIFAR-10 binary batches `data_batch_1..5.bin`, `test_batch.bin` |
/// | cifar10 | CIFAR-10 binary batches as normalised RGB images (the ViT) |
/// | imagenet | `train/<class>/*.{jpg,png}`, `val/<class>/…`; random-resized crop + flip, resize + centre crop |
/// | pathfinder | `curv_contour_length_14/metadata/*.npy` lists and `imgs/` PNGs (`parseval generate pathfinder`); LRA's 80/10/10 split |
public struct TaskData {
    public var train: any Dataset
    public var validation: any Dataset
    /// Distinct token ids the task can produce, and its classes.
    public var vocabularySize: Int
    public var classes: Int
    /// Two sequences per example (retrieval: a dual encoder).
    public var paired: Bool
    /// Examples are (H, W, 3) images (a vision classifier).
    public var images = false

    public static func load(_ data: DataConfiguration) throws -> TaskData {
        let directory = data.directory, length = data.sequenceLength, skip = data.skipBadExamples
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isFolder), isFolder.boolValue else {
            throw DatasetError(file: directory, "data.directory: no such folder (for listops, make one with `parseval generate listops`)")
        }
        // An empty split is a data error naming its file: training on nothing, or reporting
        // accuracy 0.0000 over 0 validation examples, would hide a wrong path or a bad download.
        func nonEmpty(_ dataset: any Dataset, _ source: String, _ split: String) throws -> any Dataset {
            guard dataset.count > 0 else {
                throw DatasetError(file: source, "the \(split) split has no examples"
                                   + (skip ? " (after skipping bad ones: data.skip_bad_examples)" : ""))
            }
            return dataset
        }
        switch data.task {
        case "listops":
            return TaskData(
                train: try nonEmpty(ListOpsLoader.load(file: "\(directory)/basic_train.tsv", maxLength: length, skipBadExamples: skip),
                                   "\(directory)/basic_train.tsv", "training"),
                validation: try nonEmpty(ListOpsLoader.load(file: "\(directory)/basic_val.tsv", maxLength: length, skipBadExamples: skip),
                                        "\(directory)/basic_val.tsv", "validation"),
                vocabularySize: ListOpsLoader.vocabulary.count, classes: ListOpsLoader.classCount, paired: false)
        case "text":
            return TaskData(
                train: try nonEmpty(TextClassificationLoader.aclImdb(root: directory, split: "train", maxLength: length, skipBadExamples: skip),
                                   "\(directory)/train", "training"),
                validation: try nonEmpty(TextClassificationLoader.aclImdb(root: directory, split: "test", maxLength: length, skipBadExamples: skip),
                                        "\(directory)/test", "validation"),
                vocabularySize: 257, classes: 2, paired: false)
        case "retrieval":
            return TaskData(
                train: try nonEmpty(RetrievalLoader.load(file: "\(directory)/new_aan_pairs.train.tsv", maxLength: length, skipBadExamples: skip),
                                   "\(directory)/new_aan_pairs.train.tsv", "training"),
                validation: try nonEmpty(RetrievalLoader.load(file: "\(directory)/new_aan_pairs.eval.tsv", maxLength: length, skipBadExamples: skip),
                                        "\(directory)/new_aan_pairs.eval.tsv", "validation"),
                vocabularySize: 257, classes: 2, paired: true)
        case "image":
            return TaskData(
                train: try CIFAR10Loader.load(files: CIFAR10Loader.trainingFiles(root: directory), skipBadExamples: skip),
                validation: try CIFAR10Loader.load(files: CIFAR10Loader.testFiles(root: directory), skipBadExamples: skip),
                vocabularySize: 256, classes: 10, paired: false)
        case "pathfinder":
            return TaskData(
                train: try nonEmpty(PathfinderDataset(root: directory, split: .train, skipBadExamples: skip), directory, "training"),
                validation: try nonEmpty(PathfinderDataset(root: directory, split: .validation, skipBadExamples: skip), directory, "validation"),
                vocabularySize: PathfinderDataset.vocabularySize, classes: 2, paired: false)
        case "cifar10":
            let encoding = CIFAR10Loader.Encoding.rgb(mean: data.mean, standardDeviation: data.standardDeviation)
            return TaskData(
                train: try CIFAR10Loader.load(files: CIFAR10Loader.trainingFiles(root: directory), encoding: encoding, skipBadExamples: skip),
                validation: try CIFAR10Loader.load(files: CIFAR10Loader.testFiles(root: directory), encoding: encoding, skipBadExamples: skip),
                vocabularySize: 0, classes: 10, paired: false, images: true)
        case "imagenet":
            let train = try ImageFolderDataset(
                root: "\(directory)/train",
                transform: .training(size: data.imageSize, mean: data.mean, standardDeviation: data.standardDeviation))
            let validation = try ImageFolderDataset(
                root: "\(directory)/val",
                transform: .evaluation(size: data.imageSize, mean: data.mean, standardDeviation: data.standardDeviation),
                classNames: train.classNames)
            return TaskData(train: try nonEmpty(train, "\(directory)/train", "training"),
                            validation: try nonEmpty(validation, "\(directory)/val", "validation"),
                            vocabularySize: 0, classes: train.classNames.count,
                            paired: false, images: true)
        default:
            throw ConfigurationError("data.task '\(data.task)' has no loader")
        }
    }

    /// Checks that the model can take this task's tokens and labels.
    public func check(against configuration: TrainingConfiguration) throws {
        if configuration.model.vocabularySize < vocabularySize {
            throw ConfigurationError("model.vocabulary_size \(configuration.model.vocabularySize) is smaller than the "
                                     + "\(configuration.data.task) vocabulary (\(vocabularySize))")
        }
        if configuration.model.classes != classes {
            throw ConfigurationError("model.classes is \(configuration.model.classes), the \(configuration.data.task) task has \(classes)")
        }
    }
}
