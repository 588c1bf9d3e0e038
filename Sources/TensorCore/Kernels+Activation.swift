/// Vectorised activation kernels. The scalar libm calls (`erff`, `expf`) cannot be
/// vectorised by the compiler; these evaluate the same functions eight lanes at a time.
extension Kernels {
    /// GELU, exact (erf) form: y = x·Φ(x), Φ(x) = ½(1 + erf(x/√2)).
    public static func gelu(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == y.count, "Kernels.gelu: \(x.count) vs \(y.count) elements")
        let input = x.baseAddress!, output = y.baseAddress!
        parallelFor(x.count, grain: 8192) { range in
            forEachLane(range) { offset in
                let v = loadLanes(input, offset, range)
                let (cdf, _) = normalCDFAndDensity(v)
                storeLanes(v * cdf, output, offset, range)
            }
        }
    }

    /// GELU's backward: dx = dy · (Φ(x) + x·φ(x)), φ the standard normal density.
    public static func geluBackward(_ x: UnsafeBufferPointer<Float>, _ dy: UnsafeBufferPointer<Float>,
                                    into dx: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == dy.count && dy.count == dx.count, "Kernels.geluBackward: sizes differ")
        let input = x.baseAddress!, gradient = dy.baseAddress!, output = dx.baseAddress!
        parallelFor(x.count, grain: 8192) { range in
            forEachLane(range) { offset in
                let v = loadLanes(input, offset, range)
                let (cdf, density) = normalCDFAndDensity(v)
                storeLanes(loadLanes(gradient, offset, range) * (cdf + v * density), output, offset, range)
            }
        }
    }

    // MARK: - Lane helpers

    typealias Lanes = SIMD8<Float>

    /// Calls `body` with the start of every 8-lane group in `range` (the last may be partial).
    @inline(__always)
    static func forEachLane(_ range: Range<Int>, _ body: (Int) -> Void) {
        var offset = range.lowerBound
        while offset < range.upperBound {
            body(offset)
            offset += 8
        }
    }

    @inline(__always)
    static func loadLanes(_ pointer: UnsafePointer<Float>, _ offset: Int, _ range: Range<Int>) -> Lanes {
        if offset + 8 <= range.upperBound {
            return UnsafeRawPointer(pointer + offset).loadUnaligned(as: Lanes.self)
        }
        var lanes = Lanes(repeating: 0)
        for lane in 0..<(range.upperBound - offset) { lanes[lane] = pointer[offset + lane] }
        return lanes
    }

    @inline(__always)
    static func storeLanes(_ lanes: Lanes, _ pointer: UnsafeMutablePointer<Float>, _ offset: Int, _ range: Range<Int>) {
        if offset + 8 <= range.upperBound {
            UnsafeMutableRawPointer(pointer + offset).storeBytes(of: lanes, as: Lanes.self)
            return
        }
        for lane in 0..<(range.upperBound - offset) { pointer[offset + lane] = lanes[lane] }
    }

    // MARK: - Functions

    /// e^x for x in [−87, 88] (clamped outside): n = round(x/ln 2), r = x − n·ln 2 (two-part
    /// ln 2), e^r by its degree-6 Taylor polynomial on |r| ≤ ln2/2, scaled by 2^n through the
    /// exponent bits. Relative error below 2e-7.
    @inline(__always)
    static func exp(_ x: Lanes) -> Lanes {
        let clamped = x.clamped(lowerBound: Lanes(repeating: -87), upperBound: Lanes(repeating: 88))
        let n = (clamped * 1.442_695_04).rounded(.toNearestOrEven)
        let r = clamped - n * 0.693_145_75 - n * 1.428_606_8e-6
        var p = Lanes(repeating: 1.0 / 720)
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let exponent = (SIMD8<Int32>(n, rounding: .toNearestOrEven) &+ 127) &<< 23
        return p * unsafeBitCast(exponent, to: Lanes.self)
    }

    /// Φ(x) and φ(x) of the standard normal. Φ via erf(x/√2) by Abramowitz & Stegun 7.1.26
    /// (|error| ≤ 1.5e-7); both share the one exponential e^{−x²/2}.
    @inline(__always)
    static func normalCDFAndDensity(_ x: Lanes) -> (cdf: Lanes, density: Lanes) {
        let gaussian = exp(-0.5 * x * x)                       // e^{−x²/2} = e^{−z²}, z = x/√2
        let z = x.replacing(with: -x, where: x .< 0) * 0.707_106_78
        let t = 1 / (1 + 0.327_591_1 * z)
        var poly = Lanes(repeating: 1.061_405_429)
        poly = poly * t - 1.453_152_027
        poly = poly * t + 1.421_413_741
        poly = poly * t - 0.284_496_736
        poly = poly * t + 0.254_829_592
        let erfMagnitude = 1 - poly * t * gaussian            // erf(|z|)
        let erf = erfMagnitude.replacing(with: -erfMagnitude, where: x .< 0)
        return (0.5 * (1 + erf), 0.398_942_28 * gaussian)
    }
}
