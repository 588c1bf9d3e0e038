import Synchronization

/// A caching allocator for tensor storage: freed blocks wait in per-size-class free lists and
/// serve the next request of their class, so a training step that repeats the previous step's
/// allocations takes every block from the cache — no malloc, no page faults, no heap growth.
///
/// Why: glibc serves each large activation from the heap or a fresh mmap; steps allocate in a
/// different interleaving each time, the heap fragments, and it kept growing by 64 MB at a
/// time with the kernel zeroing every new page (`clear_page_erms`, 12–16% of the FFTNet step
/// in `perf`). PyTorch's CUDA caching allocator is the model; this is its CPU analogue.
///
/// Size classes: requests round up to 64 bytes up to 4 KiB, then to eight classes per power of
/// two (at most 12.5% slack). Bounded: the pool reserves (live + cached) at most twice the largest
/// live total seen so far; beyond that the blocks cached longest ago are freed. A step needs a
/// little more than its peak (the classes live at different moments differ: 892 MB reserved for
/// an 877 MB peak in the FNet step), and an evaluation with other batch shapes adds its own
/// classes; twice the peak covers both. `releaseCached()` empties the cache.
public enum StoragePool {
    struct State: ~Copyable {
        /// Size class → cached blocks, oldest first: (address, when given back). Addresses
        /// rather than pointers keep the state Sendable.
        var free: [Int: [(address: UInt, stamp: Int)]] = [:]
        var clock = 0
        var cachedBytes = 0
        var liveBytes = 0
        var liveHighWater = 0
        var hits = 0
        var misses = 0
    }

    static let state = Mutex(State())
    static let alignment = 64

    /// The capacity a request of `bytes` is served with.
    public static func sizeClass(_ bytes: Int) -> Int {
        let bytes = max(bytes, 1)
        if bytes <= 4096 { return (bytes + 63) & ~63 }
        let power = 1 << (Int.bitWidth - 1 - (bytes - 1).leadingZeroBitCount)  // ≤ bytes - 1 < 2·power
        let step = power / 8
        return (bytes + step - 1) / step * step
    }

    /// A block of at least `bytes`, and its capacity (pass both back to `give`).
    static func take(_ bytes: Int) -> (UnsafeMutableRawPointer, Int) {
        let capacity = sizeClass(bytes)
        let cached: UInt? = state.withLock { state in
            state.liveBytes += capacity
            state.liveHighWater = max(state.liveHighWater, state.liveBytes)
            if let block = state.free[capacity]?.popLast() {
                state.cachedBytes -= capacity
                state.hits += 1
                return block.address
            }
            state.misses += 1
            return nil
        }
        if let cached { return (UnsafeMutableRawPointer(bitPattern: cached)!, capacity) }
        return (UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: alignment), capacity)
    }

    /// Returns a block from `take` to the cache; when that would take the reserved total past
    /// twice the live high-water mark, the blocks given back longest ago are freed first
    /// (classes a changed shape left behind go; the classes every step uses stay).
    static func give(_ block: UnsafeMutableRawPointer, capacity: Int) {
        let evicted: [UInt] = state.withLock { state in
            state.liveBytes -= capacity
            state.clock += 1
            state.free[capacity, default: []].append((UInt(bitPattern: block), state.clock))
            state.cachedBytes += capacity
            var evicted: [UInt] = []
            while state.liveBytes + state.cachedBytes > 2 * state.liveHighWater {
                guard let (size, _) = state.free.lazy.compactMap({ size, blocks in blocks.first.map { (size, $0.stamp) } })
                    .min(by: { $0.1 < $1.1 }) else { break }
                evicted.append(state.free[size]!.removeFirst().address)
                state.cachedBytes -= size
            }
            return evicted
        }
        for address in evicted { UnsafeMutableRawPointer(bitPattern: address)!.deallocate() }
    }

    /// Frees every cached block back to the system allocator; returns the bytes freed.
    @discardableResult
    public static func releaseCached() -> Int {
        let (blocks, bytes) = state.withLock { state -> ([UInt], Int) in
            let blocks = state.free.values.flatMap { $0.map(\.address) }
            let bytes = state.cachedBytes
            state.free = [:]
            state.cachedBytes = 0
            return (blocks, bytes)
        }
        for block in blocks { UnsafeMutableRawPointer(bitPattern: block)!.deallocate() }
        return bytes
    }

    /// A snapshot of the pool's counters.
    public struct Statistics: Sendable, Equatable {
        /// Requests served from the cache.
        public var hits: Int
        /// Requests that went to the system allocator.
        public var misses: Int
        /// Bytes held by live blocks (capacities, so ≥ `MemoryStatistics.current`).
        public var liveBytes: Int
        /// Bytes held in the cache, free for reuse.
        public var cachedBytes: Int
        /// The largest `liveBytes` seen: the pool never reserves more than twice this.
        public var liveHighWaterBytes: Int
        /// Live plus cached: what the pool holds from the system.
        public var reservedBytes: Int { liveBytes + cachedBytes }
    }

    public static var statistics: Statistics {
        state.withLock { Statistics(hits: $0.hits, misses: $0.misses, liveBytes: $0.liveBytes, cachedBytes: $0.cachedBytes,
                   liveHighWaterBytes: $0.liveHighWater) }
    }
}
