import ParsevalTestSupport
import TensorCore
import XCTest

extension Tensor {
    /// Where the values live: equal for two live tensors exactly when they share storage.
    var storageAddress: UnsafePointer<Float> { withUnsafeBufferPointer { $0.baseAddress! } }
}

final class TensorTests: XCTestCase {
    func testCopyOnWriteKeepsValueSemantics() {
        var a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let b = a
        a[1, 2] = 60
        XCTAssertEqual(a[1, 2], 60)
        XCTAssertEqual(b[1, 2], 6, "mutating a copy must not change the original")
        XCTAssertNotEqual(a.storageAddress, b.storageAddress)
    }

    func testUniqueStorageIsMutatedInPlace() {
        var a = Tensor(zeros: [4])
        let before = a.storageAddress  // the address only: holding the storage would share it
        a.withUnsafeMutableBufferPointer { $0[0] = 1 }
        XCTAssertEqual(a.storageAddress, before, "a uniquely referenced tensor must not be copied")
    }

    func testReshapeSharesStorageAndChecksCount() {
        let a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let b = a.reshaped([3, 2])
        XCTAssertEqual(a.storageAddress, b.storageAddress)
        XCTAssertEqual(b[2, 1], 6)
        XCTAssertEqual(b.rank, 2)
    }

    func testStorageIsAlignedAndZeroed() {
        for count in [1, 3, 17, 1000] {
            let t = Tensor(zeros: [count])
            XCTAssertEqual(Int(bitPattern: t.storageAddress) % 64, 0)
            XCTAssertTrue(t.scalars.allSatisfy { $0 == 0 })
        }
        XCTAssertEqual(Tensor(shape: [2, 2], repeating: 3).scalars, [3, 3, 3, 3])
    }

    func testMemoryStatisticsTrackLiveAndPeakBytes() {
        MemoryStatistics.resetPeak()
        let base = MemoryStatistics.current
        do {
            let big = Tensor(zeros: [1 << 20])
            XCTAssertEqual(MemoryStatistics.current - base, 4 << 20)
            XCTAssertEqual(big.count, 1 << 20)
        }
        XCTAssertEqual(MemoryStatistics.current, base, "freed storage must be subtracted")
        XCTAssertGreaterThanOrEqual(MemoryStatistics.peak - base, 4 << 20)
    }

    func testThreadingDefaultFollowsEnvironment() {
        XCTAssertEqual(Threading.defaultCount(environment: ["PARSEVAL_THREADS": "3"]), 3)
        let cores = Machine.usableCores()
        XCTAssertEqual(Threading.defaultCount(environment: ["OMPI_COMM_WORLD_LOCAL_SIZE": "\(cores)"]), 1)
        XCTAssertEqual(Threading.defaultCount(environment: ["PARSEVAL_THREADS": "zero"]), cores)
    }

    func testCPUListsParseAndPrintAsTasksetWritesThem() {
        XCTAssertEqual(Machine.parseCPUList("0-3,8\n"), [0, 1, 2, 3, 8])
        XCTAssertEqual(Machine.parseCPUList("5"), [5])
        XCTAssertNil(Machine.parseCPUList("3-1"))
        XCTAssertNil(Machine.parseCPUList("a"))
        XCTAssertEqual(Machine.cpuList([8, 0, 1, 2, 3, 10, 11]), "0-3,8,10-11")
        XCTAssertFalse(Machine.affinity().isEmpty)
        XCTAssertTrue(Set(Machine.affinity()).isSubset(of: Set(0..<4096)))
    }

    func testCgroupQuotasParse() {
        XCTAssertNil(Machine.parseCPUMax("max 100000\n"))
        XCTAssertEqual(Machine.parseCPUMax("150000 100000\n"), 1.5)
        XCTAssertNil(Machine.parseCFS(quota: "-1\n", period: "100000\n"))
        XCTAssertEqual(Machine.parseCFS(quota: "400000\n", period: "100000\n"), 4)
        XCTAssertGreaterThanOrEqual(Machine.usableCores(), 1)
    }

    /// Each CPU counts 1 / (the ranks that may run on it): bound ranks keep their cores, ranks
    /// sharing one mask split it, never below one thread.
    func testFairShareOfANodesCores() {
        // --bind-to core: rank on CPU 3 alone.
        XCTAssertEqual(Machine.fairShare(of: [3], ranksPerCPU: [1, 1, 1, 1]), 1)
        // --bind-to none, 2 ranks on 16 CPUs.
        XCTAssertEqual(Machine.fairShare(of: Array(0..<16), ranksPerCPU: Array(repeating: 2, count: 16)), 8)
        // --bind-to socket, 4 ranks on 2 sockets of 8: two per socket.
        XCTAssertEqual(Machine.fairShare(of: Array(8..<16), ranksPerCPU: Array(repeating: 2, count: 16)), 4)
        // 3 ranks sharing 2 CPUs, and an oversubscribed core: at least one thread.
        XCTAssertEqual(Machine.fairShare(of: [0, 1], ranksPerCPU: [3, 3]), 1)
        XCTAssertEqual(Machine.fairShare(of: [0], ranksPerCPU: [4]), 1)
        // Partly shared: CPU 0 with another rank, CPUs 1-2 alone → 0.5 + 2 = 2.
        XCTAssertEqual(Machine.fairShare(of: [0, 1, 2], ranksPerCPU: [2, 1, 1]), 2)
    }

    func testCPUDescriptionNamesModelFamilyAndModel() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\nmodel name\t: AMD EPYC   9B45\n\n"
            + "processor\t: 1\nmodel name\t: other\n"
        XCTAssertEqual(Machine.describeCPU(cpuinfo: cpuinfo), "AMD EPYC 9B45 (family 26, model 2)")
        XCTAssertEqual(Machine.describeCPU(cpuinfo: "processor : 0\nmodel name : Neoverse\n"), "Neoverse")
        XCTAssertNil(Machine.describeCPU(cpuinfo: "processor : 0\n"))
        XCTAssertFalse(Machine.cpuModel.isEmpty)
    }
}
