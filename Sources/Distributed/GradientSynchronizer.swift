import Parameters
import TensorCore

/// Data-parallel gradient averaging in buckets, overlapped with backward (PyTorch DDP's
/// scheme, docs/distributed.md).
///
/// The arena lays parameters out in reverse registration order, so backward finalises
/// gradients from the front of the buffer to the back. Buckets are contiguous ranges of
/// whole parameters: the first `firstBucketBytes` (1 MB), then `bucketBytes` (25 MB) each.
/// The model reports, after each layer's backward, the registration index from which every
/// parameter's gradient is final (`gradientsReady(from:)`); each bucket that is then fully
/// final starts an `MPI_Iallreduce` at once, always in bucket order on every rank.
/// `finish()` starts the rest, waits for all, and divides by `averagingRanks`: the number of
/// ranks, or with sequence parallelism the number of data-parallel groups (each sequence
/// group's ranks hold partial gradients that add up to their shard's gradient).
public final class GradientSynchronizer {
    public let communicator: Communicator
    public let arena: ParameterArena
    /// Float ranges [start, end) of the buckets, front to back.
    public let buckets: [Range<Int>]
    /// The divisor of the summed gradients (default: every rank of the communicator).
    public let averagingRanks: Int
    var requests: [AllreduceRequest] = []
    var readyFloats = 0
    /// Seconds spent inside this synchronizer since `resetTimes()`: starting and testing buckets
    /// during backward, and `finish()`'s wait after it — the communication the step did not hide.
    public private(set) var exposedSeconds = 0.0

    public func resetTimes() { exposedSeconds = 0 }

    func timed<T>(_ body: () throws -> T) rethrows -> T {
        let start = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - start
            exposedSeconds += Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        }
        return try body()
    }

    public init(communicator: Communicator, arena: ParameterArena,
                bucketBytes: Int = 25 << 20, firstBucketBytes: Int = 1 << 20, averagingRanks: Int? = nil) {
        self.communicator = communicator
        self.averagingRanks = averagingRanks ?? communicator.size
        self.arena = arena
        // Parameter boundaries in layout order (front of the buffer first).
        let layout = arena.entries.sorted { $0.offset < $1.offset }
        var buckets: [Range<Int>] = []
        var start = 0, end = 0
        for entry in layout {
            end = entry.offset + entry.count
            let limit = (buckets.isEmpty ? firstBucketBytes : bucketBytes) / MemoryLayout<Float>.stride
            if end - start >= limit {
                buckets.append(start..<end)
                start = end
            }
        }
        if end > start { buckets.append(start..<end) }
        self.buckets = buckets
    }

    /// Call before each backward whose gradients are to be averaged.
    public func begin() {
        precondition(requests.isEmpty, "GradientSynchronizer: begin() while a previous step is in flight")
        readyFloats = 0
    }

    /// Every parameter registered at index ≥ `firstReadyParameter` has its final gradient.
    public func gradientsReady(from firstReadyParameter: Int) throws {
        guard communicator.size > 1 else { return }
        // Registration index i lives at offsets [offset_i, offset_i + count_i); parameters
        // registered after it lie in front of it, so everything before its end is final.
        let boundary = firstReadyParameter >= arena.entries.count ? 0
            : arena.entries[firstReadyParameter].offset + arena.entries[firstReadyParameter].count
        readyFloats = max(readyFloats, boundary)
        try timed {
            try startReadyBuckets()
            for request in requests { try request.test() }  // let MPI make progress
        }
    }

    func startReadyBuckets() throws {
        while requests.count < buckets.count && buckets[requests.count].upperBound <= readyFloats {
            let range = buckets[requests.count]
            let buffer = UnsafeMutableBufferPointer(rebasing: arena.sharedGradients[range])
            requests.append(try communicator.startAllreduce(buffer))
        }
    }

    /// Starts any remaining buckets, waits for every one, and divides by `averagingRanks`.
    public func finish() throws {
        guard communicator.size > 1 else { return }
        readyFloats = arena.gradients.count
        try timed {
            try startReadyBuckets()
            for request in requests { try request.wait() }
        }
        requests.removeAll()
        Kernels.scale(arena.sharedGradients, by: 1 / Float(averagingRanks))
    }

    /// The same bucketed all-reduce of the whole gradient with nothing to overlap: every bucket
    /// started at once, then waited for. Returns its seconds (what overlap can hide at most).
    public func allreduceAlone() throws -> Double {
        guard communicator.size > 1 else { return 0 }
        precondition(requests.isEmpty, "GradientSynchronizer: allreduceAlone() while a step is in flight")
        let start = ContinuousClock.now
        for range in buckets {
            requests.append(try communicator.startAllreduce(
                UnsafeMutableBufferPointer(rebasing: arena.sharedGradients[range])))
        }
        for request in requests { try request.wait() }
        requests.removeAll()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}

