import Datasets
import Distributed
import Foundation
import Models
import TensorCore
import Training
import XCTest

/// Whole models trained with sequence parallelism against one process training the same
/// global batch on whole sequences (`MPI_COMM_SELF`, seq_parallel 1). Runs with 1 rank in
/// `swift test` and with 2, 3 and 4 under mpirun; a grid the rank count cannot form is
/// skipped with a message.
final class SequenceParallelTrainingTests: XCTestCase {
    var world: Communicator!
    var fixture: ListOpsFixture!
    var folder: String!
    var shared: String!
    /// 144 = 2⁴·3² tokens: token blocks for P = 2, 3, 4, and P² | 144 for FNet.
    let length = 144

    override func setUpWithError() throws {
        world = MPIRuntime.initialize()
        fixture = try ListOpsFixture(world: world, maxLength: 120)
        (folder, shared) = (fixture.folder, fixture.shared)
    }

    override func tearDown() { fixture.remove() }

    func configuration(mixer: MixerKind, sequenceParallel: Int, run: String, shared runsOnWorld: Bool) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        (c.model.mixer, c.model.vocabularySize, c.model.maxLength, c.model.dim, c.model.depth) = (mixer, 16, length, 12, 2)
        (c.model.heads, c.model.mlpHidden, c.model.dropout, c.model.classes) = (2, 24, 0, 10)
        (c.data.directory, c.data.sequenceLength) = ("\(folder!)/data", length)
        (c.training.steps, c.training.batchSize, c.training.seed) = (5, 8, 5)
        (c.training.evalEvery, c.training.checkpointEvery, c.training.logEvery) = (0, 0, 100)
        c.optimizer.name = .sgd
        c.parallel.seqParallel = sequenceParallel
        c.output.directory = runsOnWorld ? "\(shared!)/\(run)" : "\(folder!)/\(run)-\(world.rank)"
        return c
    }

    func parameters(_ trainer: Trainer) -> [Float] {
        Array(UnsafeBufferPointer(start: trainer.model.arena.values.pointer, count: trainer.model.arena.values.count))
    }

    /// Trains `steps` on the world with seq_parallel P and alone with seq_parallel 1; the
    /// parameters must agree to 1e-4 of the largest, and the validation metrics likewise.
    func checkEquivalence(mixer: MixerKind, sequenceParallel p: Int, variant: String = "",
                          adjust: (inout TrainingConfiguration) -> Void = { _ in }) throws {
        let label = "\(mixer.rawValue)\(variant), seq_parallel \(p) × data_parallel \(world.size / p)"
        var parallelConfiguration = configuration(mixer: mixer, sequenceParallel: p, run: "sp\(p)-\(mixer)\(variant)", shared: true)
        var aloneConfiguration = configuration(mixer: mixer, sequenceParallel: 1, run: "alone-\(mixer)\(variant)", shared: false)
        adjust(&parallelConfiguration)
        adjust(&aloneConfiguration)
        let parallel = try Trainer(configuration: parallelConfiguration, world: world)
        _ = try parallel.run()
        let parallelEvaluation = try parallel.evaluate()
        let alone = try Trainer(configuration: aloneConfiguration, world: .selfOnly)
        _ = try alone.run()
        let aloneEvaluation = try alone.evaluate()
        let p1 = parameters(parallel), q = parameters(alone)
        let scale = q.map(abs).max() ?? 1
        let worst = zip(p1, q).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 1e-4 * scale, "\(label): parameters after 5 steps differ by \(worst) (scale \(scale))")
        XCTAssertEqual(parallelEvaluation.count, aloneEvaluation.count, "\(label): validation examples")
        XCTAssertEqual(parallelEvaluation.loss, aloneEvaluation.loss, accuracy: 1e-4, "\(label): validation loss")
        XCTAssertTrue(try world.agree(on: parameterChecksum(parallel.model.arena)), "\(label): ranks must hold identical parameters")
    }

    /// All ranks in one sequence group: P = world size.
    func testWholeWorldSequenceGroupTrainsLikeOneProcess() throws {
        for mixer in MixerKind.allCases where mixer.supportsSequenceParallel {
            try checkEquivalence(mixer: mixer, sequenceParallel: world.size)
        }
    }

    /// A learned class token lives on the group's rank 0: 143 tokens + the token = 144 positions
    /// split into P blocks (rank 0's holds the token and 144/P − 1 tokens). FFTNet as its
    /// official LRA model (paper block, scalar embedding), FNet with its pre-norm block.
    func testLearnedClassTokenTrainsLikeOneProcess() throws {
        for mixer in MixerKind.allCases where mixer.supportsSequenceParallel {
            try checkEquivalence(mixer: mixer, sequenceParallel: world.size, variant: "-cls") { c in
                c.model.pooling = .cls
                (c.data.sequenceLength, c.model.maxLength) = (length - 1, length - 1)
                if mixer == .fftnet { (c.model.block, c.model.embedding) = (.paper, .scalar) }
                if mixer == .fnet {  // LRA's initialisations: fixed sinusoids shifted per block, a zero token
                    (c.model.positions, c.model.classTokenStd, c.model.embeddingStd, c.model.paddingIndex) = (.sinusoidal, 0, 1, -1)
                }
            }
        }
    }

    /// seq_parallel 2 × data_parallel (world / 2): 2 × 2 on 4 ranks.
    func testSequenceParallelTimesDataParallelTrainsLikeOneProcess() throws {
        guard world.size % 2 == 0 else { throw XCTSkip("seq_parallel 2 needs an even number of ranks, not \(world.size)") }
        try checkEquivalence(mixer: .fftnet, sequenceParallel: 2)
    }

    func testUnsupportedCombinationsAreConfigurationErrors() throws {
        var c = configuration(mixer: .attention, sequenceParallel: 2, run: "bad", shared: false)
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("attention"), "\($0)") }
        for mixer in MixerKind.allCases where !mixer.supportsSequenceParallel {
            c.model.mixer = mixer
            XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("seq_parallel"), "\($0)") }
        }
        c.model.mixer = .fftnet
        c.model.downsample = [DownsampleStage(layer: 0, ratio: 0.5)]
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("downsampl"), "\($0)") }
        c.model.downsample = []
        c.parallel.seqParallel = 5
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("not divisible"), "\($0)") }
        c.parallel.seqParallel = 2
        c.model.pooling = .cls  // 144 tokens + the class token: 145 positions do not split in 2
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("class token"), "\($0)") }
        c.model.pooling = .mean
        // A rank count the grid cannot use: seq_parallel larger than the world.
        c.parallel.seqParallel = world.size + 1
        c.data.sequenceLength = length * (world.size + 1)
        c.model.maxLength = c.data.sequenceLength
        XCTAssertThrowsError(try Trainer(configuration: c, world: world)) {
            XCTAssertTrue("\($0)".contains("does not divide"), "\($0)")
        }
    }
}
