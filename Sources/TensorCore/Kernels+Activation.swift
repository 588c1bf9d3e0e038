/// Activation kernels whose loops the compiler vectorises. libm's `erff` and `expf` are
/// calls it cannot vectorise; these evaluate the same functions with branch-free scalar
/// arithmetic (bit operations instead of conversions) that LLVM turns into SIMD code.
extension Kernels {
    /// GELU, exact (erf) form: y = x·Φ(x), Φ(x) = ½(1 + erf(x/√2)).
    public static func gelu(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == y.count, "Kernels.gelu: \(x.count) vs \(y.count) elements")
        let input = x.baseAddress!, output = y.baseAddress!
        parallelFor(x.count, grain: 8192) { range in
            for i in range {
                let v = input[i]
                output[i] = v * normalCDFAndDensity(v).cdf
            }
        }
    }

    /// GELU's backward: dx = dy · (Φ(x) + x·φ(x)), φ the standard normal density.
    public static func geluBackward(_ x: UnsafeBufferPointer<Float>, _ dy: UnsafeBufferPointer<Float>,
                                    into dx: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == dy.count && dy.count == dx.count, "Kernels.geluBackward: sizes differ")
        let input = x.baseAddress!, gradient = dy.baseAddress!, output = dx.baseAddress!
        parallelFor(x.count, grain: 8192) { range in
            for i in range {
                let v = input[i]
                let (cdf, density) = normalCDFAndDensity(v)
                output[i] = gradient[i] * (cdf + v * density)
            }
        }
    }

    /// e^x for x in [−87, 88] (clamped outside). n = round(x/ln 2) by adding 1.5·2²³ (the
    /// sum's low mantissa bits are n), r = x − n·ln 2 (two-part ln 2), e^r by its degree-6
    /// Taylor polynomial on |r| ≤ ln2/2, times 2^n built in the exponent bits.
    /// Relative error below 2e-7.
    @inlinable @inline(__always)
    public static func exp(_ x: Float) -> Float {
        let clamped = min(max(x, -87), 88)
        let shifted = clamped * 1.442_695_04 + 12_582_912     // 1.5·2²³ + n
        let n = shifted - 12_582_912
        let r = clamped - n * 0.693_145_75 - n * 1.428_606_8e-6
        var p: Float = 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let power = Float(bitPattern: (shifted.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
        return p * power
    }

    /// Φ(x) and φ(x) of the standard normal. Φ via erf(x/√2) by Abramowitz & Stegun 7.1.26
    /// (|error| ≤ 1.5e-7); both share the one exponential e^{−x²/2}.
    @inline(__always)
    static func normalCDFAndDensity(_ x: Float) -> (cdf: Float, density: Float) {
        let gaussian = exp(-0.5 * x * x)                      // e^{−x²/2} = e^{−z²}, z = x/√2
        let z = Float(bitPattern: x.bitPattern & 0x7FFF_FFFF) * 0.707_106_78
        let t = 1 / (1 + 0.327_591_1 * z)
        var poly: Float = 1.061_405_429
        poly = poly * t - 1.453_152_027
        poly = poly * t + 1.421_413_741
        poly = poly * t - 0.284_496_736
        poly = poly * t + 0.254_829_592
        let erfMagnitude = 1 - poly * t * gaussian           // erf(|z|)
        let erf = Float(bitPattern: erfMagnitude.bitPattern | (x.bitPattern & 0x8000_0000))
        return (0.5 * (1 + erf), 0.398_942_28 * gaussian)
    }
}

// MARK: - Reductions the compiler can vectorise

extension Kernels {
    /// Σ p[0..<count] with eight independent partial sums (a fixed order, so the result is
    /// deterministic; strict IEEE order would keep the loop scalar).
    @inlinable
    public static func rowSum(_ p: UnsafePointer<Float>, count: Int) -> Float {
        var partial = (Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0))
        var j = 0
        while j + 8 <= count {
            partial.0 += p[j]; partial.1 += p[j + 1]; partial.2 += p[j + 2]; partial.3 += p[j + 3]
            partial.4 += p[j + 4]; partial.5 += p[j + 5]; partial.6 += p[j + 6]; partial.7 += p[j + 7]
            j += 8
        }
        var total = ((partial.0 + partial.1) + (partial.2 + partial.3)) + ((partial.4 + partial.5) + (partial.6 + partial.7))
        while j < count { total += p[j]; j += 1 }
        return total
    }

    /// Σ a[j]·b[j] with eight independent partial sums.
    @inlinable
    public static func rowDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var partial = (Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0))
        var j = 0
        while j + 8 <= count {
            partial.0 += a[j] * b[j]; partial.1 += a[j + 1] * b[j + 1]
            partial.2 += a[j + 2] * b[j + 2]; partial.3 += a[j + 3] * b[j + 3]
            partial.4 += a[j + 4] * b[j + 4]; partial.5 += a[j + 5] * b[j + 5]
            partial.6 += a[j + 6] * b[j + 6]; partial.7 += a[j + 7] * b[j + 7]
            j += 8
        }
        var total = ((partial.0 + partial.1) + (partial.2 + partial.3)) + ((partial.4 + partial.5) + (partial.6 + partial.7))
        while j < count { total += a[j] * b[j]; j += 1 }
        return total
    }

    /// max p[0..<count] with eight partial maxima; −∞ for count 0.
    @inlinable
    public static func rowMaximum(_ p: UnsafePointer<Float>, count: Int) -> Float {
        var m = (-Float.infinity, -Float.infinity, -Float.infinity, -Float.infinity,
                 -Float.infinity, -Float.infinity, -Float.infinity, -Float.infinity)
        var j = 0
        while j + 8 <= count {
            m.0 = Swift.max(m.0, p[j]); m.1 = Swift.max(m.1, p[j + 1])
            m.2 = Swift.max(m.2, p[j + 2]); m.3 = Swift.max(m.3, p[j + 3])
            m.4 = Swift.max(m.4, p[j + 4]); m.5 = Swift.max(m.5, p[j + 5])
            m.6 = Swift.max(m.6, p[j + 6]); m.7 = Swift.max(m.7, p[j + 7])
            j += 8
        }
        var highest = Swift.max(Swift.max(Swift.max(m.0, m.1), Swift.max(m.2, m.3)), Swift.max(Swift.max(m.4, m.5), Swift.max(m.6, m.7)))
        while j < count { highest = Swift.max(highest, p[j]); j += 1 }
        return highest
    }

    /// max over j of (mask[j] ≠ 0 ? p[j] : −∞), eight partial maxima; −∞ when nothing is admissible.
    @inlinable
    public static func maskedRowMaximum(_ p: UnsafePointer<Float>, mask: UnsafePointer<Float>, count: Int) -> Float {
        @inline(__always) func admitted(_ j: Int) -> Float { mask[j] != 0 ? p[j] : -.infinity }
        var m = (-Float.infinity, -Float.infinity, -Float.infinity, -Float.infinity,
                 -Float.infinity, -Float.infinity, -Float.infinity, -Float.infinity)
        var j = 0
        while j + 8 <= count {
            m.0 = Swift.max(m.0, admitted(j)); m.1 = Swift.max(m.1, admitted(j + 1))
            m.2 = Swift.max(m.2, admitted(j + 2)); m.3 = Swift.max(m.3, admitted(j + 3))
            m.4 = Swift.max(m.4, admitted(j + 4)); m.5 = Swift.max(m.5, admitted(j + 5))
            m.6 = Swift.max(m.6, admitted(j + 6)); m.7 = Swift.max(m.7, admitted(j + 7))
            j += 8
        }
        var highest = Swift.max(Swift.max(Swift.max(m.0, m.1), Swift.max(m.2, m.3)), Swift.max(Swift.max(m.4, m.5), Swift.max(m.6, m.7)))
        while j < count { highest = Swift.max(highest, admitted(j)); j += 1 }
        return highest
    }
}
