#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// Keeps the input being parsed where a crash cannot lose it. Before each input the fuzzer
/// copies it into a buffer allocated once (`arm`); a trap (a Swift runtime failure is `ud2`,
/// SIGILL), a fault (SIGSEGV, SIGBUS, SIGFPE, a stack overflow on the alternate stack) or an
/// abort (SIGABRT, SIGTRAP) runs `handleCrash`, which writes the buffer to
/// `OUT/crash-TARGET-SEED-N` with nothing but open(2), write(2) and close(2) — async-signal-safe:
/// no allocation, no locks — restores the handler it replaced (Swift's backtracer, which then
/// prints where it trapped) and lets the signal take its course. A watchdog thread turns an
/// input that runs longer than the timeout into `OUT/hang-TARGET-SEED-N` and aborts the process.
///
/// One campaign at a time per process: the state is global because a signal handler can reach
/// nothing else.
public enum FuzzCrashGuard {
    /// The largest input the buffer holds; the mutator cuts its inputs to this.
    public static let capacity = 1 << 20

    /// Installs the handlers and starts the watchdog (once per process); later calls only
    /// change the folder, names and timeout.
    public static func install(folder: String, target: String, seed: UInt64, timeoutMilliseconds: Int) {
        let prefix = Array("\(folder)/".utf8)
        let name = Array("-\(target)-\(seed)-".utf8)
        precondition(prefix.count + name.count + 32 < FuzzGuardMemory.pathCapacity, "FuzzCrashGuard: output folder path too long")
        disarm()
        let memory = FuzzGuardMemory.shared
        memory.folder.update(from: prefix, count: prefix.count)
        memory.folderLength = prefix.count
        memory.name.update(from: name, count: name.count)
        memory.nameLength = name.count
        guardTimeout.store(UInt64(max(timeoutMilliseconds, 1)) * 1_000_000, ordering: .relaxed)
        guard !guardInstalled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // An alternate stack, so that a stack overflow (deep recursion in a parser) still reaches the handler.
        var stack = stack_t()
        stack.ss_sp = UnsafeMutableRawPointer(memory.alternateStack)
        stack.ss_size = FuzzGuardMemory.alternateStackSize
        stack.ss_flags = 0
        sigaltstack(&stack, nil)
        for signal in FuzzGuardMemory.signals {
            var action = sigaction()
            #if canImport(Glibc)
            action.__sigaction_handler.sa_handler = handleCrash
            #else
            action.__sigaction_u.__sa_handler = handleCrash
            #endif
            action.sa_flags = Int32(SA_ONSTACK)
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, memory.previous + Int(signal))
        }
        let watchdog = Thread { watch() }
        watchdog.name = "parseval.fuzz-watchdog"
        watchdog.start()
    }

    /// Input `index` is about to run: copy it where the handlers find it and mark it armed
    /// under a new generation number, which the watchdog times.
    public static func arm(_ input: [UInt8], index: Int) {
        let memory = FuzzGuardMemory.shared
        let count = min(input.count, capacity)
        input.withUnsafeBufferPointer { memory.input.update(from: $0.baseAddress!, count: count) }
        memory.inputLength = count
        memory.index = index
        memory.generation &+= 1
        if memory.generation == 0 { memory.generation = 1 }
        guardArmed.store(memory.generation, ordering: .releasing)
    }

    /// The input finished (returned or threw): nothing to save if the process dies now.
    public static func disarm() {
        guardArmed.store(0, ordering: .releasing)
    }

    /// The watchdog: every 20 ms, looks at which input is armed and asks its `FuzzHangClock`
    /// whether that input has run too long. The input is declared hung only if it is still
    /// armed when the watchdog takes it (compare-exchange on its generation), so an input that
    /// finishes meanwhile is never blamed.
    static func watch() {
        var clock = FuzzHangClock()
        while true {
            usleep(20_000)
            let generation = guardArmed.load(ordering: .acquiring)
            guard clock.observe(generation: generation, now: DispatchTime.now().uptimeNanoseconds,
                                timeout: guardTimeout.load(ordering: .relaxed)),
                  guardArmed.compareExchange(expected: generation, desired: 0, ordering: .acquiringAndReleasing).exchanged else {
                continue
            }
            let memory = FuzzGuardMemory.shared
            let path = String(decoding: UnsafeBufferPointer(start: memory.path, count: memory.writeInput(kind: "hang")), as: UTF8.self)
            FileHandle.standardError.write(Data(("parseval fuzz: input \(memory.index) ran past "
                + "\(guardTimeout.load(ordering: .relaxed) / 1_000_000) ms; saved to \(path); aborting\n").utf8))
            abort()
        }
    }
}

/// The watchdog's judgement, apart from its thread: an armed input (its generation, never 0) is
/// timed from the first observation that saw it, on the watchdog's own clock only. Comparing the
/// watchdog's clock with a start time written by the fuzzing thread raced: a start written
/// between the watchdog's `now` and its load made the difference negative, which wrapped to a
/// "hang" of 584 years and aborted a campaign of sub-millisecond inputs.
public struct FuzzHangClock: Sendable {
    private var watched: UInt64 = 0
    private var watchedSince: UInt64 = 0

