import Foundation
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

/// Token embedding: ids (B, N) → (B, N, D), table (V, D) initialised normal(0, std), 0.02 unless set.
/// Ids equal to `paddingIndex` embed to zeros and receive no gradient (PyTorch's
/// `padding_idx`). Ids outside 0..<V are a precondition failure: loaders validate them.
public final class TokenEmbedding: TokenEmbedder {
    public let arena: ParameterArena
    public let table: Parameter
    public let vocabularySize: Int
    public let dim: Int
    public let paddingIndex: Int32?
    var tokens: [Int32] = []

    /// `std`: the rows' initial standard deviation (`model.embedding_std`; LRA's `nn.Embed`: 1.0).
    public init(_ name: String, arena: ParameterArena, vocabularySize: Int, dim: Int, paddingIndex: Int32? = 0,
                std: Float = 0.02) {
        self.arena = arena
        self.vocabularySize = vocabularySize
        self.dim = dim
        self.paddingIndex = paddingIndex
        // The padding row is stored as zeros (what it embeds to), so the table loads into
        // PyTorch's nn.Embedding(padding_idx=) unchanged; it receives no gradient and stays zero.
        var initializer = Initializer.normal(std: std)
        if let pad = paddingIndex, (0..<Int32(vocabularySize)).contains(pad) {
            initializer = .normalWithZeroRow(std: std, row: Int(pad), width: dim)
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

/// How positions enter a sequence model (`model.positions`).
public enum PositionKind: String, Sendable, Codable, CaseIterable {
    /// A learned row per position (`position`, normal(0, 0.02)), as timm's ViT and the FFTNet code.
    case learned
    /// LRA's fixed sinusoidal table (`common_layers.sinusoidal_init`, its Transformer's default,
    /// `learn_pos_emb=False`): PE[i, 2k] = sin(i·ω_k), PE[i, 2k+1] = cos(i·ω_k),
    /// ω_k = exp(−2k·ln(10000)/D); no parameter.
    case sinusoidal
}

/// Absolute positions added to a (B, N, D) activation: a learned table (docs/models.md:
/// normal(0, 0.02)) or LRA's fixed sinusoids (`PositionKind`). `offset` shifts the positions for
/// a sequence block that starts mid-sequence (sequence parallelism).
public final class PositionalEmbedding: SequenceLayer {
    public let arena: ParameterArena
    /// The learned table (`<name>`, (maxLength, D)); nil for fixed sinusoids.
    public let table: Parameter?
    public let kind: PositionKind
    public let maxLength: Int
    public let dim: Int
    public var offset = 0
    /// The sinusoids, computed in Double and rounded once, as LRA's NumPy table.
    let fixed: [Float]
    var shape: [Int] = []

    public init(_ name: String, arena: ParameterArena, maxLength: Int, dim: Int, kind: PositionKind = .learned) {
        self.arena = arena
        self.maxLength = maxLength
        self.dim = dim
        self.kind = kind
        switch kind {
        case .learned:
            table = arena.register(name, shape: [maxLength, dim], initializer: .normal(std: 0.02), weightDecay: false)
            fixed = []
        case .sinusoidal:
            table = nil
            fixed = Self.sinusoids(length: maxLength, dim: dim)
        }
    }

    /// LRA's `sinusoidal_init` table, row-major (length, dim).
    public static func sinusoids(length: Int, dim: Int) -> [Float] {
        var values = [Float](repeating: 0, count: length * dim)
        let step = -Foundation.log(10000.0) / Double(dim)
        for k in stride(from: 0, to: dim, by: 2) {
            let frequency = Foundation.exp(Double(k) * step)
            for i in 0..<length {
                let angle = Double(i) * frequency
                values[i * dim + k] = Float(Foundation.sin(angle))
                if k + 1 < dim { values[i * dim + k + 1] = Float(Foundation.cos(angle)) }
            }
        }
        return values
    }

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        let (batch, length) = (x.shape[0], x.shape[1])
        precondition(offset + length <= maxLength,
                     "PositionalEmbedding: positions \(offset)..<\(offset + length) exceed max_length \(maxLength)")
        shape = x.shape
        var y = x
        func add(_ positions: UnsafeBufferPointer<Float>) {
            y.withUnsafeMutableBufferPointer { ys in
                for b in 0..<batch {
                    let slice = UnsafeMutableBufferPointer(rebasing: ys[(b * length * dim)..<((b + 1) * length * dim)])
                    Kernels.axpy(1, positions, slice)
                }
            }
        }
        if let table {
            add(UnsafeBufferPointer(start: arena.value(table) + offset * dim, count: length * dim))
        } else {
            fixed.withUnsafeBufferPointer { add(UnsafeBufferPointer(rebasing: $0[(offset * dim)..<((offset + length) * dim)])) }
        }
        return y
    }

    /// The input's gradient is dy; a learned table's gradient adds dy summed over the batch.
    public func backward(_ dy: Tensor) -> Tensor {
        guard let table else { return dy }
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
