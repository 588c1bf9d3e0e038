import Dispatch
import Foundation

/// Computes `body(0) … body(count − 1)` on up to `threads` threads (worker w takes w, w + T, …)
/// and returns the results in index order, so the output never depends on the thread count.
func orderedParallelMap<Value: Sendable>(count: Int, threads: Int, _ body: @Sendable (Int) -> Value) -> [Value] {
    let workers = max(1, min(threads, count))
    guard workers > 1 else { return (0..<count).map(body) }
    let slots = ResultSlots<Value>(count: count)
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
        var index = worker
        while index < count {
            slots.store(body(index), at: index)
            index += workers
        }
    }
    return slots.values
}

/// One slot per index. `@unchecked Sendable`: every access holds `lock`.
private final class ResultSlots<Value: Sendable>: @unchecked Sendable {
    private var slots: [Value?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func store(_ value: Value, at index: Int) {
        lock.lock()
        slots[index] = value
        lock.unlock()
    }

    var values: [Value] {
        lock.lock()
        defer { lock.unlock() }
        return slots.map { $0! }
    }
}
