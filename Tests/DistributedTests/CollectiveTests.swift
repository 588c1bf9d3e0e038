import Distributed
import Layers
import Parameters
import XCTest

/// Collectives beyond allreduce; each rank checks what it received against what every
/// rank is known to have sent. Runs with any number of ranks (1 in `swift test`), and again
/// with the stall watchdog armed (`ArmedCollectiveTests`).
class CollectiveTests: XCTestCase {
    var world: Communicator!

    override func setUp() { world = MPIRuntime.initialize() }

    func testBroadcastFloatsAndStrings() throws {
        var values = (0..<100).map { Float($0 * (world.rank + 1)) }
        try values.withUnsafeMutableBufferPointer { try world.broadcast($0, root: world.size - 1) }
        XCTAssertEqual(values, (0..<100).map { Float($0 * world.size) }, "every rank holds the root's values")
        let text = try world.broadcast(world.isRoot ? "configuration from rank 0 ✓" : "ignored")
        XCTAssertEqual(text, "configuration from rank 0 ✓")
    }

    func testSplitMakesGroupsOfEvenAndOddRanks() throws {
        let group = try world.split(color: world.rank % 2, key: world.rank)
        XCTAssertEqual(group.size, (world.size + 1 - world.rank % 2) / 2)
        XCTAssertEqual(group.rank, world.rank / 2)
        var values: [Float] = [Float(world.rank)]
        try group.allreduce(&values, .sum)
        let members = stride(from: world.rank % 2, to: world.size, by: 2)
        XCTAssertEqual(values, [Float(members.reduce(0, +))], "the sum runs over the group only")
    }

    func testNonBlockingAllreduce() throws {
        var values = [Float](repeating: Float(world.rank + 1), count: 10_000)
        try values.withUnsafeMutableBufferPointer { buffer in
            let request = try world.startAllreduce(buffer)
            try request.wait()
            XCTAssertTrue(request.isComplete)
        }
        XCTAssertEqual(values, [Float](repeating: Float(world.size * (world.size + 1) / 2), count: 10_000))
    }
}

final class GradientSynchronizerTests: XCTestCase {
    var world: Communicator!

    override func setUp() { world = MPIRuntime.initialize() }

    /// An arena of 40 parameters of varied sizes (about 1.9 MB in all).
    func makeArena() -> ParameterArena {
        let arena = ParameterArena()
        for i in 0..<40 {
            _ = arena.register("p\(i)", shape: [1000 + 500 * (i % 7), 3], initializer: .zeros, weightDecay: true)
        }
        arena.allocate(seed: 0)
        return arena
    }

    func testBucketsCoverTheArenaInOrderOnParameterBoundaries() {
        let arena = makeArena()
        let sync = GradientSynchronizer(communicator: world, arena: arena, bucketBytes: 200_000, firstBucketBytes: 50_000)
        XCTAssertEqual(sync.buckets.first?.lowerBound, 0)
        XCTAssertEqual(sync.buckets.last?.upperBound, arena.count)
        for (a, b) in zip(sync.buckets, sync.buckets.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
        let boundaries = Set(arena.entries.map { $0.offset + $0.count })
        XCTAssertTrue(sync.buckets.allSatisfy { boundaries.contains($0.upperBound) }, "buckets end on parameter boundaries")
        XCTAssertGreaterThan(sync.buckets.count, 3)
    }

    /// Gradients reported ready layer by layer, as backward does, average to the mean of
    /// every rank's gradients.
    func testOverlappedBucketsAverageGradientsAcrossRanks() throws {
        let arena = makeArena()
        let sync = GradientSynchronizer(communicator: world, arena: arena, bucketBytes: 200_000, firstBucketBytes: 50_000)
        func gradientValue(rank: Int, index: Int) -> Float { Float((index * 7 + rank * 13) % 101) }
        for step in 0..<2 {
            sync.begin()
            // Backward: the last registered parameter first, one "layer" of 5 at a time.
            for layerStart in stride(from: 35, through: 0, by: -5) {
                for index in layerStart..<layerStart + 5 {
                    let entry = arena.entries[index]
                    for i in 0..<entry.count { arena.gradients.pointer[entry.offset + i] = gradientValue(rank: world.rank, index: i + index) }
                }
                try sync.gradientsReady(from: layerStart)
            }
            try sync.finish()
            for (index, entry) in arena.entries.enumerated() {
                for i in stride(from: 0, to: entry.count, by: 97) {
                    let mean = (0..<world.size).map { gradientValue(rank: $0, index: i + index) }.reduce(0, +) / Float(world.size)
                    XCTAssertEqual(arena.gradients.pointer[entry.offset + i], mean, accuracy: 1e-4,
                                   "step \(step) parameter \(entry.name)[\(i)]")
                }
            }
        }
    }
}
