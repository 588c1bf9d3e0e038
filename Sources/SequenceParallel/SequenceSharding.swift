import Distributed
import TensorCore

/// Sequence parallelism in one place: how the ranks' grid shares each sequence, and every rule
/// that follows from it. With `parallel.seq_parallel: P` the P ranks of a sequence group hold
/// contiguous token blocks of the same examples (`ProcessGrid`); with P = 1 every method is the
/// identity, so the trainer and the evaluator run one code path.
///
/// - `check`: the one statement of what sequence parallelism supports (configuration
///   validation and the model's construction both ask it).
/// - `block`: this rank's tokens of a batch; `positionOffset`: where its block starts.
/// - `countOnce`: the group's ranks saw the same examples, so summed metrics divide by P.
/// - `replicatedBackward`: layers above the group-reduced pooled vector (the head) run on every
///   rank from the same value; their gradient is counted once per group.
/// - `evaluationPadding`: which positions of an evaluation batch only even out the data shards.
/// - `failures`: a collective that fails inside a layer (whose forward cannot throw) is recorded
///   with this rank's number and thrown once the model's forward or backward returns
///   (`throwIfFailed`), instead of ending the job from inside the layer.
public final class SequenceSharding {
    public let grid: ProcessGrid
    /// Errors of collectives run inside this model's sharded layers.
    public let failures: ShardFailures

    public init(grid: ProcessGrid) {
        self.grid = grid
        failures = ShardFailures(rank: grid.world.rank)
    }

    /// The P ranks that share each sequence.
    public var group: Communicator { grid.sequenceGroup }
    /// P.
    public var ranks: Int { grid.sequenceParallel }
    /// Whether sequences are split (P > 1).
    public var isSharded: Bool { ranks > 1 }

    // MARK: - What is supported

    /// What a run asks of sequence parallelism, as `check` needs it.
    public struct Request: Sendable {
        public var ranks: Int
        public var mixer: String
        public var mixerSupported: Bool
        public var supportedMixers: [String]
        public var downsamples: Bool
        public var task: String
        /// Sequence classification (not images, not pairs).
        public var taskSupported: Bool
        public var sequenceLength: Int
        public var maxLength: Int
        /// A learned class token is prepended: the group splits sequence_length + 1 positions.
        public var classToken: Bool

        public init(ranks: Int, mixer: String, mixerSupported: Bool, supportedMixers: [String], downsamples: Bool,
                    task: String, taskSupported: Bool, sequenceLength: Int, maxLength: Int, classToken: Bool = false) {
            (self.ranks, self.mixer, self.mixerSupported, self.supportedMixers) = (ranks, mixer, mixerSupported, supportedMixers)
            (self.downsamples, self.task, self.taskSupported) = (downsamples, task, taskSupported)
            (self.sequenceLength, self.maxLength, self.classToken) = (sequenceLength, maxLength, classToken)
        }
    }

