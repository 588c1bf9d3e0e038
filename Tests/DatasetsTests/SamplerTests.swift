import XCTest
import TensorCore
@testable import Datasets

final class SamplerTests: XCTestCase {
    func testShardsCoverEveryExampleOnceWhenEven() {
        for ranks in [2, 3] {
            let count = 12
            let shards = (0..<ranks).map { DistributedSampler(count: count, ranks: ranks, rank: $0, seed: 5).indices(epoch: 3) }
            XCTAssertTrue(shards.allSatisfy { $0.count == count / ranks })
            XCTAssertEqual(shards.flatMap { $0 }.sorted(), Array(0..<count), "ranks \(ranks)")
        }
    }

    func testUnevenCountPadsByRepeatingFromTheStart() {
        for (count, ranks) in [(10, 3), (11, 2), (7, 3), (2, 3)] {
            let samplers = (0..<ranks).map { DistributedSampler(count: count, ranks: ranks, rank: $0, seed: 1) }
            let shards = samplers.map { $0.indices(epoch: 0) }
            let perRank = (count + ranks - 1) / ranks
            XCTAssertTrue(shards.allSatisfy { $0.count == perRank }, "\(count) over \(ranks)")
            // Every example appears; the extras are the first examples of the epoch's order.
            let order = samplers[0].globalOrder(epoch: 0)
            let padded = (0..<(perRank * ranks)).map { order[$0 % count] }
            XCTAssertEqual(shards.flatMap { $0 }.sorted(), padded.sorted())
            XCTAssertEqual(Set(shards.flatMap { $0 }), Set(0..<count))
            // Rank r holds positions r, r + P, … of the padded order.
            for rank in 0..<ranks {
                XCTAssertEqual(shards[rank], stride(from: rank, to: padded.count, by: ranks).map { padded[$0] })
            }
        }
    }

    func testDropLastTruncatesToEqualDisjointShards() {
        for ranks in [2, 3] {
            let count = 11
            let shards = (0..<ranks).map {
                DistributedSampler(count: count, ranks: ranks, rank: $0, seed: 9, dropLast: true).indices(epoch: 1)
            }
            let all = shards.flatMap { $0 }
            XCTAssertTrue(shards.allSatisfy { $0.count == count / ranks })
            XCTAssertEqual(Set(all).count, all.count, "no example twice")
            XCTAssertEqual(all.count, (count / ranks) * ranks)
        }
    }

    func testShuffleDependsOnSeedAndEpochOnly() {
        let sampler = DistributedSampler(count: 50, seed: 4)
        XCTAssertEqual(sampler.globalOrder(epoch: 2), DistributedSampler(count: 50, ranks: 3, rank: 2, seed: 4).globalOrder(epoch: 2))
        XCTAssertNotEqual(sampler.globalOrder(epoch: 2), sampler.globalOrder(epoch: 3))
        XCTAssertNotEqual(sampler.globalOrder(epoch: 2), DistributedSampler(count: 50, seed: 5).globalOrder(epoch: 2))
        XCTAssertEqual(sampler.globalOrder(epoch: 2).sorted(), Array(0..<50))
        XCTAssertEqual(DistributedSampler(count: 5, shuffle: false).indices(epoch: 7), [0, 1, 2, 3, 4])
    }
}

final class BatchingTests: XCTestCase {
    /// Example i has tokens 1...(i % 5 + 1) and label i.
    struct CountingDataset: Dataset {
        let count: Int
        var failing: Set<Int> = []
        func example(at index: Int, random: inout RandomStream) throws -> Example {
            if failing.contains(index) { throw DatasetError(file: "item-\(index).png", "corrupt") }
            return Example(tokens: (1...(index % 5 + 1)).map { Int32($0) }, label: Int32(index))
        }
    }

    func testCollatePadsTruncatesAndMasks() {
        let examples = [Example(tokens: [5, 6], label: 1), Example(tokens: [1, 2, 3, 4, 5], label: 0)]
        let batch = Batch.collate(examples, indices: [8, 9], sequenceLength: 4)
        XCTAssertEqual(batch.tokens, [5, 6, 0, 0, 1, 2, 3, 4])
        XCTAssertEqual(batch.mask, [1, 1, 0, 0, 1, 1, 1, 1])
        XCTAssertEqual(batch.labels, [1, 0])
        XCTAssertEqual(batch.indices, [8, 9])
        XCTAssertNil(batch.pairedTokens)
        let pairs = Batch.collate([Example(tokens: [1], pairedTokens: [2, 3], label: 1)], indices: [0], sequenceLength: 3)
        XCTAssertEqual(pairs.pairedTokens, [2, 3, 0])
        XCTAssertEqual(pairs.pairedMask, [1, 1, 0])
    }

