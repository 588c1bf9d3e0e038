import TensorCore

/// Cuts this rank's share of an epoch into batches and builds each one.
///
/// The rank's indices come from `sampler`; batch k holds indices `k·B ..< (k+1)·B`. Every rank
/// has the same number of indices, hence the same number of batches. Example i of epoch e is
/// built with the random stream `RandomStream(seed: seed).derived(e, i)`, so augmentation
/// does not depend on the rank count, the batch size, or which thread decodes it.
///
/// With `skipBadExamples`, an example that fails to load is left out of its batch (which is
/// then smaller) and recorded; otherwise the first failure is thrown.
public struct Batcher: Sendable {
    /// Where examples come from.
    public let dataset: any Dataset
    /// Which indices this rank takes each epoch.
    public let sampler: DistributedSampler
    /// Examples per batch on this rank.
    public let batchSize: Int
    /// N: token sequences are padded or truncated to this length (ignored for image batches).
    public let sequenceLength: Int
    /// Drop the final batch when it is smaller than `batchSize`.
    public let dropLastBatch: Bool
    /// Leave examples that fail to load out of their batch (recorded) instead of throwing.
    public let skipBadExamples: Bool
    /// Seed of the augmentation streams.
    public let seed: UInt64
    /// Threads decoding one batch's examples in parallel (1 = the calling thread only).
    public let decodeThreads: Int

    public init(dataset: any Dataset, sampler: DistributedSampler, batchSize: Int, sequenceLength: Int,
                dropLastBatch: Bool = false, skipBadExamples: Bool = false, seed: UInt64 = 0, decodeThreads: Int = 1) {
        precondition(batchSize >= 1, "Batcher: batch size must be at least 1, got \(batchSize)")
        precondition(sampler.count == dataset.count,
                     "Batcher: sampler covers \(sampler.count) examples, dataset has \(dataset.count)")
        self.dataset = dataset
        self.sampler = sampler
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        self.dropLastBatch = dropLastBatch
        self.skipBadExamples = skipBadExamples
        self.seed = seed
        self.decodeThreads = max(1, decodeThreads)
    }

    /// Batches per epoch on every rank.
    public var batchesPerEpoch: Int {
        let samples = sampler.samplesPerRank
        return dropLastBatch ? samples / batchSize : (samples + batchSize - 1) / batchSize
    }

    /// The dataset indices of each batch of `epoch` on this rank.
    public func batchIndices(epoch: Int) -> [[Int]] {
        let indices = sampler.indices(epoch: epoch)
        return (0..<batchesPerEpoch).map { number in
            Array(indices[(number * batchSize)..<min(indices.count, (number + 1) * batchSize)])
        }
    }

    /// Loads and collates the examples at `indices`; skipped problems go into `log`.
    public func makeBatch(indices: [Int], epoch: Int, log: inout BadExampleLog) throws -> Batch {
        let results = loadExamples(indices, epoch: epoch)
        var examples: [Example] = []
        var kept: [Int] = []
        for (index, result) in zip(indices, results) {
            switch result {
            case .success(let example):
                examples.append(example)
                kept.append(index)
            case .failure(let error as DatasetError):
                try log.handle(error)
            case .failure(let error):
                try log.handle(DatasetError(file: "example \(index)", "\(error)"))
            }
        }
        return Batch.collate(examples, indices: kept, sequenceLength: sequenceLength)
    }

    private func loadExamples(_ indices: [Int], epoch: Int) -> [Result<Example, any Error>] {
        let base = RandomStream(seed: seed)
        let dataset = self.dataset
        return orderedParallelMap(count: indices.count, threads: decodeThreads) { position in
            var random = base.derived(UInt64(epoch), UInt64(indices[position]))
            return Result { try dataset.example(at: indices[position], random: &random) }
        }
    }
}
