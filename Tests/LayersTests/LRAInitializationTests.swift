import Layers
import Parameters
import ParsevalTestSupport
import TensorCore
import XCTest

/// The initialisations LRA's Transformer code uses, as options (`model.positions: sinusoidal`,
/// `model.embedding_std`, `model.class_token_std`): a fixed sinusoidal table, token rows drawn
/// at a given scale, a class token that starts at zero.
final class LRAInitializationTests: XCTestCase {
    /// Rows 3 and 4 of LRA's `sinusoidal_init` table at D = 6, printed by its NumPy code
    /// (float64 arithmetic, stored as float32) — an independent computation of the same table.
    func testSinusoidsMatchLRAsTable() {
        let table = PositionalEmbedding.sinusoids(length: 5, dim: 6)
        let row3: [Float] = [0.14112000167369843, -0.9899924993515015, 0.13879810273647308, 0.9903206825256348,
                             0.006463258992880583, 0.9999791383743286]
        let row4: [Float] = [-0.756802499294281, -0.6536436080932617, 0.18459872901439667, 0.9828139543533325,
                             0.00861763209104538, 0.9999628663063049]
        XCTAssertEqual(Array(table[18..<24]), row3)
        XCTAssertEqual(Array(table[24..<30]), row4)
        XCTAssertEqual(Array(table[0..<6]), [0, 1, 0, 1, 0, 1], "position 0: sin 0, cos 0")
        // An odd width keeps the last sine (LRA's NumPy code cannot build one).
        XCTAssertEqual(PositionalEmbedding.sinusoids(length: 2, dim: 3)[5], Float(sin(1.0 * exp(-2 * log(10000.0) / 3))))
    }

    /// Fixed positions: no parameter, the table's rows from `offset` added to every example, the
    /// gradient passed through unchanged.
    func testSinusoidalPositionsAreFixedAndOffset() {
        let arena = ParameterArena()
        let positions = PositionalEmbedding("position", arena: arena, maxLength: 9, dim: 4, kind: .sinusoidal)
        arena.allocate(seed: 1)
        XCTAssertNil(positions.table)
        XCTAssertTrue(arena.entries.isEmpty, "fixed sinusoids are not a parameter")
        positions.offset = 2
        let x = randomTensor([2, 5, 4], seed: 2)
        let y = positions.forward(x, context: ForwardContext(training: true))
        let table = PositionalEmbedding.sinusoids(length: 9, dim: 4)
        for b in 0..<2 {
            for n in 0..<5 {
                for j in 0..<4 {
                    XCTAssertEqual(y[flat: (b * 5 + n) * 4 + j], x[flat: (b * 5 + n) * 4 + j] + table[(n + 2) * 4 + j])
                }
            }
        }
        let dy = randomTensor([2, 5, 4], seed: 3)
        XCTAssertEqual(positions.backward(dy).scalars, dy.scalars)
    }

    /// The learned table is still the default, with its parameter and gradient.
    func testLearnedPositionsRemainTheDefault() {
        let arena = ParameterArena()
        let positions = PositionalEmbedding("position", arena: arena, maxLength: 6, dim: 3)
        arena.allocate(seed: 4)
        XCTAssertEqual(positions.kind, .learned)
        XCTAssertEqual(arena.entries.map(\.name), ["position"])
        GradientCheck().assertMatchesFiniteDifferences(arena: arena, input: randomTensor([2, 6, 3], seed: 5),
                                                       forward: { positions.forward($0, context: $1) },
                                                       backward: { positions.backward($0) })
    }

    /// `std` scales the drawn rows (the same draws: the stream depends on the name only); the
    /// padding row stays zero.
    func testTokenRowsAreDrawnAtTheGivenScale() {
        func table(std: Float) -> [Float] {
            let arena = ParameterArena()
            let embedding = TokenEmbedding("embedding", arena: arena, vocabularySize: 64, dim: 32, paddingIndex: 0, std: std)
            arena.allocate(seed: 7)
            return Array(UnsafeBufferPointer(start: arena.value(embedding.table), count: 64 * 32))
        }
        let (small, unit) = (table(std: 0.02), table(std: 1))
        XCTAssertTrue(unit[0..<32].allSatisfy { $0 == 0 } && small[0..<32].allSatisfy { $0 == 0 }, "padding row")
        for i in 32..<(64 * 32) { XCTAssertEqual(unit[i] * 0.02, small[i], accuracy: 1e-6) }
        let rows = unit[32...]
        let variance = rows.map { Double($0) * Double($0) }.reduce(0, +) / Double(rows.count)
        XCTAssertEqual(variance, 1, accuracy: 0.1, "2016 draws of N(0, 1)")
    }

    /// `std` 0 starts the class token at zeros (LRA); it still learns.
    func testAZeroClassTokenStartsAtZeroAndLearns() {
        let arena = ParameterArena()
        let token = ClassToken(arena: arena, dim: 5, std: 0)
        arena.allocate(seed: 8)
        XCTAssertTrue(UnsafeBufferPointer(start: arena.value(token.token), count: 5).allSatisfy { $0 == 0 })
        let y = token.forward(randomTensor([2, 3, 5], seed: 9))
        for j in 0..<5 { XCTAssertEqual(y[flat: j], 0) }
        arena.zeroGradients()
        _ = token.backward(Tensor(shape: [2, 4, 5], repeating: 1))
        XCTAssertEqual(Array(UnsafeBufferPointer(start: arena.gradient(token.token), count: 5)), [2, 2, 2, 2, 2])
    }
}
