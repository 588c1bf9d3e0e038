import Parameters
import TensorCore

/// Ids (B, N) → vectors (B, N, D): what a sequence model's tower starts with (`model.embedding`).
public protocol TokenEmbedder: AnyObject {
    func forward(tokens: [Int32], batch: Int, length: Int) -> Tensor
    /// Adds into the parameter gradients; the ids have no gradient.
    func backward(_ dy: Tensor)
}

/// How token ids become vectors (`model.embedding`).
public enum EmbeddingKind: String, Sendable, Codable, CaseIterable {
    /// A learned row per id (`TokenEmbedding`), PyTorch's `nn.Embedding`.
    case table
    /// The id as one number through a Linear(1, D) (`ScalarTokenEmbedding`), as the FFTNet
    /// code's LRA model embeds tokens (`TokenEmbed(input_dim=1)`).
    case scalar
}

/// Token embedding: ids (B, N) → (B, N, D), table (V, D) initialised normal(0, 0.02).
/// Ids equal to `paddingIndex` embed to zeros and receive no gradient (PyTorch's
/// `padding_idx`). Ids outside 0..<V are a precondition failure: loaders validate them.
public final class TokenEmbedding: TokenEmbedder {
    public let arena: ParameterArena
    public let table: Parameter
    public let vocabularySize: Int
    public let dim: Int
    public let paddingIndex: Int32?
    var tokens: [Int32] = []

    public init(_ name: String, arena: ParameterArena, vocabularySize: Int, dim: Int, paddingIndex: Int32? = 0) {
        self.arena = arena
        self.vocabularySize = vocabularySize
        self.dim = dim
        self.paddingIndex = paddingIndex
        // The padding row is stored as zeros (what it embeds to), so the table loads into
        // PyTorch's nn.Embedding(padding_idx=) unchanged; it receives no gradient and stays zero.
        var initializer = Initializer.normal(std: 0.02)
        if let pad = paddingIndex, (0..<Int32(vocabularySize)).contains(pad) {
            initializer = .normalWithZeroRow(std: 0.02, row: Int(pad), width: dim)
        }
        table = arena.register("\(name).weight", shape: [vocabularySize, dim], initializer: initializer, weightDecay: false)
    }

    /// `tokens` row-major (batch, length).
    public func forward(tokens: [Int32], batch: Int, length: Int) -> Tensor {
        precondition(tokens.count == batch * length, "TokenEmbedding: \(tokens.count) ids for (\(batch), \(length))")
        self.tokens = tokens
        var y = Tensor(zeros: [batch, length, dim])
        let weights = arena.value(table), d = dim, vocabulary = vocabularySize, pad = paddingIndex
        y.withUnsafeMutableBufferPointer { ys in
            let out = ys.baseAddress!
            tokens.withUnsafeBufferPointer { ids in
                for (position, id) in ids.enumerated() where id != pad {
                    precondition(id >= 0 && Int(id) < vocabulary, "TokenEmbedding: id \(id) outside 0..<\(vocabulary)")
                    (out + position * d).update(from: weights + Int(id) * d, count: d)
                }
            }
        }
        return y
    }

    public func backward(_ dy: Tensor) {
        let gradients = arena.gradient(table), d = dim
        dy.withUnsafeBufferPointer { gs in
            for (position, id) in tokens.enumerated() where id != paddingIndex {
                let row = gradients + Int(id) * d, g = gs.baseAddress! + position * d
                for j in 0..<d { row[j] += g[j] }
            }
        }
        tokens = []
    }
}

/// The FFTNet code's LRA token embedding (jacobfa/fft 72d20e1, lra/fftnet.py `TokenEmbed` with
/// `input_dim` 1): each id read as a number, y = id · w + b, a Linear(1, D). Parameters
/// `<name>.weight` (D, 1), xavier-uniform as every Linear, and `<name>.bias` (D), zero — the
/// names and shapes of that `nn.Linear`'s state. Padding is not special (id 0 embeds to b, as
/// there); the mask still keeps pads out of pooling and attention.
public final class ScalarTokenEmbedding: TokenEmbedder {
    public let arena: ParameterArena
    public let weight: Parameter
    public let bias: Parameter
    public let dim: Int
    var tokens: [Int32] = []

    public init(_ name: String, arena: ParameterArena, dim: Int) {
        self.arena = arena
        self.dim = dim
        weight = arena.register("\(name).weight", shape: [dim, 1], initializer: .xavierUniform(fanIn: 1, fanOut: dim),
                                weightDecay: true)
        bias = arena.register("\(name).bias", shape: [dim], initializer: .zeros, weightDecay: false)
    }

    public func forward(tokens: [Int32], batch: Int, length: Int) -> Tensor {
        precondition(tokens.count == batch * length, "ScalarTokenEmbedding: \(tokens.count) ids for (\(batch), \(length))")
        self.tokens = tokens
        var y = Tensor(uninitialized: [batch, length, dim])
        let w = arena.value(weight), b = arena.value(bias), d = dim
        y.withUnsafeMutableBufferPointer { ys in
            for (position, id) in tokens.enumerated() {
                let row = ys.baseAddress! + position * d, value = Float(id)
                for j in 0..<d { row[j] = value * w[j] + b[j] }
            }
        }
        return y
    }

    public func backward(_ dy: Tensor) {
        let dw = arena.gradient(weight), db = arena.gradient(bias), d = dim
        dy.withUnsafeBufferPointer { gs in
            for (position, id) in tokens.enumerated() {
                let g = gs.baseAddress! + position * d, value = Float(id)
                for j in 0..<d {
                    dw[j] += value * g[j]
                    db[j] += g[j]
                }
            }
        }
        tokens = []
    }
}

/// Learned absolute positions (docs/models.md: normal(0, 0.02)), added to a (B, N, D) activation.
/// `offset` shifts the positions for a sequence block that starts mid-sequence
/// (sequence parallelism).
public final class PositionalEmbedding: SequenceLayer {
    public let arena: ParameterArena
    public let table: Parameter
    public let maxLength: Int
    public let dim: Int
    public var offset = 0
    var shape: [Int] = []

    public init(_ name: String, arena: ParameterArena, maxLength: Int, dim: Int) {
        self.arena = arena
        self.maxLength = maxLength
        self.dim = dim
        table = arena.register(name, shape: [maxLength, dim], initializer: .normal(std: 0.02), weightDecay: false)
    }

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        let (batch, length) = (x.shape[0], x.shape[1])
        precondition(offset + length <= maxLength,
                     "PositionalEmbedding: positions \(offset)..<\(offset + length) exceed max_length \(maxLength)")
        shape = x.shape
        var y = x
        let positions = UnsafeBufferPointer(start: arena.value(table) + offset * dim, count: length * dim)
        y.withUnsafeMutableBufferPointer { ys in
            for b in 0..<batch {
                let slice = UnsafeMutableBufferPointer(rebasing: ys[(b * length * dim)..<((b + 1) * length * dim)])
                Kernels.axpy(1, positions, slice)
            }
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let (batch, length) = (shape[0], shape[1])
        let gradients = UnsafeMutableBufferPointer(start: arena.gradient(table) + offset * dim, count: length * dim)
        dy.withUnsafeBufferPointer { gs in
            for b in 0..<batch {
                Kernels.axpy(1, UnsafeBufferPointer(rebasing: gs[(b * length * dim)..<((b + 1) * length * dim)]), gradients)
            }
        }
        return dy
    }
}