    public init() {}

    /// One observation: `generation` is armed (0: none) at `now` (nanoseconds, never decreasing
    /// between calls). True when the same input has been armed for more than `timeout`.
    public mutating func observe(generation: UInt64, now: UInt64, timeout: UInt64) -> Bool {
        guard generation != 0 else {
            watched = 0
            return false
        }
        guard generation == watched else {
            (watched, watchedSince) = (generation, now)
            return false
        }
        return now >= watchedSince && now - watchedSince > timeout
    }
}

/// The generation of the armed input, 0 when none is armed.
private let guardArmed = Atomic<UInt64>(0)
private let guardInstalled = Atomic<Bool>(false)
private let guardTimeout = Atomic<UInt64>(1_000_000_000)

/// The signal handler: saves the armed input, puts back the handler it replaced, and lets the
/// signal act (a fault re-executes its instruction into that handler; a raised signal is raised again).
private func handleCrash(_ signal: Int32) {
    let memory = FuzzGuardMemory.shared
    if guardArmed.exchange(0, ordering: .acquiringAndReleasing) != 0 {
        memory.writeInput(kind: "crash")
        memory.writeMessage(signal: signal)
    }
    sigaction(signal, memory.previous + Int(signal), nil)
    if signal != SIGSEGV && signal != SIGBUS && signal != SIGILL && signal != SIGFPE {
        raise(signal)
    }
}

/// Memory allocated once, before any input runs, that the handlers use instead of allocating.
final class FuzzGuardMemory: @unchecked Sendable {  // written only between inputs; read by handlers that run once
    static let pathCapacity = 4096
    static let alternateStackSize = 1 << 16
    static let signals: [Int32] = [SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV]
    static let shared = FuzzGuardMemory()

    let input = UnsafeMutablePointer<UInt8>.allocate(capacity: FuzzCrashGuard.capacity)
    var inputLength = 0
    var index = 0
    /// Counts `arm` calls (never 0 once armed); written only by the fuzzing thread.
    var generation: UInt64 = 0
    let folder = UnsafeMutablePointer<UInt8>.allocate(capacity: pathCapacity)
    var folderLength = 0
    let name = UnsafeMutablePointer<UInt8>.allocate(capacity: pathCapacity)
    var nameLength = 0
    let path = UnsafeMutablePointer<UInt8>.allocate(capacity: pathCapacity)
    let alternateStack = UnsafeMutablePointer<UInt8>.allocate(capacity: alternateStackSize)
    let previous = UnsafeMutablePointer<sigaction>.allocate(capacity: 65)

    init() { previous.initialize(repeating: sigaction(), count: 65) }

    /// Builds `FOLDER/KIND-TARGET-SEED-INDEX` in `path` (NUL-terminated); returns its length.
    func buildPath(kind: StaticString) -> Int {
        var length = 0
        func append(_ source: UnsafePointer<UInt8>, _ count: Int) {
            (path + length).update(from: source, count: count)
            length += count
        }
        append(folder, folderLength)
        append(kind.utf8Start, kind.utf8CodeUnitCount)
        append(name, nameLength)
        length += writeDecimal(index, into: path + length)
        path[length] = 0
        return length
    }

    /// Writes the armed input to its file; returns the length of its path, left in `path`.
    @discardableResult
    func writeInput(kind: StaticString) -> Int {
        let length = buildPath(kind: kind)
        let descriptor = open(UnsafeRawPointer(path).assumingMemoryBound(to: CChar.self), O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if descriptor >= 0 {
            var written = 0
            while written < inputLength {
                let result = write(descriptor, input + written, inputLength - written)
                if result <= 0 { break }
                written += result
            }
            close(descriptor)
        }
        return length
    }

    /// `parseval fuzz: signal N on input I; saved to PATH` on standard error, from the handler.
    func writeMessage(signal: Int32) {
        let length = buildPath(kind: "crash")
        writeText("\nparseval fuzz: signal ")
        var digits = (UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0),
                      UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0))
        withUnsafeMutableBytes(of: &digits) { raw in
            let base = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            _ = write(2, base, writeDecimal(Int(signal), into: base))
        }
        writeText(" while parsing an input; saved to ")
        _ = write(2, path, length)
        writeText("\n")
    }

    func writeText(_ text: StaticString) { _ = write(2, text.utf8Start, text.utf8CodeUnitCount) }

    /// Writes `value` (≥ 0) in decimal at `destination`; returns the digit count (at most 20).
    func writeDecimal(_ value: Int, into destination: UnsafeMutablePointer<UInt8>) -> Int {
        var remaining = UInt64(max(value, 0))
        var count = 0
        repeat {
            destination[count] = UInt8(48 + remaining % 10)
            remaining /= 10
            count += 1
        } while remaining > 0
        var (low, high) = (0, count - 1)
        while low < high {
            (destination[low], destination[high]) = (destination[high], destination[low])
            low += 1
            high -= 1
        }
        return count
    }
}
