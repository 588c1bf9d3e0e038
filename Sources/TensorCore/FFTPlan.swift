import CFFTW
import Foundation
import Synchronization

/// How a transform is normalised. FFTW computes unnormalised transforms; the scale is
/// applied after execution.
public enum FFTScaling: String, Sendable, Codable, CaseIterable {
    /// No scaling either way (forward then inverse multiplies by n).
    case unnormalized
    /// Both directions scaled by 1/√n: the transform is unitary and Parseval's identity holds.
    case ortho
    /// NumPy's default: forward unscaled, inverse scaled by 1/n.
    case backward

    /// The factor applied after a transform of length `n` in the given direction.
    public func factor(length n: Int, inverse: Bool) -> Float {
        switch self {
        case .unnormalized: return 1
        case .ortho: return 1 / Float(n).squareRoot()
        case .backward: return inverse ? 1 / Float(n) : 1
        }
    }
}

/// FFTW's planner effort. `estimate` plans instantly from heuristics; `measure` times
/// candidate algorithms once (seconds for large sizes) and usually runs faster.
public enum FFTPlanningEffort: String, Sendable, Codable, Hashable, CaseIterable {
    case estimate, measure

    var flags: UInt32 { self == .estimate ? UInt32(FFTW_ESTIMATE) : UInt32(FFTW_MEASURE) }
}

/// Which transform a plan computes.
public enum FFTKind: Sendable, Hashable {
    /// Real input of length n → n/2+1 complex bins (unnormalised forward).
    case realToComplex
    /// n/2+1 complex bins → real output of length n (unnormalised inverse). Destroys its input.
    case complexToReal
    /// Complex → complex, sign −1.
    case complexForward
    /// Complex → complex, sign +1.
    case complexBackward
}

/// Everything that determines an FFTW plan: the data is viewed as `[outer, length, inner]`
/// (row-major, contiguous) and transformed along `length`, `outer · inner` transforms at once.
public struct FFTPlanKey: Sendable, Hashable {
    public var kind: FFTKind
    public var length: Int
    public var outer: Int
    public var inner: Int
    public var inPlace: Bool
    /// True when both arrays are SIMD-aligned (`fftwf_alignment_of == 0`); false plans
    /// with `FFTW_UNALIGNED` so the plan is valid for any address.
    public var aligned: Bool
    public var threads: Int
    public var effort: FFTPlanningEffort

    /// Elements (Floats) in the input and output arrays.
    var inputFloats: Int { outer * inner * (kind == .realToComplex ? length : 2 * binsOnInput) }
    var outputFloats: Int { outer * inner * (kind == .complexToReal ? length : 2 * binsOnOutput) }
    var binsOnInput: Int { kind == .complexToReal ? length / 2 + 1 : length }
    var binsOnOutput: Int { kind == .realToComplex ? length / 2 + 1 : length }
}

/// One FFTW plan, made once and executed many times on arrays of the planned layout.
///
/// `@unchecked Sendable`: FFTW documents `fftwf_execute*` as thread-safe; creation and
/// destruction happen under `FFTPlanner.lock`.
public final class FFTPlan: @unchecked Sendable {
    public let key: FFTPlanKey
    let handle: fftwf_plan

    init(key: FFTPlanKey, handle: fftwf_plan) {
        self.key = key
        self.handle = handle
    }

    deinit {
        FFTPlanner.lock.withLock { _ in fftwf_destroy_plan(handle) }
    }

    /// Runs the plan on new arrays with the planned layout, in-placeness and alignment.
    /// Output is unnormalised; a `complexToReal` plan overwrites its input.
    public func execute(input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>) {
        precondition((input == output) == key.inPlace,
                     "FFTPlan: planned \(key.inPlace ? "in place" : "out of place"), executed otherwise")
        precondition(!key.aligned || (fftwf_alignment_of(input) == 0 && fftwf_alignment_of(output) == 0),
                     "FFTPlan: planned for SIMD-aligned arrays, executed on unaligned ones")
        switch key.kind {
        case .realToComplex:
            fftwf_execute_dft_r2c(handle, input, complexPointer(output))
        case .complexToReal:
            fftwf_execute_dft_c2r(handle, complexPointer(input), output)
        case .complexForward, .complexBackward:
            fftwf_execute_dft(handle, complexPointer(input), complexPointer(output))
        }
    }
}

@inline(__always)
func complexPointer(_ pointer: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<fftwf_complex> {
    UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: fftwf_complex.self)
}

/// The FFTW planner: a cache of plans keyed by `FFTPlanKey`, and the lock that serialises
/// every call into FFTW's planner (only `fftwf_execute*` is thread-safe). FFTW-MPI
/// planning in `Distributed` takes the same lock.
public enum FFTPlanner {
    /// Serialises FFTW planning, plan destruction and wisdom calls across the process.
    public static let lock = Mutex<Void>(())
    static let cache = Mutex<[FFTPlanKey: FFTPlan]>([:])
    static let effortSetting = Mutex<FFTPlanningEffort>(.estimate)

    /// The effort used for plans made from now on (`parallel.fft_planning` in configs).
    public static var effort: FFTPlanningEffort {
        get { effortSetting.withLock { $0 } }
        set { effortSetting.withLock { $0 = newValue } }
    }

    /// Number of plans in the cache.
    public static var cachedPlanCount: Int { cache.withLock { $0.count } }

