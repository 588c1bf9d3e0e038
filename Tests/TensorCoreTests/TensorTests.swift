import ParsevalTestSupport
import TensorCore
import XCTest

final class TensorTests: XCTestCase {
    func testCopyOnWriteKeepsValueSemantics() {
        var a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let b = a
        a[1, 2] = 60
        XCTAssertEqual(a[1, 2], 60)
        XCTAssertEqual(b[1, 2], 6, "mutating a copy must not change the original")
        XCTAssertFalse(a.storage === b.storage)
    }

    func testUniqueStorageIsMutatedInPlace() {
        var a = Tensor(zeros: [4])
        let before = a.storage.pointer  // the address only: holding the storage would share it
        a.withUnsafeMutableBufferPointer { $0[0] = 1 }
        XCTAssertEqual(a.storage.pointer, before, "a uniquely referenced tensor must not be copied")
    }

    func testReshapeSharesStorageAndChecksCount() {
        let a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let b = a.reshaped([3, 2])
        XCTAssertTrue(a.storage === b.storage)
        XCTAssertEqual(b[2, 1], 6)
        XCTAssertEqual(b.rank, 2)
    }

    func testStorageIsAlignedAndZeroed() {
        for count in [1, 3, 17, 1000] {
            let t = Tensor(zeros: [count])
            XCTAssertEqual(Int(bitPattern: t.storage.pointer) % 64, 0)
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
        let cores = ProcessInfo.processInfo.activeProcessorCount
        XCTAssertEqual(Threading.defaultCount(environment: ["OMPI_COMM_WORLD_LOCAL_SIZE": "\(cores)"]), 1)
        XCTAssertEqual(Threading.defaultCount(environment: ["PARSEVAL_THREADS": "zero"]), cores)
    }
}
