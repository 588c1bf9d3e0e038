import Foundation
import Layers
import TensorCore
import XCTest

// Test support for the spectral mixers: the central-difference gradient checker (the same
// approach as LayersTests/GradientCheck.swift, which lives in another test target), random
// tensors, a tolerance check that reports the worst element, and naive Double references.

/// Central finite differences for a layer's backward pass.
///
/// The scalar checked is L = Σ y ⊙ w for a fixed random w, so dL/dy = w. Every input element
/// and every parameter element of `arena` (evenly spaced, at most `maxChecksPerTensor` per
/// tensor) is perturbed by ±h; the numeric slope is compared with what `backward(w)` returned
/// (input) and added into the arena (parameters). Float32 forward passes limit accuracy:
/// h = 1e-2 and a difference of at most atol + rtol · (largest gradient magnitude) with
/// rtol 2e-2, atol 2e-4 unless a test states others.
struct GradientCheck {
    var step: Float = 1e-2
    var relativeTolerance: Double = 2e-2
    var absoluteTolerance: Double = 2e-4
    var maxChecksPerTensor = 400

    /// `forward` must be deterministic (same context each call).
    func check(arena: ParameterArena?, input: Tensor, context: ForwardContext = ForwardContext(training: false),
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

func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var stream = RandomStream(seed: seed)
    return Tensor(shape: shape, values: (0..<Tensor.elementCount(shape)).map { _ in stream.uniform(-scale, scale) })
}

/// Asserts |actual − expected| ≤ atol + rtol·|expected| elementwise; on failure reports the
/// element with the largest difference.
func assertClose(_ actual: [Float], _ expected: [Double], rtol: Double, atol: Double,
                 _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    guard actual.count == expected.count else {
        XCTFail("\(message()): \(actual.count) values, expected \(expected.count)", file: file, line: line)
        return
    }
    var worstExcess = 0.0, worstIndex = -1, largest = 0.0
    for (i, (a, e)) in zip(actual, expected).enumerated() {
        let difference = abs(Double(a) - e)
        largest = max(largest, difference.isNaN ? .infinity : difference)
        let excess = difference - (atol + rtol * abs(e))
        if excess > worstExcess || difference.isNaN {
            worstExcess = difference.isNaN ? .infinity : excess
            worstIndex = i
        }
    }
    if worstIndex >= 0 {
        XCTFail("\(message()): largest difference \(largest); element \(worstIndex) is \(actual[worstIndex]), "
                + "expected \(expected[worstIndex]) (rtol \(rtol), atol \(atol))", file: file, line: line)
    }
}

/// Naive O(n²) references in Double.
enum Naive {
    /// Unnormalised DFT matrix entry e^{sign·2πi·j·k/n} as (re, im).
    static func twiddle(_ j: Int, _ k: Int, _ n: Int, sign: Double) -> (Double, Double) {
        let angle = sign * 2 * Double.pi * Double((j * k) % n) / Double(n)
        return (cos(angle), sin(angle))
    }

    /// Orthonormal DCT-II matrix entry C[k][t] = s_k cos(πk(2t+1)/2n).
    static func cosine(_ k: Int, _ t: Int, _ n: Int) -> Double {
        let scale = ((k == 0 ? 1.0 : 2.0) / Double(n)).squareRoot()
        return scale * cos(Double.pi * Double(k) * Double(2 * t + 1) / Double(2 * n))
    }

    static func gelu(_ x: Double) -> Double { 0.5 * x * (1 + erf(x / 2.0.squareRoot())) }

    /// y = x Wᵀ + b for a Linear layer's parameters, x: [rows][in].
    static func linear(_ x: [[Double]], _ layer: Linear) -> [[Double]] {
        let w = layer.arena.tensor(layer.weight).scalars.map(Double.init)
        let b = layer.bias.map { layer.arena.tensor($0).scalars.map(Double.init) }
        return x.map { row in
            (0..<layer.outputSize).map { o in
                var total = b?[o] ?? 0
                for i in 0..<layer.inputSize { total += w[o * layer.inputSize + i] * row[i] }
                return total
            }
        }
    }
}

extension Tensor {
    var doubles: [Double] { scalars.map(Double.init) }
}