    /// The rules of sequence parallelism: sequence classification with a mixer that has a
    /// sharded form, no Fourier Transformer downsampling, and a fixed length that splits into P
    /// equal blocks (counting the class token, which rank 0's block starts with). (Divisibility a mixer's transforms need beyond that — N by P² for FNet, D by
    /// P for FFTNet — is checked when its layer plans them.) P = 1 asks nothing.
    /// - Throws: `SequenceParallelError` naming `parallel.seq_parallel` and the key at fault.
    public static func check(_ request: Request) throws {
        let p = request.ranks
        guard p != 1 else { return }
        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
            if !condition { throw SequenceParallelError("parallel.seq_parallel \(p): " + message()) }
        }
        try require(p >= 1, "must be at least 1")
        try require(request.mixerSupported, "model.mixer \(request.mixer) is not supported with sequence parallelism ("
                    + request.supportedMixers.joined(separator: " and ") + " are)")
        try require(!request.downsamples, "Fourier Transformer downsampling (model.downsample) is not supported")
        try require(request.taskSupported, "data.task \(request.task) is not supported (sequence classification tasks are)")
        try require(request.sequenceLength == request.maxLength,
                    "data.sequence_length (\(request.sequenceLength)) must equal model.max_length (\(request.maxLength))")
        if request.classToken {
            try require((request.sequenceLength + 1) % p == 0,
                        "data.sequence_length + 1 (\(request.sequenceLength + 1): the tokens and the learned class token of "
                        + "model.pooling cls) is not divisible by \(p)")
        } else {
            try require(request.sequenceLength % p == 0, "data.sequence_length \(request.sequenceLength) is not divisible by \(p)")
        }
    }

    // MARK: - Blocks

    /// This rank's block of every example: `tokens` and `mask` are (batch, length) row-major;
    /// returns the (batch, length/P) block that starts at `positionOffset`. With `classToken`
    /// the model prepends a token on rank 0, so the length + 1 positions split into blocks of
    /// L = (length + 1)/P: rank 0 gets the first L − 1 tokens (the class token completes its
    /// block), rank r > 0 the tokens r·L − 1 ..< (r + 1)·L − 1.
    public func block(tokens: [Int32], mask: [Float], batch: Int, length: Int,
                      classToken: Bool = false) -> (tokens: [Int32], mask: [Float], length: Int) {
        guard isSharded else { return (tokens, mask, length) }
        let lead = classToken ? 1 : 0, positions = (length + lead) / ranks
        let start = group.rank == 0 ? 0 : group.rank * positions - lead
        let local = group.rank == 0 ? positions - lead : positions
        var blockTokens: [Int32] = [], blockMask: [Float] = []
        blockTokens.reserveCapacity(batch * local)
        blockMask.reserveCapacity(batch * local)
        for example in 0..<batch {
            let range = (example * length + start)..<(example * length + start + local)
            blockTokens += tokens[range]
            blockMask += mask[range]
        }
        return (blockTokens, blockMask, local)
    }

    /// The position of this rank's first token in the whole sequence (class token included),
    /// for blocks of `localLength` positions.
    public func positionOffset(localLength: Int) -> Int { group.rank * localLength }

    // MARK: - Counting

    /// Totals summed over the world: each example was counted by each of its group's P ranks.
    public func countOnce(_ totals: inout [Double]) {
        guard isSharded else { return }
        for i in totals.indices { totals[i] /= Double(ranks) }
    }

    /// `backward` of a layer that runs on every rank of the group from the same group-reduced
    /// input: its parameter gradients come out at 1/P on each rank (so the world's sum counts
    /// them once), and the gradient it passes down stays the full value.
    public func replicatedBackward(_ gradient: Tensor, _ backward: (Tensor) -> Tensor) -> Tensor {
        guard isSharded else { return backward(gradient) }
        var shared = gradient
        shared.withUnsafeMutableBufferPointer { Kernels.scale($0, by: 1 / Float(ranks)) }
        var down = backward(shared)
        down.withUnsafeMutableBufferPointer { Kernels.scale($0, by: Float(ranks)) }
        return down
    }

    /// Positions of evaluation batch `number` (of `batchSize` per data rank) that lie past the
    /// split's `total` examples: the sampler repeats examples there to even out the data shards
    /// (local position k of data rank r is global position r + k·D), and they are not counted.
    public func evaluationPadding(batchNumber number: Int, batchSize: Int, count: Int, total: Int) -> [Int] {
        (0..<count).filter { k in grid.dataRank + (number * batchSize + k) * grid.dataParallel >= total }
    }

    // MARK: - Failures

    /// Throws the first failure recorded in this model's sharded layers since the last call.
    public func throwIfFailed() throws { try failures.throwIfFailed() }
}

/// The first error of the collectives run inside sharded layers' forward and backward, which
/// cannot throw. After a failure the layers' later collectives are skipped (their results are
/// discarded: the caller throws), so this rank does not wait on a group that is already broken;
/// the ranks still waiting are ended by the job's abort, or named by the stall watchdog.
public final class ShardFailures {
    public let rank: Int
    private(set) var first: SequenceParallelError?

    public init(rank: Int) { self.rank = rank }

    /// Runs `body` unless a collective failed already; records its error, naming `what`.
    public func collective(_ what: @autoclosure () -> String, _ body: () throws -> Void) {
        guard first == nil else { return }
        do { try body() } catch { first = SequenceParallelError("rank \(rank): \(what()) failed: \(error)") }
    }

    /// Records a failure found by a layer (bad input in a step), unless one is recorded already.
    public func record(_ message: @autoclosure () -> String) {
        if first == nil { first = SequenceParallelError("rank \(rank): \(message())") }
    }

    /// Throws and clears the recorded failure, if any.
    public func throwIfFailed() throws {
        guard let failure = first else { return }
        first = nil
        throw failure
    }
}
