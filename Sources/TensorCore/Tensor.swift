import Synchronization

/// Bytes held by live tensor storage in this process, and the high-water mark.
/// `parseval bench` reports the peak; `resetPeak()` starts a new measurement window.
public enum MemoryStatistics {
    static let liveBytes = Atomic<Int>(0)
    static let peakBytes = Atomic<Int>(0)

    /// Bytes currently held by tensor storage.
    public static var current: Int { liveBytes.load(ordering: .relaxed) }
    /// The largest value `current` has had since the process started or `resetPeak()`.
    public static var peak: Int { peakBytes.load(ordering: .relaxed) }
    /// Starts a new peak window at the current level.
    public static func resetPeak() { peakBytes.store(current, ordering: .relaxed) }

    static func allocated(_ bytes: Int) {
        let now = liveBytes.add(bytes, ordering: .relaxed).newValue
        var seen = peakBytes.load(ordering: .relaxed)
        while now > seen {
            let (exchanged, original) = peakBytes.compareExchange(
                expected: seen, desired: now, ordering: .relaxed)
            if exchanged { break }
            seen = original
        }
    }
    static func released(_ bytes: Int) { liveBytes.subtract(bytes, ordering: .relaxed) }
}

/// A 64-byte-aligned buffer of Float32 values, taken from `StoragePool` and given back to it.
///
/// 64-byte alignment satisfies FFTW's SIMD alignment and keeps rows cache-line aligned.
/// A storage either backs a `Tensor` (whose `storage` is internal to TensorCore and written
/// only through its mutating accessors, which copy first unless the storage is uniquely
/// referenced) or stands alone as a reference-type buffer with one owner: `ParameterArena`'s
/// values and gradients, optimizer moments, FFT and transpose plan scratch.
/// `@unchecked Sendable`: copy-on-write keeps two threads from writing a tensor's storage
/// through value semantics; a standalone buffer's owner orders its own writes.
public final class TensorStorage: @unchecked Sendable {
    /// The first element. Package-only, so code outside Parseval cannot write around
    /// copy-on-write; in the package, writing through it is for standalone storage (the
    /// owner's buffer, shared with no `Tensor`) and for `Tensor`'s own accessors.
    package let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    let capacity: Int

    /// Zero-filled storage, or with `zeroed: false` storage whose contents are unspecified
    /// (NaN in debug builds, so a reader of an unwritten element fails tests loudly).
    public init(count: Int, zeroed: Bool = true) {
        precondition(count >= 0, "TensorStorage: negative element count \(count)")
        let elements = max(count, 1)
        let (raw, capacity) = StoragePool.take(elements * MemoryLayout<Float>.stride)
        pointer = raw.bindMemory(to: Float.self, capacity: elements)
        self.capacity = capacity
        self.count = count
        if zeroed {
            pointer.update(repeating: 0, count: elements)
        } else {
            #if DEBUG
            pointer.update(repeating: .nan, count: elements)
            #endif
        }
        MemoryStatistics.allocated(elements * MemoryLayout<Float>.stride)
    }

    deinit {
        MemoryStatistics.released(max(count, 1) * MemoryLayout<Float>.stride)
        StoragePool.give(UnsafeMutableRawPointer(pointer), capacity: capacity)
    }

    func copy() -> TensorStorage {
        let fresh = TensorStorage(count: count, zeroed: false)
        fresh.pointer.update(from: pointer, count: count)
        return fresh
    }
}

