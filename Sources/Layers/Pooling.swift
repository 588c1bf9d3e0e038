import TensorCore

/// Sequence pooling to one vector per example: (B, N, D) → (B, D).
public final class Pooling {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Mean over the valid tokens (the mask's 1s; all tokens without a mask).
        case mean
        /// A learned classification token (`ClassToken`) that the model prepends to every
        /// sequence; the head reads its final state (LRA, ViT, the FFTNet code).
        case cls
        /// The first input token's final state (no token is added): for inputs whose first
        /// token already summarises them.
        case first

        /// Whether the model prepends a learned `ClassToken` for this pooling.
        public var addsClassToken: Bool { self == .cls }
        /// Whether the head reads position 0 (`cls`, `first`): Fourier Transformer
        /// downsampling keeps that token aside.
        public var readsFirstPosition: Bool { self != .mean }
    }

    public let kind: Kind
    var shape: [Int] = []
    var weights: [Float] = []  // (B, N): the pooling weight of each token

    public init(_ kind: Kind) { self.kind = kind }

    public func forward(_ x: Tensor, mask: Tensor?) -> Tensor {
        let (batch, length) = (x.shape[0], x.shape[1])
        var weights = [Float](repeating: 0, count: batch * length)
        let valid = mask?.scalars ?? [Float](repeating: 1, count: batch * length)
        for b in 0..<batch {
            switch kind {
            case .cls, .first:
                weights[b * length] = 1
            case .mean:
                let row = valid[(b * length)..<((b + 1) * length)]
                let count = row.reduce(0, +)
                precondition(count > 0, "Pooling: example \(b) has no valid token")
                for n in 0..<length { weights[b * length + n] = row[b * length + n] / count }
            }
        }
        return forward(x, weights: weights)
    }

    /// y_b = Σ_n w_bn x_bn for given token weights (B, N), kept for backward. `package` for the
    /// sequence-parallel pooling, whose weights come from counts over the whole sequence.
    package func forward(_ x: Tensor, weights: [Float]) -> Tensor {
        let (batch, length, dim) = (x.shape[0], x.shape[1], x.shape[2])
        precondition(weights.count == batch * length, "Pooling: \(weights.count) weights for \(batch) × \(length) tokens")
        shape = x.shape
        self.weights = weights
        var y = Tensor(zeros: [batch, dim])
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { ys in
                weights.withUnsafeBufferPointer { ws in
                    for b in 0..<batch {
                        // y_b = Σ_n w_bn x_bn  (a 1×N by N×D product)
                        gemm(.none, .none, m: 1, n: dim, k: length, a: ws.baseAddress! + b * length, lda: length,
                             b: xs.baseAddress! + b * length * dim, ldb: dim,
                             beta: 0, c: ys.baseAddress! + b * dim, ldc: dim)
                    }
                }
            }
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let (batch, length, dim) = (shape[0], shape[1], shape[2])
        var dx = Tensor(zeros: shape)
        dy.withUnsafeBufferPointer { gs in
            dx.withUnsafeMutableBufferPointer { dxs in
                for b in 0..<batch {
                    for n in 0..<length where weights[b * length + n] != 0 {
                        let w = weights[b * length + n]
                        let row = dxs.baseAddress! + (b * length + n) * dim, g = gs.baseAddress! + b * dim
                        for j in 0..<dim { row[j] = w * g[j] }
                    }
                }
            }
        }
        return dx
    }
}