    /// The plan for transforming `input` into `output` laid out as `[outer, length, inner]`,
    /// from the cache or newly made.
    public static func plan(_ kind: FFTKind, length: Int, outer: Int, inner: Int,
                            input: UnsafeMutablePointer<Float>,
                            output: UnsafeMutablePointer<Float>) -> FFTPlan {
        precondition(length >= 1 && outer >= 1 && inner >= 1,
                     "FFTPlanner: empty transform (length \(length), outer \(outer), inner \(inner))")
        precondition(input != output || kind == .complexForward || kind == .complexBackward,
                     "FFTPlanner: real transforms are planned out of place only")
        let key = FFTPlanKey(
            kind: kind, length: length, outer: outer, inner: inner, inPlace: input == output,
            aligned: fftwf_alignment_of(input) == 0 && fftwf_alignment_of(output) == 0,
            threads: Threading.count, effort: effort)
        if let plan = cache.withLock({ $0[key] }) { return plan }
        let plan = make(key, input: input, output: output)
        return cache.withLock { cache in
            if let existing = cache[key] { return existing }
            cache[key] = plan
            return plan
        }
    }

    static func make(_ key: FFTPlanKey, input: UnsafeMutablePointer<Float>,
                     output: UnsafeMutablePointer<Float>) -> FFTPlan {
        Threading.initializeFFTWThreads()
        // FFTW_MEASURE overwrites the arrays while planning: give it scratch arrays.
        let scratchIn = key.effort == .measure ? TensorStorage(count: key.inputFloats) : nil
        let scratchOut = key.effort == .measure && !key.inPlace ? TensorStorage(count: key.outputFloats) : nil
        let planIn = scratchIn?.pointer ?? input
        let planOut = key.inPlace ? planIn : (scratchOut?.pointer ?? output)
        let flags = key.effort.flags | (key.aligned ? 0 : UInt32(FFTW_UNALIGNED))

        // Guru64 layout: one transform dimension; two loops (outer, inner). Strides count
        // elements of each array's own type (Float for real arrays, complex for complex).
        let binsIn = key.binsOnInput, binsOut = key.binsOnOutput
        var dims = fftwf_iodim64(n: key.length, is: key.inner, os: key.inner)
        var loops = [
            fftwf_iodim64(n: key.outer, is: binsIn * key.inner, os: binsOut * key.inner),
            fftwf_iodim64(n: key.inner, is: 1, os: 1),
        ]
        var handle: fftwf_plan?
        lock.withLock { _ in
            fftwf_plan_with_nthreads(Int32(key.threads))
            handle = loops.withUnsafeMutableBufferPointer { loops in
                switch key.kind {
                case .realToComplex:
                    return fftwf_plan_guru64_dft_r2c(1, &dims, 2, loops.baseAddress, planIn,
                                                     complexPointer(planOut), flags)
                case .complexToReal:
                    return fftwf_plan_guru64_dft_c2r(1, &dims, 2, loops.baseAddress, complexPointer(planIn),
                                                     planOut, flags)
                case .complexForward, .complexBackward:
                    let sign = key.kind == .complexForward ? FFTW_FORWARD : FFTW_BACKWARD
                    return fftwf_plan_guru64_dft(1, &dims, 2, loops.baseAddress, complexPointer(planIn),
                                                 complexPointer(planOut), sign, flags)
                }
            }
        }
        // FFTW returns no plan when it cannot allocate its work space (a transform too large
        // for memory; the memory estimate refuses most before this) or does not support the
        // layout: a clear message and the configuration exit code, not a trap.
        guard let handle else {
            exitWithMessage("FFTW could not plan \(key) (out of memory for the transform, or an unsupported "
                            + "layout): reduce data.sequence_length or model.dim", code: 2)
        }
        return FFTPlan(key: key, handle: handle)
    }
}

// MARK: - Wisdom: measured plans kept across processes

extension FFTPlan {
    /// FFTW's description of the algorithm this plan runs (`fftwf_sprint_plan`).
    public var algorithm: String {
        FFTPlanner.lock.withLock { _ in
            guard let text = fftwf_sprint_plan(handle) else { return "" }
            defer { free(text) }
            return String(cString: text)
        }
    }
}

extension FFTPlanner {
    /// Adds FFTW wisdom (the text `exportWisdom` returns: plans FFTW measured) to what the
    /// planner knows. Plans made afterwards for the problems it covers run the measured
    /// algorithm at any planning effort — `estimate` included, which uses wisdom but never
    /// measures — so a run that imports the same text plans the same way every time. Returns
    /// false when FFTW refuses the text (damaged, or written by another FFTW version).
    public static func importWisdom(_ text: String) -> Bool {
        lock.withLock { _ in text.withCString { fftwf_import_wisdom_from_string($0) != 0 } }
    }

    /// Everything the planner knows: imported wisdom and what this process measured.
    public static func exportWisdom() -> String {
        lock.withLock { _ in
            guard let text = fftwf_export_wisdom_to_string() else { return "" }
            defer { free(text) }
            return String(cString: text)
        }
    }

    /// Forgets all wisdom; plans already made keep their algorithms.
    public static func forgetWisdom() {
        lock.withLock { _ in fftwf_forget_wisdom() }
    }

    /// Drops every cached plan, so the next request plans again (under the wisdom then known).
    public static func clearCache() {
        cache.withLock { $0.removeAll() }
    }
}
