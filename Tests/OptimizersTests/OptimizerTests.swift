import Foundation
import Layers
import Optimizers
import Parameters
import TensorCore
import XCTest

final class OptimizerTests: XCTestCase {
    /// An arena with a decayed weight [w0, w1] and an undecayed bias [b].
    func makeArena() -> (ParameterArena, Parameter, Parameter) {
        let arena = ParameterArena()
        let weight = arena.register("w", shape: [2], initializer: .constant(1), weightDecay: true)
        let bias = arena.register("b", shape: [1], initializer: .constant(-2), weightDecay: false)
        arena.allocate(seed: 0)
        return (arena, weight, bias)
    }

    func setGradients(_ arena: ParameterArena, _ weight: Parameter, _ bias: Parameter, _ gw: [Float], _ gb: Float) {
        arena.gradient(weight)[0] = gw[0]
        arena.gradient(weight)[1] = gw[1]
        arena.gradient(bias)[0] = gb
    }

    func testAdamWMatchesHandComputedSteps() {
        let (arena, weight, bias) = makeArena()
        let adam = AdamW(arena: arena, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1)
        // Reference in Double, PyTorch's order: decay, moments, bias-corrected update.
        var p = [1.0, 1.0, -2.0], m = [0.0, 0.0, 0.0], v = [0.0, 0.0, 0.0]
        let decayed = [true, true, false]
        let grads: [[Double]] = [[0.5, -1, 2], [0.25, 3, -1]]
        let lr = 0.01
        for (t, g) in grads.enumerated() {
            setGradients(arena, weight, bias, [Float(g[0]), Float(g[1])], Float(g[2]))
            adam.step(learningRate: Float(lr))
            for i in 0..<3 {
                if decayed[i] { p[i] *= 1 - lr * 0.1 }
                m[i] = 0.9 * m[i] + 0.1 * g[i]
                v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i]
                let mHat = m[i] / (1 - pow(0.9, Double(t + 1))), vHat = v[i] / (1 - pow(0.999, Double(t + 1)))
                p[i] -= lr * mHat / (vHat.squareRoot() + 1e-8)
            }
        }
        XCTAssertEqual(Double(arena.value(weight)[0]), p[0], accuracy: 1e-6)
        XCTAssertEqual(Double(arena.value(weight)[1]), p[1], accuracy: 1e-6)
        XCTAssertEqual(Double(arena.value(bias)[0]), p[2], accuracy: 1e-6)
        XCTAssertEqual(adam.stepCount, 2)
    }

    func testAdamWStateRestoresExactly() throws {
        let (arena, weight, bias) = makeArena()
        let adam = AdamW(arena: arena)
        setGradients(arena, weight, bias, [1, 2], 3)
        adam.step(learningRate: 0.1)
        let (copyArena, _, _) = makeArena()
        copyArena.values.pointer.update(from: arena.values.pointer, count: arena.values.count)
        copyArena.gradients.pointer.update(from: arena.gradients.pointer, count: arena.gradients.count)
        let restored = AdamW(arena: copyArena)
        try restored.restore(adam.state)
        adam.step(learningRate: 0.1)
        restored.step(learningRate: 0.1)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: arena.values.pointer, count: 3)),
                       Array(UnsafeBufferPointer(start: copyArena.values.pointer, count: 3)))
        XCTAssertThrowsError(try restored.restore(OptimizerState(step: 1, buffers: [:])))
    }

    func testSGDMomentumMatchesHandComputedSteps() {
        let (arena, weight, bias) = makeArena()
        let sgd = SGD(arena: arena, momentum: 0.5, weightDecay: 0.1)
        setGradients(arena, weight, bias, [1, 0], 2)
        sgd.step(learningRate: 0.1)
        // w0: g = 1 + 0.1·1 = 1.1, b = 1.1, p = 1 − 0.11 = 0.89; bias: b = 2, p = −2.2
        XCTAssertEqual(arena.value(weight)[0], 0.89, accuracy: 1e-6)
        XCTAssertEqual(arena.value(bias)[0], -2.2, accuracy: 1e-6)
        setGradients(arena, weight, bias, [1, 0], 2)
        sgd.step(learningRate: 0.1)
        // w0: g = 1 + 0.089 = 1.089, b = 0.55 + 1.089 = 1.639, p = 0.89 − 0.1639
        XCTAssertEqual(arena.value(weight)[0], 0.89 - 0.1639, accuracy: 1e-6)
        // bias: b = 1 + 2 = 3, p = −2.2 − 0.3
        XCTAssertEqual(arena.value(bias)[0], -2.5, accuracy: 1e-6)
    }

    func testSchedulesAgainstHandValues() {
        let constant = LearningRateSchedule.constant(peak: 1, warmup: 4)
        XCTAssertEqual((0..<6).map { constant.learningRate(at: $0) }, [0.25, 0.5, 0.75, 1, 1, 1])
        let cosine = LearningRateSchedule.cosine(peak: 2, warmup: 0, total: 100, finalRatio: 0)
        XCTAssertEqual(cosine.learningRate(at: 0), 2, accuracy: 1e-6)
        XCTAssertEqual(cosine.learningRate(at: 50), 1, accuracy: 1e-6)
        XCTAssertEqual(cosine.learningRate(at: 100), 0, accuracy: 1e-6)
        XCTAssertEqual(cosine.learningRate(at: 150), 0, accuracy: 1e-6, "stays at the final value after total")
        let linear = LearningRateSchedule.linear(peak: 1, warmup: 10, total: 110, finalRatio: 0.1)
        XCTAssertEqual(linear.learningRate(at: 4), 0.5, accuracy: 1e-6)
        XCTAssertEqual(linear.learningRate(at: 60), 0.55, accuracy: 1e-6)
        XCTAssertEqual(linear.learningRate(at: 110), 0.1, accuracy: 1e-6)
        let rsqrt = LearningRateSchedule.inverseSquareRoot(peak: 1, warmup: 100)
        XCTAssertEqual(rsqrt.learningRate(at: 99), 1, accuracy: 1e-6)
        XCTAssertEqual(rsqrt.learningRate(at: 400), 0.5, accuracy: 1e-6)
    }

    func testGlobalNormClipping() {
        let (arena, weight, bias) = makeArena()
        setGradients(arena, weight, bias, [3, 0], 4)
        XCTAssertEqual(clipGradientNorm(arena, maxNorm: 1), 5, accuracy: 1e-6)
        XCTAssertEqual(arena.gradient(weight)[0], 3 / (5 + 1e-6), accuracy: 1e-6)
        XCTAssertEqual(arena.gradient(bias)[0], 4 / (5 + 1e-6), accuracy: 1e-6)
        setGradients(arena, weight, bias, [0.3, 0], 0.4)
        clipGradientNorm(arena, maxNorm: 1)
        XCTAssertEqual(arena.gradient(weight)[0], 0.3, "below the limit nothing changes")
        setGradients(arena, weight, bias, [.nan, 0], 0.4)
        XCTAssertTrue(clipGradientNorm(arena, maxNorm: 1).isNaN)
    }
}
