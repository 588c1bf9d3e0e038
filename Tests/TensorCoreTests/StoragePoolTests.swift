import TensorCore
import XCTest

final class StoragePoolTests: XCTestCase {
    func testSizeClassesRoundUpWithBoundedSlack() {
        XCTAssertEqual(StoragePool.sizeClass(1), 64)
        XCTAssertEqual(StoragePool.sizeClass(64), 64)
        XCTAssertEqual(StoragePool.sizeClass(65), 128)
        XCTAssertEqual(StoragePool.sizeClass(4096), 4096)
        XCTAssertEqual(StoragePool.sizeClass(4097), 4608)        // 4096 + 4096/8
        XCTAssertEqual(StoragePool.sizeClass(1 << 20), 1 << 20)  // powers of two are classes
        var previous = 0
        for bytes in stride(from: 1, to: 50_000_000, by: 9_973) {
            let size = StoragePool.sizeClass(bytes)
            XCTAssertGreaterThanOrEqual(size, bytes)
            XCTAssertLessThanOrEqual(Double(size), max(Double(bytes) * 1.125, 64), "\(bytes) bytes → class \(size)")
            XCTAssertEqual(size % 64, 0, "classes keep 64-byte alignment")
            XCTAssertGreaterThanOrEqual(size, previous, "classes are monotone")
            previous = size
        }
    }

    func testFreedStorageServesTheNextRequestOfItsClass() {
        var address: UnsafePointer<Float>?
        do {
            let first = Tensor(zeros: [300_000])
            address = first.storageAddress
        }
        let before = StoragePool.statistics
        let second = Tensor(zeros: [299_990])  // same size class
        let after = StoragePool.statistics
        XCTAssertEqual(second.storageAddress, address, "the cached block must be reused")
        XCTAssertEqual(after.hits - before.hits, 1)
        XCTAssertEqual(after.misses, before.misses)
        XCTAssertTrue(second.scalars.allSatisfy { $0 == 0 }, "a reused block is zeroed for Tensor(zeros:)")
    }

    func testUninitializedTensorsArePoisonedInDebugBuilds() {
        do { _ = Tensor(shape: [1000], repeating: 7) }
        let t = Tensor(uninitialized: [1000])
        XCTAssertEqual(t.count, 1000)
        XCTAssertEqual(Int(bitPattern: t.storageAddress) % 64, 0)
        #if DEBUG
        XCTAssertTrue(t.scalars.allSatisfy(\.isNaN), "unwritten elements must read as NaN in debug builds")
        #endif
    }

    func testReservedMemoryIsBoundedByTwiceTheLiveHighWaterMark() {
        StoragePool.releaseCached()
        // Tensors of ever new classes, each freed at once, adding up to twice the high water.
        let highWater = StoragePool.statistics.liveHighWaterBytes
        var churned = 0, elements = 1 << 16
        while churned < 3 * highWater + (64 << 20) {
            _ = Tensor(uninitialized: [elements])
            churned += StoragePool.sizeClass(4 * elements)
            elements += elements / 7 + 1
        }
        let statistics = StoragePool.statistics
        XCTAssertGreaterThan(statistics.cachedBytes, 0)
        XCTAssertLessThanOrEqual(statistics.reservedBytes, 2 * statistics.liveHighWaterBytes,
                                 "the pool must not reserve more than twice the live high-water mark")
        XCTAssertEqual(StoragePool.releaseCached(), statistics.cachedBytes)
        XCTAssertEqual(StoragePool.statistics.cachedBytes, 0)
    }
}
