import Foundation
import TensorCore
import XCTest

/// With no thread setting, a rank runs as many threads as it has cores of its own: the CPUs
/// its affinity mask allows (taskset, SLURM cpusets, mpirun's binding), shared fairly among the
/// ranks of a machine. Before, it counted every online CPU, so a rank bound to one core ran a
/// thread per core of the node on it.
final class ThreadPlacementTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "parseval-threads-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    /// (threads, cpus) of each rank's line of `parseval info`, in rank order.
    func placements(_ outcome: ParsevalProcess.Outcome, ranks: Int) throws -> [(threads: Int, cpus: String)] {
        XCTAssertEqual(outcome.exitCode, 0, outcome.summary)
        let found = outcome.output.split(separator: "\n").filter { $0.hasPrefix("rank ") }.map { line -> (Int, String) in
            let words = line.split(separator: " ").map(String.init)
            let threads = words.firstIndex(of: "threads").flatMap { Int(words[$0 + 1]) } ?? -1
            let cpus = words.firstIndex(of: "cpus").map { words[$0 + 1] } ?? "?"
            return (threads, cpus)
        }
        XCTAssertEqual(found.count, ranks, outcome.summary)
        return found
    }

    func testAProcessPinnedToOneCoreRunsOneThread() throws {
        let taskset = "/usr/bin/taskset"
        guard FileManager.default.isExecutableFile(atPath: taskset) else { throw XCTSkip("taskset (util-linux) is not installed") }
        let cpu = Machine.affinity().last!
        let outcome = try ParsevalProcess.run(["info"], wrapper: [taskset, "-c", "\(cpu)"], threads: nil, in: folder)
        let ranks = try placements(outcome, ranks: 1)
        XCTAssertEqual(ranks.first?.threads, 1, outcome.output)
        XCTAssertEqual(ranks.first?.cpus, "\(cpu)", outcome.output)
    }

    func testARankBoundToACoreRunsOneThread() throws {
        let outcome = try ParsevalProcess.run(["info"], wrapper: ["\(ParsevalProcess.packageRoot)/scripts/mpirun.sh", "1", "--bind-to", "core"],
                                              threads: nil, in: folder)
        XCTAssertEqual(try placements(outcome, ranks: 1).first?.threads, 1, outcome.output)
    }

    func testRanksSharingTheMachineSplitItsCores() throws {
        let outcome = try ParsevalProcess.run(["info"], wrapper: ["\(ParsevalProcess.packageRoot)/scripts/mpirun.sh", "2", "--bind-to", "none"],
                                              threads: nil, in: folder)
        let expected = max(1, Machine.usableCores() / 2)
        for rank in try placements(outcome, ranks: 2) {
            XCTAssertEqual(rank.threads, expected, outcome.output)
            XCTAssertEqual(rank.cpus, Machine.cpuList(Machine.affinity()), outcome.output)
        }
    }

    func testAThreadSettingWins() throws {
        let outcome = try ParsevalProcess.run(["info"], wrapper: ["\(ParsevalProcess.packageRoot)/scripts/mpirun.sh", "1", "--bind-to", "core"],
                                              threads: "3", in: folder)
        XCTAssertEqual(try placements(outcome, ranks: 1).first?.threads, 3, outcome.output)
    }
}
