import Parameters
import TensorCore

/// Non-overlapping P×P patches of (B, H, W, C) images, each flattened in (row, column,
/// channel) order and projected to D: (B, H, W, C) → (B, (H/P)·(W/P), D), patches in
/// row-major order. Equivalent to a stride-P convolution with kernel P; the weight is
/// stored [D, P·P·C] as a Linear (`NAME.weight`, `NAME.bias`).
public final class PatchEmbedding {
    public let patchSize: Int
    public let channels: Int
    public let projection: Linear
    var imageShape: [Int] = []

    public init(_ name: String, arena: ParameterArena, patchSize: Int, channels: Int, dim: Int) {
        self.patchSize = patchSize
        self.channels = channels
        projection = Linear(name, arena: arena, inputSize: patchSize * patchSize * channels, outputSize: dim)
    }

    /// Patches along the sequence: (H/P)·(W/P).
    public func patchCount(height: Int, width: Int) -> Int { (height / patchSize) * (width / patchSize) }

    public func forward(_ images: Tensor, context: ForwardContext) -> Tensor {
        precondition(images.rank == 4 && images.shape[3] == channels,
                     "PatchEmbedding: expected (B, H, W, \(channels)) images, got \(images.shape)")
        let (h, w) = (images.shape[1], images.shape[2])
        precondition(h % patchSize == 0 && w % patchSize == 0,
                     "PatchEmbedding: image \(h)×\(w) is not divisible into \(patchSize)×\(patchSize) patches")
        imageShape = images.shape
        return projection.forward(rearrange(images, toPatches: true), context: context)
    }

    /// Adds the projection's gradients; returns the gradient of the images.
    public func backward(_ dy: Tensor) -> Tensor {
        rearrange(projection.backward(dy), toPatches: false)
    }

    /// (B, H, W, C) ↔ (B, patches, P·P·C).
    func rearrange(_ x: Tensor, toPatches: Bool) -> Tensor {
        let (b, h, w, c) = (imageShape[0], imageShape[1], imageShape[2], imageShape[3])
        let p = patchSize, rows = h / p, columns = w / p, patchLength = p * p * c
        var y = Tensor(zeros: toPatches ? [b, rows * columns, patchLength] : imageShape)
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { ys in
                for image in 0..<b {
                    for row in 0..<rows {
                        for column in 0..<columns {
                            let patch = (image * rows + row) * columns + column
                            for dy in 0..<p {
                                let pixel = ((image * h + row * p + dy) * w + column * p) * c
                                let slot = patch * patchLength + dy * p * c
                                let (from, to) = toPatches ? (pixel, slot) : (slot, pixel)
                                (ys.baseAddress! + to).update(from: xs.baseAddress! + from, count: p * c)
                            }
                        }
                    }
                }
            }
        }
        return y
    }
}
