import Datasets
import Foundation

/// The training and validation splits of a task, read from `data.directory`, and its test
/// split on demand (`loadTest`), as LRA splits each task:
///
/// | task | train | validation | test |
/// |---|---|---|---|
/// | listops | `basic_train.tsv` | `basic_val.tsv` | `basic_test.tsv` (LRA's TSV; `parseval generate listops`) |
/// | text | aclImdb `train/{pos,neg}/*.txt` | `test/…` (LRA has no other) | `test/…` |
/// | retrieval | `new_aan_pairs.train.tsv` | `new_aan_pairs.eval.tsv` | `new_aan_pairs.test.tsv` |
/// | image | `data_batch_1..5.bin`, first 90% | the last 10% of them | `test_batch.bin` |
/// | cifar10 | `data_batch_1..5.bin` (normalised RGB, the ViT) | `test_batch.bin` | `test_batch.bin` |
/// | imagenet | `train/<class>/*.{jpg,png}` | `val/<class>/…` | none (ImageNet's test labels are not public) |
/// | pathfinder | `metadata/*.npy` + `imgs/`, LRA's first 80% | next 10% | last 10% |
public struct TaskData {
    public let task: TaskKind
    public var train: any Dataset
    public var validation: any Dataset
    /// The task's classes (`TaskKind.classes`; ImageNet: its training folders).
    public let classes: Int
    /// Distinct token ids the task can produce (`TaskKind.vocabularySize`).
    public var vocabularySize: Int { task.vocabularySize }
    /// Two sequences per example (retrieval: a dual encoder).
    public var paired: Bool { task.paired }
    /// Examples are (H, W, 3) images (a vision classifier).
    public var images: Bool { task.images }

    init(task: TaskKind, train: any Dataset, validation: any Dataset, classes: Int? = nil) {
        (self.task, self.train, self.validation) = (task, train, validation)
        guard let count = classes ?? task.classes else { preconditionFailure("\(task): its classes come from its data") }
        self.classes = count
    }

