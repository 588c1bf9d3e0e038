import TensorCore

/// Which examples each rank sees in an epoch, with the semantics of PyTorch's
/// `torch.utils.data.DistributedSampler`.
///
/// 1. Order: `0..<count`, or with `shuffle` a permutation drawn from
///    `RandomStream(seed: seed).derived(epoch)` (so every rank draws the same one).
/// 2. Without `dropLast`, the order is padded to `ranks · ceil(count / ranks)` by repeating
///    it from the start (the first examples appear twice); with `dropLast` it is truncated to
///    `ranks · floor(count / ranks)`.
/// 3. Rank r takes positions r, r + P, r + 2P, … (`indices[r::P]`).
///
/// Every rank therefore gets exactly `samplesPerRank` indices and runs the same number of
/// steps, which collectives need to avoid deadlock.
public struct DistributedSampler: Sendable, Equatable {
    /// Examples in the dataset.
    public let count: Int
    /// P, the number of ranks sharing the dataset.
    public let ranks: Int
    /// This rank, in 0..<ranks.
    public let rank: Int
    /// Shuffle each epoch (training) or keep the dataset order (evaluation).
    public let shuffle: Bool
    /// Seed of the shuffle; every rank must use the same one.
    public let seed: UInt64
    /// Truncate to equal shards instead of padding by repetition.
    public let dropLast: Bool

    public init(count: Int, ranks: Int = 1, rank: Int = 0, shuffle: Bool = true, seed: UInt64 = 0, dropLast: Bool = false) {
        precondition(count >= 0, "DistributedSampler: negative example count \(count)")
        precondition(ranks >= 1 && rank >= 0 && rank < ranks, "DistributedSampler: rank \(rank) is not in 0..<\(ranks)")
        self.count = count
        self.ranks = ranks
        self.rank = rank
        self.shuffle = shuffle
        self.seed = seed
        self.dropLast = dropLast
    }

    /// How many indices every rank gets per epoch.
    public var samplesPerRank: Int {
        dropLast ? count / ranks : (count + ranks - 1) / ranks
    }

    /// The epoch's order before sharding, identical on every rank.
    public func globalOrder(epoch: Int) -> [Int] {
        guard shuffle else { return Array(0..<count) }
        var random = RandomStream(seed: seed).derived(UInt64(epoch))
        return random.permutation(count)
    }

    /// This rank's indices for `epoch`.
    public func indices(epoch: Int) -> [Int] {
        let order = globalOrder(epoch: epoch)
        let total = samplesPerRank * ranks
        guard !order.isEmpty else { return [] }
        var result: [Int] = []
        result.reserveCapacity(samplesPerRank)
        var position = rank
        while position < total {
            result.append(order[position % order.count])   // positions past the end repeat from the start
            position += ranks
        }
        return result
    }
}
