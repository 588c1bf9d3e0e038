import Foundation

/// Builds the batches of one epoch on a background thread, `depth` batches ahead, so that
/// decoding overlaps training.
///
/// One producer thread builds the batches in order and the consumer takes them in order,
/// so the sequence is exactly `Batcher.batchIndices(epoch:)`'s, whatever the timing. An
/// error is delivered in its place in the sequence (and ends the epoch). Dropping the
/// prefetcher stops the thread after the batch it is building.
public final class BatchPrefetcher: Sendable {
    private let queue: PrefetchQueue
    /// Batches this prefetcher will deliver (the epoch's, from `firstBatch` on).
    public let batchCount: Int

    /// Prefetches `epoch`'s batches from `firstBatch` on (a resumed run starts mid-epoch).
    public init(batcher: Batcher, epoch: Int, firstBatch: Int = 0, depth: Int = 2) {
        precondition(depth >= 1, "BatchPrefetcher: depth must be at least 1, got \(depth)")
        let plan = Array(batcher.batchIndices(epoch: epoch).dropFirst(firstBatch))
        let queue = PrefetchQueue(depth: depth, skipBadExamples: batcher.skipBadExamples)
        self.queue = queue
        batchCount = plan.count
        let thread = Thread {
            for indices in plan {
                guard queue.waitForRoom() else { return }
                do {
                    let batch = try queue.withLog { log in try batcher.makeBatch(indices: indices, epoch: epoch, log: &log) }
                    queue.push(.success(batch))
                } catch {
                    queue.push(.failure(error))
                    break
                }
            }
            queue.finish()
        }
        thread.name = "parseval.prefetch"
        thread.start()
    }

    deinit { queue.cancel() }

    /// The next batch, waiting for it if needed; nil after the last one.
    public func next() throws -> Batch? {
        try queue.pop()?.get()
    }

    /// The problems skipped so far under `skipBadExamples`.
    public var badExamples: BadExampleLog { queue.withLog { $0 } }
}

/// The bounded queue between the producer thread and the consumer.
/// `@unchecked Sendable`: every stored property is read and written only while `condition`
/// is locked.
private final class PrefetchQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private let depth: Int
    private var ready: [Result<Batch, any Error>] = []
    private var finished = false
    private var cancelled = false
    private var log: BadExampleLog

    init(depth: Int, skipBadExamples: Bool) {
        self.depth = depth
        log = BadExampleLog(skipBadExamples: skipBadExamples)
    }

    /// Blocks while the queue is full; false once the consumer has gone.
    func waitForRoom() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while ready.count >= depth && !cancelled { condition.wait() }
        return !cancelled
    }

    func push(_ result: Result<Batch, any Error>) {
        condition.lock()
        ready.append(result)
        condition.broadcast()
        condition.unlock()
    }

    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    func pop() -> Result<Batch, any Error>? {
        condition.lock()
        defer { condition.unlock() }
        while ready.isEmpty && !finished { condition.wait() }
        guard !ready.isEmpty else { return nil }
        let first = ready.removeFirst()
        condition.broadcast()
        return first
    }

    /// Runs `body` on a copy of the log and stores it back (the producer's batch building
    /// works on the copy outside the lock; only the producer writes the log).
    func withLog<Result>(_ body: (inout BadExampleLog) throws -> Result) rethrows -> Result {
        condition.lock()
        var copy = log
        condition.unlock()
        let result = try body(&copy)
        condition.lock()
        log = copy
        condition.unlock()
        return result
    }
}
