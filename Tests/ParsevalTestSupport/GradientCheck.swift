import Layers
import Parameters
import TensorCore
import XCTest

/// Central finite differences for a layer's backward pass.
///
/// The scalar checked is L = Σ y ⊙ w for a fixed random w, so dL/dy = w. Every input element
/// and every parameter element of `arena` (evenly spaced, at most `maxChecksPerTensor` per
/// tensor) is perturbed by ±h; the numeric slope is compared with what `backward(w)` returned
/// (input) and added into the arena (parameters). Float32 forward passes limit accuracy:
/// h = 1e-2 and a difference of at most atol + rtol · (largest gradient magnitude) with
/// rtol 2e-2, atol 2e-4 unless a test states others.
public struct GradientCheck {
    public init(step: Float = 1e-2, relativeTolerance: Double = 2e-2, absoluteTolerance: Double = 2e-4,
                maxChecksPerTensor: Int = 400) {
        self.step = step
        self.relativeTolerance = relativeTolerance
        self.absoluteTolerance = absoluteTolerance
        self.maxChecksPerTensor = maxChecksPerTensor
    }

    public var step: Float
    public var relativeTolerance: Double
    public var absoluteTolerance: Double
    /// Check at most this many elements per tensor (evenly spaced) to bound the run time.
    public var maxChecksPerTensor: Int

    /// `forward` must be deterministic (same context each call).
    public func assertMatchesFiniteDifferences(arena: ParameterArena?, input: Tensor, context: ForwardContext = ForwardContext(training: false),
                      forward: (Tensor, ForwardContext) -> Tensor, backward: (Tensor) -> Tensor,
                      file: StaticString = #filePath, line: UInt = #line) {
        let y0 = forward(input, context)
        var weights = RandomStream(seed: 99)
        let w = Tensor(shape: y0.shape, values: (0..<y0.count).map { _ in weights.uniform(-1, 1) })
        func loss(_ x: Tensor) -> Double {
            let y = forward(x, context)
            return zip(y.scalars, w.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        arena?.zeroGradients()
        _ = forward(input, context)
        let dx = backward(w)
        XCTAssertEqual(dx.shape, input.shape, "input gradient shape", file: file, line: line)

        var numeric: [Double] = [], analytic: [Double] = []
        for i in indices(input.count) {
            var plus = input, minus = input
            plus[flat: i] += step
            minus[flat: i] -= step
            numeric.append((loss(plus) - loss(minus)) / (2 * Double(step)))
            analytic.append(Double(dx[flat: i]))
        }
        compare(numeric, analytic, what: "input", file: file, line: line)

        guard let arena else { return }
        let gradients = Array(UnsafeBufferPointer(start: arena.gradients.pointer, count: arena.gradients.count))
        for entry in arena.entries {
            var numeric: [Double] = [], analytic: [Double] = []
            for i in indices(entry.count) {
                let slot = arena.values.pointer + entry.offset + i
                let original = slot.pointee
                slot.pointee = original + step
                let up = loss(input)
                slot.pointee = original - step
                let down = loss(input)
                slot.pointee = original
                numeric.append((up - down) / (2 * Double(step)))
                analytic.append(Double(gradients[entry.offset + i]))
            }
            compare(numeric, analytic, what: "parameter \(entry.name)", file: file, line: line)
        }
    }

    func indices(_ count: Int) -> [Int] {
        if count <= maxChecksPerTensor { return Array(0..<count) }
        let stride = Double(count) / Double(maxChecksPerTensor)
        return (0..<maxChecksPerTensor).map { Int(Double($0) * stride) }
    }

    func compare(_ numeric: [Double], _ analytic: [Double], what: String, file: StaticString, line: UInt) {
        let scale = max(numeric.map(abs).max() ?? 0, analytic.map(abs).max() ?? 0, 1e-3)
        var worst = 0.0, worstIndex = 0
        for (i, (n, a)) in zip(numeric, analytic).enumerated() where abs(n - a) > worst || (n - a).isNaN {
            worst = (n - a).isNaN ? .nan : abs(n - a)
            worstIndex = i
            if worst.isNaN { break }
        }
        if !(worst <= absoluteTolerance + relativeTolerance * scale) {
            XCTFail("gradient of \(what): largest difference \(worst) at checked element \(worstIndex) "
                    + "(numeric \(numeric[worstIndex]), analytic \(analytic[worstIndex]); scale \(scale), "
                    + "rtol \(relativeTolerance), atol \(absoluteTolerance))", file: file, line: line)
        }
    }
}
