import Distributed
import XCTest

/// Runs as a single process (a world of 1) in `swift test`, and under
/// `mpirun -np 2` / `-np 3 --oversubscribe` in scripts/test.sh.
final class CommunicatorTests: XCTestCase {
    var world: Communicator!

    override func setUp() {
        world = MPIRuntime.initialize()
    }

    /// The world is the whole mpirun job, and this process the rank mpirun says (one rank of
    /// rank 0 outside mpirun).
    func testRankAndSize() {
        let environment = ProcessInfo.processInfo.environment
        XCTAssertEqual(world.size, environment["OMPI_COMM_WORLD_SIZE"].flatMap(Int.init) ?? 1, "the world must be the whole mpirun job")
        XCTAssertEqual(world.rank, environment["OMPI_COMM_WORLD_RANK"].flatMap(Int.init) ?? 0)
    }

    func testAllreduceSumGivesTheSameExactSumOnEveryRank() throws {
        let p = world.size, r = world.rank
        // Small integers: the sum is exact whatever order MPI adds in.
        var values = (0..<1000).map { Float($0 % 17) * Float(r + 1) }
        try world.allreduce(&values, .sum)
        let rankSum = Float(p * (p + 1) / 2)
        XCTAssertEqual(values, (0..<1000).map { Float($0 % 17) * rankSum })
        try assertAllRanksAgree(values)
    }

    func testAllreduceMeanMaxMin() throws {
        let r = Float(world.rank), p = Float(world.size)
        var mean: [Float] = [r, 2 * r]
        try world.allreduce(&mean, .mean)
        XCTAssertEqual(mean, [(p - 1) / 2, p - 1])
        var highest: [Float] = [r], lowest: [Float] = [r]
        try world.allreduce(&highest, .max)
        try world.allreduce(&lowest, .min)
        XCTAssertEqual(highest, [p - 1])
        XCTAssertEqual(lowest, [0])
        var doubles: [Double] = [Double(world.rank) + 0.5]
        try world.allreduce(&doubles, .sum)
        XCTAssertEqual(doubles, [Double(world.size * world.size) / 2])
    }

    func testGatherCollectsStringsInRankOrder() throws {
        let lines = try world.gather(String(repeating: "x", count: world.rank) + "rank \(world.rank)")
        if world.isRoot {
            XCTAssertEqual(lines, (0..<world.size).map { String(repeating: "x", count: $0) + "rank \($0)" })
        } else {
            XCTAssertEqual(lines, [])
        }
        try world.barrier()
    }

    /// Every rank holds the same values: compare against the element-wise max and min.
    func assertAllRanksAgree(_ values: [Float], file: StaticString = #filePath, line: UInt = #line) throws {
        var highest = values, lowest = values
        try world.allreduce(&highest, .max)
        try world.allreduce(&lowest, .min)
        XCTAssertEqual(highest, lowest, "ranks disagree", file: file, line: line)
    }
}
