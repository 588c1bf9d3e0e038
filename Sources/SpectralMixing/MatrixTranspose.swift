import CKernels
import TensorCore

/// Out-of-place transposes of a batch of row-major matrices, in cache-sized tiles.
///
/// The spectral mixers keep activations as (B, N, D) but run their FFTs on contiguous
/// sequences, (B, D, N): FFTW's batched transforms of contiguous rows run several times
/// faster than the same transforms at stride D once a sequence outgrows the cache.
enum MatrixTranspose {
    static let tile = 64

    /// destination[b][c][r] = source[b][r][c] for `batches` matrices of `rows` × `columns`.
    static func transpose(_ source: UnsafePointer<Float>, rows: Int, columns: Int, batches: Int,
                          into destination: UnsafeMutablePointer<Float>) {
        let rowTiles = (rows + tile - 1) / tile, columnTiles = (columns + tile - 1) / tile
        let tilesPerMatrix = rowTiles * columnTiles
        parallelFor(batches * tilesPerMatrix, grain: max(1, 16_384 / (tile * tile))) { tiles in
            for index in tiles {
                let batch = index / tilesPerMatrix, tileIndex = index % tilesPerMatrix
                let r0 = (tileIndex / columnTiles) * tile, c0 = (tileIndex % columnTiles) * tile
                let from = source + batch * rows * columns, to = destination + batch * rows * columns
                pv_transpose_tile(from + r0 * columns + c0, columns, to + c0 * rows + r0, rows,
                                  min(tile, rows - r0), min(tile, columns - c0))
            }
        }
    }

    /// The (B, R, C) tensor as (B, C, R).
    static func transposed(_ x: Tensor) -> Tensor {
        precondition(x.rank == 3, "MatrixTranspose: (B, R, C) tensor expected, got \(x.shape)")
        var y = Tensor(uninitialized: [x.shape[0], x.shape[2], x.shape[1]])
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { ys in
                transpose(xs.baseAddress!, rows: x.shape[1], columns: x.shape[2], batches: x.shape[0], into: ys.baseAddress!)
            }
        }
        return y
    }
}
