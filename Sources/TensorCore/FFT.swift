/// Fourier transforms along one axis of a tensor, batched into a single FFTW plan.
///
/// A tensor is viewed as `[outer, n, inner]` around the transformed axis, so a transform
/// along the sequence axis of `(B, N, D)` is one plan with `howmany = B·D`. Complex tensors
/// carry a trailing axis of 2 (re, im) that is not counted in `axis`.
public enum FFT {
    // MARK: - Raw buffers (hot loops)

    /// Real-to-complex: `input` `[outer, n, inner]` reals → `output` `[outer, n/2+1, inner]` complex.
    public static func realForward(input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>,
                                   outer: Int, length n: Int, inner: Int, scaling: FFTScaling) {
        let plan = FFTPlanner.plan(.realToComplex, length: n, outer: outer, inner: inner, input: input, output: output)
        plan.execute(input: input, output: output)
        scale(output, count: 2 * outer * (n / 2 + 1) * inner, by: scaling.factor(length: n, inverse: false))
    }

    /// Complex-to-real: `input` `[outer, n/2+1, inner]` complex → `output` `[outer, n, inner]` reals.
    /// Overwrites `input` (FFTW's c2r transforms destroy their input).
    public static func realInverse(input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>,
                                   outer: Int, length n: Int, inner: Int, scaling: FFTScaling) {
        let plan = FFTPlanner.plan(.complexToReal, length: n, outer: outer, inner: inner, input: input, output: output)
        plan.execute(input: input, output: output)
        scale(output, count: outer * n * inner, by: scaling.factor(length: n, inverse: true))
    }

    /// Complex-to-complex `[outer, n, inner]`, in place when `input == output`.
    public static func complex(input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>,
                               outer: Int, length n: Int, inner: Int, inverse: Bool, scaling: FFTScaling) {
        let plan = FFTPlanner.plan(inverse ? .complexBackward : .complexForward, length: n,
                                   outer: outer, inner: inner, input: input, output: output)
        plan.execute(input: input, output: output)
        scale(output, count: 2 * outer * n * inner, by: scaling.factor(length: n, inverse: inverse))
    }

    static func scale(_ pointer: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
        if factor == 1 { return }
        Kernels.scale(UnsafeMutableBufferPointer(start: pointer, count: count), by: factor)
    }

    // MARK: - Tensors

    /// Real FFT along `axis`: shape `[…, n, …]` → `[…, n/2+1, …, 2]`.
    public static func realForward(_ x: Tensor, axis: Int, scaling: FFTScaling) -> Tensor {
        let (outer, n, inner) = split(x.shape, axis: axis)
        var outShape = x.shape
        outShape[axis] = n / 2 + 1
        var output = Tensor(uninitialized: outShape + [2])
        x.withUnsafeBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                // FFTW's out-of-place r2c preserves its input (only c2r destroys it): the
                // mutable pointer the C signature wants is never written through.
                realForward(input: UnsafeMutablePointer(mutating: inBuffer.baseAddress!), output: outBuffer.baseAddress!,
                            outer: outer, length: n, inner: inner, scaling: scaling)
            }
        }
        return output
    }

    /// Inverse real FFT along `axis` of a complex tensor `[…, n/2+1, …, 2]` → `[…, n, …]`.
    public static func realInverse(_ z: Tensor, axis: Int, length n: Int, scaling: FFTScaling) -> Tensor {
        precondition(z.shape.last == 2, "FFT.realInverse: complex tensor (trailing axis 2) expected, got \(z.shape)")
        let complexShape = Array(z.shape.dropLast())
        let (outer, bins, inner) = split(complexShape, axis: axis)
        precondition(bins == n / 2 + 1, "FFT.realInverse: \(bins) bins along axis \(axis), expected \(n / 2 + 1) for length \(n)")
        var outShape = complexShape
        outShape[axis] = n
        var output = Tensor(uninitialized: outShape)
        var scratch = Tensor(uninitialized: z.shape)  // c2r destroys its input: work on a copy
        scratch.withUnsafeMutableBufferPointer { s in
            z.withUnsafeBufferPointer { s.baseAddress!.update(from: $0.baseAddress!, count: z.count) }
            output.withUnsafeMutableBufferPointer { outBuffer in
                realInverse(input: s.baseAddress!, output: outBuffer.baseAddress!,
                            outer: outer, length: n, inner: inner, scaling: scaling)
            }
        }
        return output
    }

    /// Complex FFT along `axis` of a complex tensor `[…, n, …, 2]`.
    public static func complex(_ z: Tensor, axis: Int, inverse: Bool, scaling: FFTScaling) -> Tensor {
        precondition(z.shape.last == 2, "FFT.complex: complex tensor (trailing axis 2) expected, got \(z.shape)")
        let (outer, n, inner) = split(Array(z.shape.dropLast()), axis: axis)
        var output = z
        output.withUnsafeMutableBufferPointer { buffer in
            complex(input: buffer.baseAddress!, output: buffer.baseAddress!,
                    outer: outer, length: n, inner: inner, inverse: inverse, scaling: scaling)
        }
        return output
    }

    /// `[outer, n, inner]` around `axis`.
    static func split(_ shape: [Int], axis: Int) -> (outer: Int, length: Int, inner: Int) {
        precondition(axis >= 0 && axis < shape.count, "FFT: axis \(axis) out of range for shape \(shape)")
        return (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }
}
