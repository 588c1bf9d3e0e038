import Distributed
import Layers
import Parameters
import SequenceParallel
import SpectralMixing
import TensorCore
import XCTest

/// The sequence-parallel mixers on every rank of the job (P = world size: 1 in `swift test`,
/// 2, 3 and 4 under mpirun) against the single-rank layers run on the whole sequence in the
/// same process. Outputs, input gradients and every parameter gradient (summed over the
/// group) must agree to a relative error of 1e-4 (largest difference / largest reference value).
/// Shapes a rank count cannot split are skipped with a message; every rank count runs at
/// least one shape of every test.
final class SequenceParallelMixingTests: XCTestCase {
    var world: Communicator!
    let tolerance: Float = 1e-4
    /// Lengths: a power of two and 144 = 2⁴·3², which splits over P = 2, 3 and 4 (P² | 144).
    let lengths = [64, 144]

    override func setUp() {
        world = MPIRuntime.initialize()
    }

    func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var stream = RandomStream(seed: seed)
        return Tensor(shape: shape, values: (0..<Tensor.elementCount(shape)).map { _ in stream.uniform(-1, 1) })
    }

    /// This rank's tokens of a (B, N, …) tensor: (B, N/P, …).
    func block(_ x: Tensor) -> Tensor {
        let (b, n) = (x.shape[0], x.shape[1])
        let inner = x.count / (b * n), local = n / world.size, start = world.rank * local
        var values: [Float] = []
        let all = x.scalars
        for batch in 0..<b { values += all[((batch * n + start) * inner)..<((batch * n + start + local) * inner)] }
        return Tensor(shape: [b, local] + x.shape.dropFirst(2), values: values)
    }

    func assertClose(_ actual: [Float], _ expected: [Float], _ what: String, file: StaticString = #filePath,
                     line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, what, file: file, line: line)
        let scale = max(expected.map(abs).max() ?? 0, 1e-6)
        let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst / scale, tolerance,
                                 "\(what) on \(world.size) ranks: largest difference \(worst), scale \(scale)",
                                 file: file, line: line)
    }

    /// The mask of a batch of 2 whose second example ends in 7 padding tokens.
    func paddingMask(length: Int) -> Tensor {
        Tensor(shape: [2, length], values: (0..<(2 * length)).map { $0 >= 2 * length - 7 ? 0 : 1 })
    }

    // MARK: - FFTNet

    func checkFFTNet(length: Int, knots: Int?) throws {
        let (batch, dim, heads) = (2, 12, 3)
        let referenceArena = ParameterArena(), shardedArena = ParameterArena()
        let reference = FFTNetMixing("mixer", arena: referenceArena, dim: dim, heads: heads, sequenceLength: length,
                                     filterKnots: knots)
        let sharded = try SequenceParallelFFTNetMixing("mixer", arena: shardedArena, dim: dim, heads: heads,
                                                       sequenceLength: length, filterKnots: knots, group: world)
        referenceArena.allocate(seed: 7)
        shardedArena.allocate(seed: 7)
        // Non-constant base filter and modReLU bias, so that a wrong bin shows.
        for (parameter, low, high) in [(reference.baseFilter, Float(0.5), Float(1.5)), (reference.modReLUBias, -0.3, 0.1)] {
            let entry = referenceArena.entry(parameter)
            var stream = RandomStream(seed: UInt64(entry.offset))
            for i in 0..<entry.count {
                let value = stream.uniform(low, high)
                referenceArena.values.pointer[entry.offset + i] = value
                shardedArena.values.pointer[entry.offset + i] = value
            }
        }
        XCTAssertEqual(referenceArena.entries.map(\.name), shardedArena.entries.map(\.name))

        let x = random([batch, length, dim], seed: 11), upstream = random([batch, length, dim], seed: 12)
        let mask = paddingMask(length: length)
        let y = reference.forward(x, context: ForwardContext(training: true, mask: mask))
        let dx = reference.backward(upstream)
        let yBlock = sharded.forward(block(x), context: ForwardContext(training: true, mask: block(mask)))
        let dxBlock = sharded.backward(block(upstream))
        let label = "FFTNet N=\(length) knots=\(knots.map(String.init) ?? "F")"
        assertClose(yBlock.scalars, block(y).scalars, "\(label): output")
        assertClose(dxBlock.scalars, block(dx).scalars, "\(label): input gradient")

        let gradients = UnsafeMutableBufferPointer(start: shardedArena.gradients.pointer, count: shardedArena.gradients.count)
        try world.allreduce(gradients)
        for entry in referenceArena.entries {
            let expected = Array(UnsafeBufferPointer(start: referenceArena.gradients.pointer + entry.offset, count: entry.count))
            assertClose(Array(gradients[entry.offset..<(entry.offset + entry.count)]), expected,
                        "\(label): gradient of \(entry.name) summed over the group")
        }
    }

    /// Whether this group can split the shape: FFTNet's transposes need N and D divisible by P;
    /// FNet's distributed FFT (FFTW-MPI's even split) needs N divisible by P².
    func supported(_ length: Int, dim: Int = 12, distributedFFT: Bool = false) -> Bool {
        let p = world.size
        let fits = distributedFFT ? length % (p * p) == 0 : length % p == 0 && dim % p == 0
        if !fits { print("skipped with \(p) ranks: cannot split length \(length), dim \(dim)") }
        return fits
    }

    func testFFTNetMatchesSingleRankLayer() throws {
        for length in lengths where supported(length) {
            try checkFFTNet(length: length, knots: nil)
            try checkFFTNet(length: length, knots: 5)
        }
    }

    func testUnsupportedShapesThrowAtConstruction() throws {
        let p = world.size
        guard p > 1 else { throw XCTSkip("every shape splits over one rank: run under mpirun") }
        func expectError(_ what: String, _ build: () throws -> Void) {
            XCTAssertThrowsError(try build(), what) { error in
                XCTAssertFalse("\(error)".isEmpty, "\(what): the error must say why")
            }
        }
        let arena = ParameterArena()
        expectError("length not divisible by P") {
            _ = try SequenceParallelFFTNetMixing("a", arena: arena, dim: 12, heads: 3, sequenceLength: p * p * 4 + 1,
                                                 group: world)
        }
        expectError("dim not divisible by P") {
            _ = try SequenceParallelFFTNetMixing("b", arena: arena, dim: p * 4 + 1, heads: 1, sequenceLength: p * p * 4,
                                                 group: world)
        }
        expectError("FNet length not divisible by P²") {
            _ = try SequenceParallelFNetMixing(sequenceLength: p * (p * 4 + 1), dim: 12, group: world)
        }
    }

    // MARK: - FNet

    func testFNetMatchesSingleRankLayer() throws {
        for length in lengths where supported(length, distributedFFT: true) {
            for dim in [12, 7] {
                let x = random([2, length, dim], seed: 21), upstream = random([2, length, dim], seed: 22)
                let reference = FNetMixing(), sharded = try SequenceParallelFNetMixing(sequenceLength: length, dim: dim,
                                                                                       group: world)
                let y = reference.forward(x, context: ForwardContext(training: true))
                let dx = reference.backward(upstream)
                let yBlock = sharded.forward(block(x), context: ForwardContext(training: true))
                let dxBlock = sharded.backward(block(upstream))
                assertClose(yBlock.scalars, block(y).scalars, "FNet N=\(length) D=\(dim): output")
                assertClose(dxBlock.scalars, block(dx).scalars, "FNet N=\(length) D=\(dim): input gradient")
            }
        }
    }

    // MARK: - SequenceSharding

    func testShardingCutsThisRanksBlockAndCountsEachExampleOnce() throws {
        let sharding = SequenceSharding(grid: try ProcessGrid(world: world, sequenceParallel: world.size))
        let (batch, length) = (3, 12 * world.size)
        let tokens = (0..<(batch * length)).map { Int32($0) }
        let mask = (0..<(batch * length)).map { Float($0 % 5 == 0 ? 0 : 1) }
        let cut = sharding.block(tokens: tokens, mask: mask, batch: batch, length: length)
        XCTAssertEqual(cut.length, 12)
        XCTAssertEqual(cut.tokens.map(Float.init), block(Tensor(shape: [batch, length], values: tokens.map(Float.init))).scalars)
        XCTAssertEqual(cut.mask, block(Tensor(shape: [batch, length], values: mask)).scalars)
        XCTAssertEqual(sharding.positionOffset(localLength: 12), world.rank * 12)
        var totals = [Double(world.size) * 6, Double(world.size)]
        sharding.countOnce(&totals)
        // Each of the P ranks of the group counted the same 6 examples in 1 batch: once, not P times.
        XCTAssertEqual(totals, [6, 1])
        // One data shard: every position past the split's end is padding.
        XCTAssertEqual(sharding.evaluationPadding(batchNumber: 1, batchSize: 4, count: 4, total: 6), [2, 3])
    }

    func testSequenceParallelismRulesAreStatedOnce() {
        func request(_ change: (inout SequenceSharding.Request) -> Void) -> SequenceSharding.Request {
            var r = SequenceSharding.Request(ranks: 2, mixer: "fftnet", mixerSupported: true, supportedMixers: ["fnet", "fftnet"],
                                             downsamples: false, task: "listops", taskSupported: true,
                                             sequenceLength: 64, maxLength: 64)
            change(&r)
            return r
        }
        XCTAssertNoThrow(try SequenceSharding.check(request { _ in }))
        XCTAssertNoThrow(try SequenceSharding.check(request { $0.ranks = 1; $0.mixerSupported = false }), "P = 1 asks nothing")
        let refused: [(String, (inout SequenceSharding.Request) -> Void)] = [
            ("model.mixer attention is not supported", { $0.mixer = "attention"; $0.mixerSupported = false }),
            ("model.downsample", { $0.downsamples = true }),
            ("data.task cifar10 is not supported", { $0.task = "cifar10"; $0.taskSupported = false }),
            ("must equal model.max_length (64)", { $0.sequenceLength = 32 }),
            ("data.sequence_length 63 is not divisible by 2", { $0.sequenceLength = 63; $0.maxLength = 63 }),
        ]
        for (message, change) in refused {
            XCTAssertThrowsError(try SequenceSharding.check(request(change))) { error in
                XCTAssertTrue("\(error)".hasPrefix("parallel.seq_parallel 2: "), "\(error)")
                XCTAssertTrue("\(error)".contains(message), "\(error) should say \(message)")
            }
        }
    }

    /// A collective that fails inside a layer is recorded with the rank, later collectives of the
    /// step are skipped, and the failure is thrown once.
    func testAFailedCollectiveIsThrownWithTheRankAfterTheLayer() {
        struct Broken: Error, CustomStringConvertible { var description: String { "MPI_ERR_TRUNCATE" } }
        let failures = ShardFailures(rank: 3)
        var ran = 0
        failures.collective("all-reduce of the pooled vectors") { ran += 1; throw Broken() }
        failures.collective("all-reduce of the context gradient") { ran += 1 }
        XCTAssertEqual(ran, 1, "after a failure, the step's later collectives are skipped")
        XCTAssertThrowsError(try failures.throwIfFailed()) { error in
            XCTAssertEqual("\(error)", "rank 3: all-reduce of the pooled vectors failed: MPI_ERR_TRUNCATE")
        }
        XCTAssertNoThrow(try failures.throwIfFailed(), "thrown once")
        failures.collective("next step") { ran += 1 }
        XCTAssertEqual(ran, 2)
    }

    /// An example whose mask is 0 over the whole sequence (every rank's block) is an error the
    /// step throws, naming the example and the rank — not a crash inside the layer.
    func testAnExampleWithoutTokensIsAThrownError() {
        let pooling = ShardedPooling(.mean, group: world)
        let mask = Tensor(shape: [2, 4], values: [0, 0, 0, 0, 1, 1, 0, 1])
        _ = pooling.forward(random([2, 4, 3], seed: 5), mask: mask)
        XCTAssertThrowsError(try pooling.failures.throwIfFailed()) { error in
            XCTAssertEqual("\(error)", "rank \(world.rank): example 0 of the batch has no valid token in its whole sequence (mask all 0)")
        }
    }
}
