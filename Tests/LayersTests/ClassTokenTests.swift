import Layers
import Parameters
import ParsevalTestSupport
import TensorCore
import XCTest

final class ClassTokenTests: XCTestCase {
    /// The token is row 0 of every example, the input follows unchanged; named and shaped as timm.
    func testPrependsTheLearnedTokenAtPositionZero() {
        let arena = ParameterArena()
        let token = ClassToken(arena: arena, dim: 4)
        arena.allocate(seed: 3)
        XCTAssertEqual(arena.entry(token.token).name, "cls_token")
        XCTAssertEqual(arena.entry(token.token).shape, [1, 1, 4])
        let x = randomTensor([2, 3, 4], seed: 1)
        let y = token.forward(x)
        XCTAssertEqual(y.shape, [2, 4, 4])
        let learned = Array(UnsafeBufferPointer(start: arena.value(token.token), count: 4))
        XCTAssertFalse(learned.allSatisfy { $0 == 0 }, "the token is drawn, not zero")
        for b in 0..<2 {
            for j in 0..<4 { XCTAssertEqual(y[flat: b * 16 + j], learned[j]) }
            for n in 0..<3 {
                for j in 0..<4 { XCTAssertEqual(y[flat: b * 16 + (n + 1) * 4 + j], x[flat: b * 12 + n * 4 + j]) }
            }
        }
    }

    func testGradientsAgainstFiniteDifferences() {
        let arena = ParameterArena()
        let token = ClassToken(arena: arena, dim: 5)
        arena.allocate(seed: 4)
        GradientCheck().assertMatchesFiniteDifferences(arena: arena, input: randomTensor([3, 4, 5], seed: 2),
                                                       forward: { x, _ in token.forward(x) }, backward: { token.backward($0) })
    }

    /// The token is never masked; padding keeps its place, one position later.
    func testTheMaskGainsAValidFirstPosition() {
        let mask = Tensor(shape: [2, 3], values: [1, 1, 0, 1, 0, 0])
        XCTAssertEqual(ClassToken.extend(mask: mask)?.scalars, [1, 1, 1, 0, 1, 1, 0, 0])
        XCTAssertEqual(ClassToken.extend(mask: mask)?.shape, [2, 4])
        XCTAssertNil(ClassToken.extend(mask: nil))
    }

    /// The FFTNet code's Linear(1, D) on the id: y = id · w + b; pads are not special.
    func testScalarEmbeddingIsALinearLayerOnTheId() {
        let arena = ParameterArena()
        let embedding = ScalarTokenEmbedding("embedding", arena: arena, dim: 3)
        arena.allocate(seed: 5)
        XCTAssertEqual(arena.entry(embedding.weight).shape, [3, 1])
        XCTAssertEqual(arena.entry(embedding.bias).name, "embedding.bias")
        for j in 0..<3 { arena.value(embedding.bias)[j] = Float(j) * 0.5 - 0.25 }
        let tokens: [Int32] = [0, 4, 7, 2]
        let y = embedding.forward(tokens: tokens, batch: 2, length: 2)
        let w = arena.value(embedding.weight), b = arena.value(embedding.bias)
        for (position, id) in tokens.enumerated() {
            for j in 0..<3 { XCTAssertEqual(y[flat: position * 3 + j], Float(id) * w[j] + b[j], accuracy: 1e-6) }
        }
        // d(Σ y ⊙ g)/dw_j = Σ id · g_j, /db_j = Σ g_j.
        arena.zeroGradients()
        let g = randomTensor([2, 2, 3], seed: 6)
        embedding.backward(g)
        for j in 0..<3 {
            var dw = 0.0, db = 0.0
            for (position, id) in tokens.enumerated() {
                dw += Double(id) * Double(g[flat: position * 3 + j])
                db += Double(g[flat: position * 3 + j])
            }
            XCTAssertEqual(Double(arena.gradient(embedding.weight)[j]), dw, accuracy: 1e-5)
            XCTAssertEqual(Double(arena.gradient(embedding.bias)[j]), db, accuracy: 1e-5)
        }
    }
}
