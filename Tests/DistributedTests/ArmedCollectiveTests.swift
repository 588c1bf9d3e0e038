@testable import Distributed
import XCTest

/// Every test of `CollectiveTests` again with the stall watchdog armed: the collectives then
/// run non-blocking, polled, with arrival notes (docs/reliability.md), and must give the same
/// results. Disarmed again afterwards, so the other classes run as before.
final class ArmedCollectiveTests: CollectiveTests {
    override func setUp() {
        super.setUp()
        CollectiveWatchdog.arm(rank: world.rank, warningSeconds: 600, abortSeconds: 600)
    }

    override func tearDown() {
        CollectiveWatchdog.arm(rank: world.rank, warningSeconds: 0, abortSeconds: 0)
        super.tearDown()
    }

    /// Every rank numbers the collectives alike, and rank 0 hears every rank's latest arrival.
    func testEveryRankNumbersTheCollectivesAlike() throws {
        try world.barrier()
        var values: [Float] = [1]
        try world.allreduce(&values)
        _ = try world.agree(on: 7)
        guard world.size > 1 else { throw XCTSkip("the ledger numbers collectives across ranks: run under mpirun") }
        let ledger = try XCTUnwrap(world.ledger, "an armed world of \(world.size) ranks has a ledger")
        let mine = ledger.sequence
        let everyone = try world.gather("\(mine)")
        if world.isRoot {
            XCTAssertEqual(everyone, [String](repeating: "\(mine)", count: world.size), "ranks numbered their collectives differently")
        }
        // The gather was collectives mine + 1 and mine + 2 (lengths, then bytes): every rank sent
        // its notes before they completed.
        let deadline = ContinuousClock.now + .seconds(20)
        while !ledger.missing(mine + 2).isEmpty && ContinuousClock.now < deadline { try ledger.drain() }
        XCTAssertTrue(ledger.missing(mine + 2).isEmpty, "notes never arrived: \(ledger.missing(mine + 2))")
        XCTAssertEqual(ledger.worldRanks, Array(0..<world.size))
    }

    /// A group's ledger names its members by their world ranks.
    func testAGroupNamesItsRanksInWorldNumbering() throws {
        let group = try world.split(color: world.rank % 2, key: world.rank)
        try group.barrier()
        guard group.size > 1 else { throw XCTSkip("this rank's group has one rank: run under mpirun with 3 or more") }
        XCTAssertEqual(group.ledger?.worldRanks, Array(stride(from: world.rank % 2, to: world.size, by: 2)))
    }
}