    func testCollateStacksImages() {
        let first = Tensor(shape: [1, 2, 3], values: (0..<6).map(Float.init))
        let second = Tensor(shape: [1, 2, 3], values: (6..<12).map(Float.init))
        let batch = Batch.collate([Example(image: first, label: 0), Example(image: second, label: 1)], indices: [0, 1], sequenceLength: 0)
        XCTAssertEqual(batch.images?.shape, [2, 1, 2, 3])
        XCTAssertEqual(batch.images?.scalars, (0..<12).map(Float.init))
    }

    func testBatchesPerRankAreEqualAndCoverTheShard() throws {
        let dataset = CountingDataset(count: 23)
        for ranks in [2, 3] {
            var counts: [Int] = []
            var seen: [Int] = []
            for rank in 0..<ranks {
                let batcher = Batcher(dataset: dataset, sampler: DistributedSampler(count: 23, ranks: ranks, rank: rank, seed: 2),
                                      batchSize: 4, sequenceLength: 6)
                let plan = batcher.batchIndices(epoch: 0)
                counts.append(plan.count)
                seen += plan.flatMap { $0 }
                XCTAssertEqual(plan.flatMap { $0 }, batcher.sampler.indices(epoch: 0))
            }
            XCTAssertEqual(Set(counts).count, 1, "every rank runs the same number of steps")
            XCTAssertEqual(Set(seen), Set(0..<23))
        }
    }

    func testPrefetcherDeliversTheSameBatchesInOrder() throws {
        let dataset = CountingDataset(count: 37)
        let batcher = Batcher(dataset: dataset, sampler: DistributedSampler(count: 37, ranks: 2, rank: 1, seed: 3),
                              batchSize: 5, sequenceLength: 4, decodeThreads: 2)
        var log = BadExampleLog()
        let expected = try batcher.batchIndices(epoch: 4).map { try batcher.makeBatch(indices: $0, epoch: 4, log: &log) }
        let prefetcher = BatchPrefetcher(batcher: batcher, epoch: 4, depth: 2)
        var delivered: [Batch] = []
        while let batch = try prefetcher.next() { delivered.append(batch) }
        XCTAssertEqual(delivered, expected)
        XCTAssertEqual(delivered.count, prefetcher.batchCount)
        XCTAssertEqual(delivered.last?.size, 19 - 15)
    }

    func testPrefetcherResumesMidEpoch() throws {
        let batcher = Batcher(dataset: CountingDataset(count: 20), sampler: DistributedSampler(count: 20, seed: 1),
                              batchSize: 3, sequenceLength: 5)
        let plan = batcher.batchIndices(epoch: 2)
        let resumed = BatchPrefetcher(batcher: batcher, epoch: 2, firstBatch: 4)
        var indices: [[Int]] = []
        while let batch = try resumed.next() { indices.append(batch.indices) }
        XCTAssertEqual(resumed.batchCount, plan.count - 4)
        XCTAssertEqual(indices, Array(plan.dropFirst(4)))
    }

    func testPrefetcherDeliversErrorsInPlaceAndSkipsWhenAsked() throws {
        let dataset = CountingDataset(count: 12, failing: [6])
        let strict = Batcher(dataset: dataset, sampler: DistributedSampler(count: 12, shuffle: false), batchSize: 4, sequenceLength: 4)
        let prefetcher = BatchPrefetcher(batcher: strict, epoch: 0)
        XCTAssertEqual(try prefetcher.next()?.indices, [0, 1, 2, 3])
        assertDatasetError(["item-6.png", "corrupt"]) { try prefetcher.next() }
        XCTAssertNil(try prefetcher.next())

        let lenient = Batcher(dataset: dataset, sampler: DistributedSampler(count: 12, shuffle: false), batchSize: 4,
                              sequenceLength: 4, skipBadExamples: true)
        let skipping = BatchPrefetcher(batcher: lenient, epoch: 0)
        var sizes: [Int] = []
        while let batch = try skipping.next() { sizes.append(batch.size) }
        XCTAssertEqual(sizes, [4, 3, 4])
        XCTAssertEqual(skipping.badExamples.count, 1)
        XCTAssertEqual(skipping.badExamples.skipped.first?.file, "item-6.png")
    }

    func testAbandonedPrefetcherStops() throws {
        let batcher = Batcher(dataset: CountingDataset(count: 1000), sampler: DistributedSampler(count: 1000), batchSize: 2, sequenceLength: 2)
        var prefetcher: BatchPrefetcher? = BatchPrefetcher(batcher: batcher, epoch: 0, depth: 1)
        XCTAssertNotNil(try prefetcher?.next())
        prefetcher = nil   // must not hang or crash
        XCTAssertNil(prefetcher)
    }
}
