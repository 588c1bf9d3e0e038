import Parameters
import ParsevalTestSupport
import Layers
import TensorCore
import XCTest

final class BasicLayerTests: XCTestCase {
    func testLinearForwardAgainstLoopAndGradients() {
        let arena = ParameterArena()
        let linear = Linear("fc", arena: arena, inputSize: 5, outputSize: 3)
        arena.allocate(seed: 1)
        // Non-zero bias so the bias path is exercised.
        for j in 0..<3 { arena.value(linear.bias!)[j] = Float(j) - 1 }
        let x = randomTensor([2, 4, 5], seed: 2)
        let y = linear.forward(x, context: ForwardContext(training: false))
        XCTAssertEqual(y.shape, [2, 4, 3])
        let w = arena.value(linear.weight), b = arena.value(linear.bias!)
        for r in 0..<8 {
            for o in 0..<3 {
                var expected = Double(b[o])
                for i in 0..<5 { expected += Double(x[flat: r * 5 + i]) * Double(w[o * 5 + i]) }
                XCTAssertEqual(Double(y[flat: r * 3 + o]), expected, accuracy: 1e-5)
            }
        }
        GradientCheck().assertMatchesFiniteDifferences(arena: arena, input: x,
                              forward: { linear.forward($0, context: $1) }, backward: { linear.backward($0) })
    }

    func testLinearParametersAreNamedLikePyTorch() {
        let arena = ParameterArena()
        let linear = Linear("blocks.0.mlp.fc1", arena: arena, inputSize: 4, outputSize: 8)
        arena.allocate(seed: 0)
        XCTAssertEqual(arena.entry(linear.weight).name, "blocks.0.mlp.fc1.weight")
        XCTAssertEqual(arena.entry(linear.weight).shape, [8, 4], "Linear weights are stored [out, in]")
        let bound = (6.0 / 12.0).squareRoot()
        XCTAssertTrue(arena.tensor(linear.weight).scalars.allSatisfy { abs(Double($0)) <= bound })
        XCTAssertEqual(arena.tensor(linear.bias!).scalars, [Float](repeating: 0, count: 8))
    }

    func testGELUAgainstErfFormulaAndGradient() {
        let gelu = GELU()
        let x = randomTensor([3, 7], seed: 3, scale: 3)
        let y = gelu.forward(x, context: ForwardContext(training: false))
        for i in 0..<x.count {
            let v = Double(x[flat: i])
            XCTAssertEqual(Double(y[flat: i]), 0.5 * v * (1 + erf(v / 2.0.squareRoot())), accuracy: 1e-6)
        }
        GradientCheck(step: 1e-3).assertMatchesFiniteDifferences(arena: nil, input: x,
                                        forward: { gelu.forward($0, context: $1) }, backward: { gelu.backward($0) })
    }

    func testLayerNormAgainstReferenceAndGradients() {
        let arena = ParameterArena()
        let norm = LayerNorm("norm", arena: arena, size: 6)
        arena.allocate(seed: 4)
        for j in 0..<6 {
            arena.value(norm.weight)[j] = 1 + 0.1 * Float(j)
            arena.value(norm.bias)[j] = 0.05 * Float(j)
        }
        let x = randomTensor([2, 3, 6], seed: 5, scale: 2)
        let y = norm.forward(x, context: ForwardContext(training: false))
        for r in 0..<6 {
            let row = (0..<6).map { Double(x[flat: r * 6 + $0]) }
            let mean = row.reduce(0, +) / 6
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 6
            for j in 0..<6 {
                let expected = (row[j] - mean) / (variance + 1e-5).squareRoot() * (1 + 0.1 * Double(j)) + 0.05 * Double(j)
                XCTAssertEqual(Double(y[flat: r * 6 + j]), expected, accuracy: 1e-5)
            }
        }
        GradientCheck().assertMatchesFiniteDifferences(arena: arena, input: x,
                              forward: { norm.forward($0, context: $1) }, backward: { norm.backward($0) })
    }

    func testArenaLaysOutParametersInReverseOrderAndInitialisesByName() {
        let arena = ParameterArena()
        let first = arena.register("a", shape: [2], initializer: .normal(std: 1), weightDecay: true)
        let second = arena.register("b", shape: [3], initializer: .constant(2), weightDecay: false)
        arena.allocate(seed: 7)
        XCTAssertEqual(arena.entry(second).offset, 0, "the last registered parameter comes first")
        XCTAssertEqual(arena.entry(first).offset, 3)
        XCTAssertEqual(arena.count, 5)
        XCTAssertEqual(arena.tensor(second).scalars, [2, 2, 2])

        // The same name and seed give the same values whatever else the arena holds.
        let other = ArenaWith(names: ["z", "a"], seed: 7)
        XCTAssertEqual(other.tensor(other.parameter(named: "a")!).scalars, arena.tensor(first).scalars)
    }

    func ArenaWith(names: [String], seed: UInt64) -> ParameterArena {
        let arena = ParameterArena()
        for name in names { _ = arena.register(name, shape: [2], initializer: .normal(std: 1), weightDecay: true) }
        arena.allocate(seed: seed)
        return arena
    }
}
