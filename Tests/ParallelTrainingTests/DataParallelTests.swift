import Datasets
import Distributed
import Foundation
import Models
import TensorCore
import Training
import XCTest

/// Training on every rank of the job against training alone (`MPI_COMM_SELF`) in the same
/// process. Runs with 1 rank in `swift test` and with 2 and 3 under mpirun.
final class DataParallelTests: XCTestCase {
    var world: Communicator!
    var fixture: ListOpsFixture!
    /// This rank's own folder (its copy of the data; the runs of `.selfOnly` trainers).
    var folder: String!
    /// A folder every rank shares: rank 0's (all ranks of these tests run on one machine).
    var shared: String!

    override func setUpWithError() throws {
        world = MPIRuntime.initialize()
        fixture = try ListOpsFixture(world: world, maxLength: 48)
        (folder, shared) = (fixture.folder, fixture.shared)
    }

    override func tearDown() { fixture.remove() }

    func configuration(run: String) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        (c.model.vocabularySize, c.model.maxLength, c.model.dim, c.model.depth) = (16, 48, 16, 1)
        (c.model.heads, c.model.mlpHidden, c.model.dropout, c.model.classes) = (2, 32, 0, 10)
        (c.data.directory, c.data.sequenceLength) = ("\(folder!)/data", 48)
        (c.training.steps, c.training.batchSize, c.training.seed) = (6, 12, 5)
        (c.training.evalEvery, c.training.checkpointEvery, c.training.logEvery) = (0, 0, 100)
        (c.schedule.kind, c.schedule.warmupSteps) = (.cosine, 2)
        // Runs of the whole world share rank 0's folder; runs of one rank use their own.
        c.output.directory = run.contains("-\(world.rank)") ? "\(folder!)/\(run)" : "\(shared!)/\(run)"
        return c
    }

    func parameters(_ trainer: Trainer) -> [Float] {
        Array(UnsafeBufferPointer(start: trainer.model.arena.values.pointer, count: trainer.model.arena.values.count))
    }

    /// SGD must agree to 1e-5 of the largest parameter. AdamW gets 1e-4: where a gradient
    /// is near zero its normalised update is about ±lr whatever the gradient's size, so it
    /// amplifies the float summation-order differences between the two runs (measured:
    /// 4e-5 after 6 steps at lr 1e-3).
    func testDataParallelStepsEqualOneProcessWithTheSameGlobalBatch() throws {
        for (optimizer, tolerance) in [(OptimizerKind.sgd, Float(1e-5)), (.adamw, Float(1e-4))] {
            var parallelConfiguration = configuration(run: "parallel-\(optimizer)")
            parallelConfiguration.optimizer.name = optimizer
            let parallel = try Trainer(configuration: parallelConfiguration, world: world)
            _ = try parallel.run()
            var aloneConfiguration = configuration(run: "alone-\(optimizer)-\(world.rank)")
            aloneConfiguration.optimizer.name = optimizer
            let alone = try Trainer(configuration: aloneConfiguration, world: .selfOnly)
            _ = try alone.run()
            let p = parameters(parallel), q = parameters(alone)
            let scale = q.map(abs).max() ?? 1
            let worst = zip(p, q).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, tolerance * scale, "\(optimizer): \(world.size) ranks vs one process after "
                                     + "6 steps: largest difference \(worst) (scale \(scale))")
            XCTAssertTrue(try world.agree(on: parameterChecksum(parallel.model.arena)), "ranks must hold identical parameters")
        }
    }

    /// Two micro-batches of 6 per step (`GradientScaling`'s 1/accumulation on each, then the
    /// world's average) train like one batch of 12: the same examples, the same mean gradient.
    /// Three steps stay in the first epoch at 1, 2 and 3 ranks (shards of 40, 20 and 14): past an
    /// epoch's end, micro-batches of a shard that does not divide draw other examples (as
    /// PyTorch's accumulation over a loader does).
    func testAccumulatedMicroBatchesEqualOneBatchOfTheirSize() throws {
        var accumulated = configuration(run: "accumulated")
        accumulated.optimizer.name = .sgd
        (accumulated.training.accumulation, accumulated.training.steps, accumulated.optimizer.learningRate) = (2, 3, 0.1)
        let twoMicroBatches = try Trainer(configuration: accumulated, world: world)
        _ = try twoMicroBatches.run()
        var whole = configuration(run: "whole")
        (whole.optimizer.name, whole.training.steps, whole.optimizer.learningRate) = (.sgd, 3, 0.1)
        let oneBatch = try Trainer(configuration: whole, world: world)
        _ = try oneBatch.run()
        let p = parameters(twoMicroBatches), q = parameters(oneBatch)
        let scale = q.map(abs).max() ?? 1
        let worst = zip(p, q).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 1e-5 * scale, "accumulation 2 vs 1 after 3 steps: largest difference \(worst) (scale \(scale))")
        let initial = try Trainer(configuration: configuration(run: "initial"), world: world)
        XCTAssertGreaterThan(zip(parameters(initial), q).map { abs($0 - $1) }.max() ?? 0, 100 * 1e-5 * scale,
                             "the runs must have moved the parameters far more than the tolerance")
    }

    func testStoppedAndResumedRunEndsBitIdentical() throws {
        var c = configuration(run: "straight")
        let straight = try Trainer(configuration: c, world: world)
        _ = try straight.run()

        // Stop mid-epoch (3 batches of 12 per epoch over 40 examples), then resume in a new trainer.
        c.output.directory = "\(shared!)/resumed"
        c.training.checkpointEvery = 2
        let first = try Trainer(configuration: c, world: world)
        _ = try first.run(until: 4)
        let second = try Trainer(configuration: c, world: world)
        XCTAssertEqual(try second.resumeIfPossible(), 4)
        XCTAssertEqual(second.state.epoch, 1)
        XCTAssertEqual(second.state.batchInEpoch, 1)
        _ = try second.run()
        XCTAssertEqual(parameters(second).map(\.bitPattern), parameters(straight).map(\.bitPattern),
                       "a resumed run must end with the same parameters bit for bit")
    }

    func testEvaluationCountsEveryValidationExampleOnce() throws {
        let trainer = try Trainer(configuration: configuration(run: "eval"), world: world)
        let result = try trainer.evaluate()
        XCTAssertEqual(result.count, 10, "the sampler's padding examples must not be counted")
        let alone = try Trainer(configuration: configuration(run: "eval-\(world.rank)"), world: .selfOnly)
        let reference = try alone.evaluate()
        XCTAssertEqual(result.accuracy, reference.accuracy, accuracy: 1e-12)
        XCTAssertEqual(result.loss, reference.loss, accuracy: 1e-5)
    }
}
