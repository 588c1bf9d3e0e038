/// The 2-D grid of ranks for sequence parallelism: `dataParallel × sequenceParallel`.
///
/// World ranks `[g·P, (g+1)·P)` form sequence group g (contiguous ranks, so that a group sits
/// on as few machines as possible); rank r holds token block `r mod P` of every sequence of
/// its data shard. The ranks with the same position in their sequence group form a data
/// group. Made with `MPI_Comm_split`; collective over the world.
public final class ProcessGrid {
    public let world: Communicator
    /// The P ranks that share each sequence (P = 1: this rank alone).
    public let sequenceGroup: Communicator
    /// The ranks that hold the same token block of different data shards.
    public let dataGroup: Communicator

    /// P, ranks per sequence.
    public var sequenceParallel: Int { sequenceGroup.size }
    /// World size / P, the number of data shards.
    public var dataParallel: Int { dataGroup.size }
    /// This rank's data shard (its sequence group's index).
    public var dataRank: Int { dataGroup.rank }

    /// - Throws: `ProcessGridError` when the world size is not divisible by `sequenceParallel`.
    public init(world: Communicator, sequenceParallel: Int) throws {
        guard sequenceParallel >= 1 && world.size % sequenceParallel == 0 else {
            throw ProcessGridError(
                "parallel.seq_parallel \(sequenceParallel) does not divide the \(world.size) ranks of the job "
                + "(ranks must be data_parallel × seq_parallel)")
        }
        self.world = world
        sequenceGroup = try world.split(color: world.rank / sequenceParallel, key: world.rank)
        dataGroup = try world.split(color: world.rank % sequenceParallel, key: world.rank)
    }
}

/// A grid that cannot be laid over the job's ranks.
public struct ProcessGridError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) { self.description = description }
}
