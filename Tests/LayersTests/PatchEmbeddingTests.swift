import Parameters
import ParsevalTestSupport
import Layers
import TensorCore
import XCTest

final class PatchEmbeddingTests: XCTestCase {
    func testAgainstNaivePatchLoopAndGradients() {
        let arena = ParameterArena()
        let embedding = PatchEmbedding("patch_embedding", arena: arena, patchSize: 2, channels: 3, dim: 5)
        arena.allocate(seed: 1)
        let images = randomTensor([2, 4, 6, 3], seed: 2)
        let y = embedding.forward(images, context: ForwardContext(training: false))
        XCTAssertEqual(y.shape, [2, 6, 5])
        XCTAssertEqual(embedding.patchCount(height: 4, width: 6), 6)
        let w = arena.value(embedding.projection.weight)
        for b in 0..<2 {
            for patch in 0..<6 {
                let (row, column) = (patch / 3, patch % 3)
                for d in 0..<5 {
                    var expected = 0.0
                    var k = 0
                    for dy in 0..<2 {
                        for dx in 0..<2 {
                            for c in 0..<3 {
                                expected += Double(images[b, row * 2 + dy, column * 2 + dx, c]) * Double(w[d * 12 + k])
                                k += 1
                            }
                        }
                    }
                    XCTAssertEqual(Double(y[b, patch, d]), expected, accuracy: 1e-5, "image \(b) patch \(patch) channel \(d)")
                }
            }
        }
        GradientCheck().assertMatchesFiniteDifferences(arena: arena, input: images,
                              forward: { embedding.forward($0, context: $1) }, backward: { embedding.backward($0) })
    }
}
