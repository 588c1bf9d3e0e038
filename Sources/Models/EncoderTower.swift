import Layers
import TensorCore

/// Tokens → pooled vectors: embedding + learned positions, the encoder blocks, a final
/// LayerNorm and pooling (MODELS.md "Encoder block"). Shared by the classifier and the
/// dual encoder. Parameter names: `embedding.weight`, `position`, `blocks.L.…`,
/// `norm.weight`, `norm.bias`.
public final class EncoderTower {
    public let configuration: ModelConfiguration
    public let embedding: TokenEmbedding
    public let positions: PositionalEmbedding
    public let embeddingDropout: Dropout
    public let blocks: [EncoderBlock]
    public let finalNorm: LayerNorm
    public let pooling: Pooling
    /// Registration index of each block's first parameter (for gradient-readiness reports).
    let blockFirstParameter: [Int]
    var mask: Tensor?

    public init(_ configuration: ModelConfiguration, arena: ParameterArena) {
        self.configuration = configuration
        let c = configuration
        embedding = TokenEmbedding("embedding", arena: arena, vocabularySize: c.vocabularySize, dim: c.dim,
                                   paddingIndex: c.paddingIndex >= 0 ? Int32(c.paddingIndex) : nil)
        positions = PositionalEmbedding("position", arena: arena, maxLength: c.maxLength, dim: c.dim)
        embeddingDropout = Dropout(rate: c.dropout, streamID: 1)
        var firstParameters: [Int] = []
        blocks = (0..<c.depth).map { layer in
            firstParameters.append(arena.entries.count)
            return EncoderBlock("blocks.\(layer)", arena: arena, dim: c.dim, mlpHidden: c.mlpHidden, dropout: c.dropout,
                         streamID: UInt64(layer + 1)) { name in
                EncoderTower.makeMixer(c, name: name, arena: arena)
            }
        }
        blockFirstParameter = firstParameters
        finalNorm = LayerNorm("norm", arena: arena, size: c.dim)
        pooling = Pooling(c.pooling)
    }

    static func makeMixer(_ c: ModelConfiguration, name: String, arena: ParameterArena) -> any TokenMixer {
        switch c.mixer {
        case .attention: return SoftmaxAttention(name, arena: arena, dim: c.dim, heads: c.heads, causal: c.causal)
        }
    }

    /// `tokens` (batch, length) row-major; `mask` (batch, length), 1 = token, 0 = padding.
    /// Returns the pooled (batch, dim) representation.
    public func forward(tokens: [Int32], mask: Tensor?, batch: Int, length: Int, context: ForwardContext) -> Tensor {
        var context = context
        context.mask = mask
        self.mask = mask
        var x = embedding.forward(tokens: tokens, batch: batch, length: length)
        x = embeddingDropout.forward(positions.forward(x, context: context), context: context)
        for block in blocks { x = block.forward(x, context: context) }
        return pooling.forward(finalNorm.forward(x, context: context), mask: mask)
    }

    /// Gradient of the pooled output → parameter gradients in the arena. After each block,
    /// `gradientsReady(i)` reports that every parameter registered at index ≥ i is final.
    public func backward(_ dPooled: Tensor, gradientsReady: ((Int) -> Void)? = nil) {
        var g = finalNorm.backward(pooling.backward(dPooled))
        for (block, first) in zip(blocks, blockFirstParameter).reversed() {
            g = block.backward(g)
            gradientsReady?(first)
        }
        embedding.backward(positions.backward(embeddingDropout.backward(g)))
        gradientsReady?(0)
    }
}