    /// The task's training and validation splits; with `training: false` (evaluation alone) the
    /// training split is left empty and its files unread — except LRA's Image, whose validation
    /// examples are the training batches' last 10%, and ImageNet, whose class names are the
    /// training folder's.
    public static func load(_ data: DataConfiguration, training: Bool = true) throws -> TaskData {
        let directory = data.directory, length = data.sequenceLength, skip = data.skipBadExamples
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isFolder), isFolder.boolValue else {
            throw DatasetError(file: directory, "data.directory: no such folder (for listops, make one with `parseval generate listops`)")
        }
        // An empty split is a data error naming its file: training on nothing, or reporting
        // accuracy 0.0000 over 0 validation examples, would hide a wrong path or a bad download.
        func nonEmpty(_ dataset: @autoclosure () throws -> any Dataset, _ source: String, _ split: String) throws -> any Dataset {
            if !training && split == "training" { return InMemoryDataset(examples: []) }
            let dataset = try dataset()
            guard dataset.count > 0 else {
                throw DatasetError(file: source, "the \(split) split has no examples"
                                   + (skip ? " (after skipping bad ones: data.skip_bad_examples)" : ""))
            }
            return dataset
        }
        /// Two splits read by one loader from their files.
        func splits(train: String, validation: String, _ load: (String) throws -> any Dataset) throws -> TaskData {
            TaskData(task: data.task, train: try nonEmpty(load(train), train, "training"),
                     validation: try nonEmpty(load(validation), validation, "validation"))
        }
        switch data.task {
        case .listops:
            return try splits(train: "\(directory)/basic_train.tsv", validation: "\(directory)/basic_val.tsv") {
                try ListOpsLoader.load(file: $0, maxLength: length, skipBadExamples: skip)
            }
        case .text:
            return try splits(train: "\(directory)/train", validation: "\(directory)/test") {
                try TextClassificationLoader.aclImdb(root: directory, split: ($0 as NSString).lastPathComponent, maxLength: length,
                                                     skipBadExamples: skip)
            }
        case .retrieval:
            return try splits(train: "\(directory)/new_aan_pairs.train.tsv", validation: "\(directory)/new_aan_pairs.eval.tsv") {
                try RetrievalLoader.load(file: $0, maxLength: length, skipBadExamples: skip)
            }
        case .image:
            // LRA trains on the training batches' first 90% and validates on the rest.
            let all = try CIFAR10Loader.load(files: CIFAR10Loader.trainingFiles(root: directory), skipBadExamples: skip)
            let cut = all.count - all.count / 10
            return TaskData(task: data.task,
                train: try nonEmpty(InMemoryDataset(examples: Array(all.examples[..<cut]), badExamples: all.badExamples),
                                    "\(directory)/data_batch_1..5.bin", "training"),
                validation: try nonEmpty(InMemoryDataset(examples: Array(all.examples[cut...])),
                                         "\(directory)/data_batch_1..5.bin (last 10%)", "validation"))
        case .pathfinder:
            // Images must be side × side = sequence_length pixels (checked per image).
            let side = Int(Double(length).squareRoot().rounded())
            let difficulty = data.difficulty
            return TaskData(task: data.task,
                train: try nonEmpty(PathfinderDataset(root: directory, split: .train, size: side, difficulty: difficulty,
                                                      skipBadExamples: skip), directory, "training"),
                validation: try nonEmpty(PathfinderDataset(root: directory, split: .validation, size: side, difficulty: difficulty,
                                                           skipBadExamples: skip), directory, "validation"))
        case .cifar10:
            let encoding = CIFAR10Loader.Encoding.rgb(mean: data.mean, standardDeviation: data.standardDeviation)
            return TaskData(task: data.task,
                train: training ? try CIFAR10Loader.load(files: CIFAR10Loader.trainingFiles(root: directory), encoding: encoding,
                                                         skipBadExamples: skip) : InMemoryDataset(examples: []),
                validation: try CIFAR10Loader.load(files: CIFAR10Loader.testFiles(root: directory), encoding: encoding, skipBadExamples: skip))
        case .imagenet:
            let train = try ImageFolderDataset(
                root: "\(directory)/train",
                transform: .training(size: data.imageSize, mean: data.mean, standardDeviation: data.standardDeviation))
            let validation = try ImageFolderDataset(
                root: "\(directory)/val",
                transform: .evaluation(size: data.imageSize, mean: data.mean, standardDeviation: data.standardDeviation),
                classNames: train.classNames)
            return TaskData(task: data.task, train: try nonEmpty(train, "\(directory)/train", "training"),
                            validation: try nonEmpty(validation, "\(directory)/val", "validation"), classes: train.classNames.count)
        }
    }

    /// The task's test split (table above); a data error when its files are missing, empty or
    /// when the task has none.
    public static func loadTest(_ data: DataConfiguration) throws -> any Dataset {
        let directory = data.directory, length = data.sequenceLength, skip = data.skipBadExamples
        let (dataset, source): (any Dataset, String)
        switch data.task {
        case .listops:
            source = "\(directory)/basic_test.tsv"
            dataset = try ListOpsLoader.load(file: source, maxLength: length, skipBadExamples: skip)
        case .text:
            source = "\(directory)/test"
            dataset = try TextClassificationLoader.aclImdb(root: directory, split: "test", maxLength: length, skipBadExamples: skip)
        case .retrieval:
            source = "\(directory)/new_aan_pairs.test.tsv"
            dataset = try RetrievalLoader.load(file: source, maxLength: length, skipBadExamples: skip)
        case .image, .cifar10:
            source = "\(directory)/test_batch.bin"
            let encoding: CIFAR10Loader.Encoding = data.task == .image ? .grayscaleTokens
                : .rgb(mean: data.mean, standardDeviation: data.standardDeviation)
            dataset = try CIFAR10Loader.load(files: CIFAR10Loader.testFiles(root: directory), encoding: encoding, skipBadExamples: skip)
        case .pathfinder:
            source = directory
            dataset = try PathfinderDataset(root: directory, split: .test, size: Int(Double(length).squareRoot().rounded()),
                                            difficulty: data.difficulty,
                                            skipBadExamples: skip)
        default:
            throw DatasetError(file: directory, "data.task \(data.task) has no labelled test split; evaluate --split val")
        }
        guard dataset.count > 0 else { throw DatasetError(file: source, "the test split has no examples") }
        return dataset
    }

}
