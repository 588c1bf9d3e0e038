import ParsevalTestSupport
@testable import SpectralMixing
import TensorCore
import XCTest

final class MatrixTransposeTests: XCTestCase {
    /// The tiled transpose (64 × 64 tiles of 8 × 8 register blocks where AVX is available)
    /// against the index formula, for shapes that end mid-block and mid-tile.
    func testTransposeMatchesTheIndexFormula() {
        for (batches, rows, columns) in [(1, 1, 1), (2, 7, 9), (1, 64, 64), (3, 100, 37), (2, 130, 257), (1, 8, 200)] {
            let x = randomTensor([batches, rows, columns], seed: UInt64(rows * columns))
            let y = MatrixTranspose.transposed(x)
            XCTAssertEqual(y.shape, [batches, columns, rows])
            var differing = 0
            for b in 0..<batches {
                for r in 0..<rows {
                    for c in 0..<columns where y[b, c, r] != x[b, r, c] { differing += 1 }
                }
            }
            XCTAssertEqual(differing, 0, "(\(batches), \(rows), \(columns)): elements in the wrong place")
        }
    }
}
