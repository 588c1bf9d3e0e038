import Datasets
import Distributed
import Foundation
import TensorCore
import Training
import XCTest

/// A ViT trains end to end on a synthetic CIFAR-10 binary set written here.
final class ImageTrainingTests: XCTestCase {
    /// Writes `data_batch_1..5.bin` (8 records each) and `test_batch.bin` (12) into FOLDER/data.
    func writeBatches(_ folder: String) throws {
        try FileManager.default.createDirectory(atPath: "\(folder)/data", withIntermediateDirectories: true)
        // Class c images are bright in channel c % 3 and dark elsewhere: learnable in a few steps.
        var stream = RandomStream(seed: 4)
        func records(_ count: Int) -> Data {
            var bytes: [UInt8] = []
            for _ in 0..<count {
                let label = stream.integer(below: 3)
                bytes.append(UInt8(label))
                for channel in 0..<3 {
                    for _ in 0..<1024 { bytes.append(UInt8(channel == label ? 200 + stream.integer(below: 50) : stream.integer(below: 50))) }
                }
            }
            return Data(bytes)
        }
        for name in (1...5).map({ "data_batch_\($0).bin" }) + ["test_batch.bin"] {
            try records(name == "test_batch.bin" ? 12 : 8).write(to: URL(fileURLWithPath: "\(folder)/data/\(name)"))
        }
    }

    /// LRA Image trains on the training batches' first 90% and validates on the last 10%;
    /// the test batch is the test split only.
    func testLRAImageSplitsTheTrainingBatchesNinetyToTen() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parseval-cifar-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try writeBatches(folder)
        var data = DataConfiguration()
        (data.task, data.directory, data.sequenceLength) = (.image, "\(folder)/data", 1024)
        let splits = try TaskData.load(data)
        XCTAssertEqual(splits.train.count, 36)
        XCTAssertEqual(splits.validation.count, 4)
        XCTAssertEqual(try TaskData.loadTest(data).count, 12)
        var random = RandomStream(seed: 1)
        let lastTraining = try CIFAR10Loader.load(files: CIFAR10Loader.trainingFiles(root: "\(folder)/data")).examples
        XCTAssertEqual(try splits.validation.example(at: 3, random: &random), lastTraining[39])
        XCTAssertEqual(try splits.train.example(at: 35, random: &random), lastTraining[35])
    }

    func testVisionClassifierTrainsOnCIFARBatches() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parseval-cifar-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try writeBatches(folder)
        var c = TrainingConfiguration()
        (c.model.mixer, c.model.patchSize, c.model.maxLength, c.model.dim) = (.fftnet, 8, 16, 16)
        (c.model.depth, c.model.heads, c.model.mlpHidden, c.model.dropout, c.model.classes) = (1, 2, 32, 0, 10)
        (c.data.task, c.data.directory) = (.cifar10, "\(folder)/data")
        (c.training.steps, c.training.batchSize, c.training.evalEvery, c.training.logEvery) = (30, 8, 0, 100)
        (c.schedule.kind, c.schedule.warmupSteps, c.optimizer.learningRate) = (.constant, 0, 3e-3)
        c.output.directory = "\(folder)/run"
        let trainer = try Trainer(configuration: c, world: .selfOnly)
        let before = try trainer.evaluate()
        let summary = try trainer.run()
        XCTAssertEqual(summary.steps, 30)
        XCTAssertEqual(summary.test?.step, 30, "the end-of-run test evaluation of the only evaluated checkpoint")
        XCTAssertEqual(before.count, 12)
        XCTAssertGreaterThan(summary.validationAccuracy, 0.9, "three separable classes (before: \(before.accuracy))")
        XCTAssertNotNil(trainer.model.arena.parameter(named: "patch_embedding.weight"))
    }
}