/// A dense, row-major Float32 tensor with value semantics (copy-on-write storage).
///
/// Complex data is stored as interleaved (re, im) pairs exactly like `fftwf_complex`:
/// a complex tensor of logical shape `[a, b]` is a `Tensor` of shape `[a, b, 2]`.
public struct Tensor: Sendable {
    public private(set) var shape: [Int]
    /// Internal: other modules reach the values only through `withUnsafeBufferPointer`,
    /// `withUnsafeMutableBufferPointer` (copy-on-write) and `withUnsafeBufferPointers`.
    private(set) var storage: TensorStorage

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.shape = shape
        storage = TensorStorage(count: Tensor.elementCount(shape))
    }

    /// A shared zero-element placeholder, for layers to drop what they kept for backward
    /// without allocating.
    public static let empty = Tensor(zeros: [0])

    /// A tensor whose values are unspecified until written (NaN in debug builds): for outputs
    /// that a kernel overwrites entirely, so they skip the zero-fill pass.
    public init(uninitialized shape: [Int]) {
        self.shape = shape
        storage = TensorStorage(count: Tensor.elementCount(shape), zeroed: false)
    }

    /// A tensor filled with `value`.
    public init(shape: [Int], repeating value: Float) {
        self.init(uninitialized: shape)
        storage.pointer.update(repeating: value, count: max(count, 1))
    }

    /// A tensor holding `values` in row-major order; `values.count` must match `shape`.
    public init(shape: [Int], values: [Float]) {
        precondition(values.count == Tensor.elementCount(shape),
                     "Tensor: \(values.count) values for shape \(shape) (\(Tensor.elementCount(shape)) expected)")
        self.init(uninitialized: shape)
        values.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    public static func elementCount(_ shape: [Int]) -> Int {
        shape.reduce(1) { product, dim in
            precondition(dim >= 0, "Tensor: negative dimension in shape \(shape)")
            return product * dim
        }
    }

    public var count: Int { storage.count }
    public var rank: Int { shape.count }

    /// The values in row-major order.
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: storage.pointer, count: count)) }

    /// The same values under another shape with the same element count (storage is shared).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(Tensor.elementCount(newShape) == count,
                     "Tensor.reshaped: shape \(newShape) does not hold \(count) elements of \(shape)")
        var result = self
        result.shape = newShape
        return result
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// Mutable access; copies the storage first if it is shared with another tensor.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        try body(uniqueBuffer())
    }

    /// The values for writing, after copying the storage if another tensor shares it. Valid
    /// while this tensor is neither mutated nor released, so callers scope it to a closure
    /// (`withUnsafeMutableBufferPointer`, `Tensor.withUnsafeBufferPointers`).
    mutating func uniqueBuffer() -> UnsafeMutableBufferPointer<Float> {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        return UnsafeMutableBufferPointer(start: storage.pointer, count: count)
    }

    /// Element at a flat row-major index.
    public subscript(flat index: Int) -> Float {
        get {
            precondition(index >= 0 && index < count, "Tensor: flat index \(index) out of range 0..<\(count)")
            return storage.pointer[index]
        }
        set {
            precondition(index >= 0 && index < count, "Tensor: flat index \(index) out of range 0..<\(count)")
            withUnsafeMutableBufferPointer { $0[index] = newValue }
        }
    }

    /// Element at a multi-dimensional index (for tests and setup code, not hot loops).
    public subscript(_ indices: Int...) -> Float {
        get { self[flat: flatIndex(indices)] }
        set { self[flat: flatIndex(indices)] = newValue }
    }

    func flatIndex(_ indices: [Int]) -> Int {
        precondition(indices.count == shape.count, "Tensor: \(indices.count) indices for rank \(shape.count)")
        var flat = 0
        for (index, dim) in zip(indices, shape) {
            precondition(index >= 0 && index < dim, "Tensor: index \(indices) out of range for shape \(shape)")
            flat = flat * dim + index
        }
        return flat
    }
}

extension Tensor: Equatable {
    /// Shapes equal and values equal bit for bit (NaN equals NaN with the same bits).
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        guard lhs.shape == rhs.shape else { return false }
        if lhs.storage === rhs.storage { return true }
        for i in 0..<lhs.count where lhs.storage.pointer[i].bitPattern != rhs.storage.pointer[i].bitPattern {
            return false
        }
        return true
    }
}
