import Distributed
import Layers
import Parameters
import SequenceParallel
import SpectralMixing
import TensorCore

/// Inputs → pooled vectors: embedding, a learned class token with `pooling: cls`, learned
/// positions, the encoder blocks, a final LayerNorm and pooling (docs/models.md "Encoder
/// block"). Shared by the classifier, the dual encoder and (without the token embedding) the
/// vision classifier. Parameter names: `embedding.weight` (and `embedding.bias` for the scalar
/// embedding), `cls_token`, `position`, `blocks.L.…`, `norm.weight`, `norm.bias`.
///
/// With the class token the blocks see N + 1 positions: the token at 0, never masked, its own
/// row 0 of the positional table (which holds `max_length + 1` rows), kept aside by DCT
/// downsampling, its final state read by the head.
///
/// With a `sharding` of P ranks (sequence parallelism, docs/distributed.md) the tower
/// runs on this rank's block of (N + 1)/P positions (N/P without a class token): positions
/// are offset by the block's start, the class token is prepended on the group's rank 0 only
/// (its block holds (N + 1)/P − 1 input tokens), the FFTNet and FNet mixers are their
/// `SequenceParallel` versions over the group, and pooling is all-reduced in the group, so
/// every rank of the group gets the pooled vector of the whole sequences. The parameters and
/// their names are the same.
public final class EncoderTower {
    public let configuration: ModelConfiguration
    /// nil when the inputs arrive embedded (patches of an image).
    public let embedding: (any TokenEmbedder)?
    /// The learned class token (`pooling: cls`); nil otherwise.
    public let classToken: ClassToken?
    public let positions: PositionalEmbedding
    public let embeddingDropout: Dropout
    public let blocks: [EncoderBlock]
    /// nil for FNet's paper blocks, which end in a LayerNorm of their own.
    public let finalNorm: LayerNorm?
    public let pooling: Pooling
    /// Fourier Transformer downsampling before each pre-norm block (nil: none before that
    /// block). Paper blocks shorten inside the block instead (`EncoderBlock.Layout`).
    public let downsamplers: [DCTDownsampler?]
    /// Whether each block shortens the sequence (before it, or inside it): the padding mask
    /// no longer applies from there on.
    let shortens: [Bool]
    /// Registration index of each block's first parameter (for gradient-readiness reports).
    let blockFirstParameter: [Int]
    /// How the ranks share each sequence; nil (or P = 1): this rank holds whole sequences.
    public let sharding: SequenceSharding?
    let shardedPooling: ShardedPooling?

    /// `seed` draws the kernelized mixers' random features (parameters come from the arena's seed).
    public convenience init(_ configuration: ModelConfiguration, arena: ParameterArena, embedsTokens: Bool = true,
                            seed: UInt64 = 0) {
        // Cannot throw: without a sequence group every mixer is the single-rank layer.
        try! self.init(configuration, arena: arena, embedsTokens: embedsTokens, seed: seed, sharding: nil)
    }

    /// The tower on this rank's token block of sequences split as `sharding` says (nil, or
    /// P = 1: whole sequences). Collective over the sequence group (the mixers plan FFTW-MPI
    /// transforms).
    /// - Throws: `SequenceParallelError` for a mixer or shape the group cannot split
    ///   (`SequenceSharding.check`, then the mixer's own plans).
    public init(_ configuration: ModelConfiguration, arena: ParameterArena, embedsTokens: Bool = true, seed: UInt64 = 0,
                sharding: SequenceSharding?) throws {
        let c = configuration
        let sharding = sharding?.isSharded == true ? sharding : nil
        if let sharding {
            try SequenceSharding.check(c.shardingRequest(ranks: sharding.ranks, task: "sequence classification",
                                                         taskSupported: embedsTokens, sequenceLength: c.maxLength))
        }
        self.configuration = configuration
        self.sharding = sharding
        shardedPooling = sharding.map { ShardedPooling(configuration.pooling, group: $0.group, failures: $0.failures) }
        switch (embedsTokens, c.embedding) {
        case (false, _): embedding = nil
        case (true, .table):
            embedding = TokenEmbedding("embedding", arena: arena, vocabularySize: c.vocabularySize, dim: c.dim,
                                       paddingIndex: c.paddingIndex >= 0 ? Int32(c.paddingIndex) : nil, std: c.embeddingStd)
        case (true, .scalar): embedding = ScalarTokenEmbedding("embedding", arena: arena, dim: c.dim)
        }
        classToken = c.pooling.addsClassToken ? ClassToken(arena: arena, dim: c.dim, std: c.classTokenStd) : nil
        positions = PositionalEmbedding("position", arena: arena, maxLength: c.modelLength(tokens: c.maxLength), dim: c.dim,
                                        kind: c.positions)
        embeddingDropout = Dropout(rate: c.dropout, streamID: 1)
        var firstParameters: [Int] = []
        var downsamplers: [DCTDownsampler?] = []
        let lengths = c.blockLengths  // the sequence length each block sees
        var mixerError: (any Error)?
        var design = c.mixer.blockDesign(c)
        if c.normEpsilon > 0 { design.epsilon = Float(c.normEpsilon) }
        blocks = (0..<c.depth).map { layer in
            let stage = c.downsample.first { $0.layer == layer }
            let downsampler = stage.map { DCTDownsampler(ratio: $0.ratio, keepsFirstToken: c.pooling.readsFirstPosition) }
            let length = lengths[layer]
            var layout = design.layout
            if let downsampler, c.block == .paper {
                layout = .shortenedResidual(downsampler)
                downsamplers.append(nil)
            } else {
                downsamplers.append(downsampler)
            }
            firstParameters.append(arena.entries.count)
            return EncoderBlock("blocks.\(layer)", arena: arena, dim: c.dim, mlpHidden: c.mlpHidden, dropout: c.dropout,
                                streamID: UInt64(layer + 1), layout: layout, epsilon: design.epsilon,
                                tanhGELU: design.tanhGELU) { [length] name in
                guard let sharding else {
                    return c.mixer.makeMixer(c, name: name, arena: arena, length: length, seed: seed &+ UInt64(layer))
                }
                do {
                    return try c.mixer.makeSequenceParallelMixer(c, name: name, arena: arena, length: length, sharding: sharding)
                } catch {
                    mixerError = mixerError ?? error
                    return FNetMixing()  // never used: the error is thrown below
                }
            }
        }
        if let mixerError { throw mixerError }
        self.downsamplers = downsamplers
        shortens = (0..<c.depth).map { layer in c.downsample.contains { $0.layer == layer } }
        blockFirstParameter = firstParameters
        finalNorm = design.finalNorm ? LayerNorm("norm", arena: arena, size: c.dim, epsilon: design.epsilon) : nil
        pooling = Pooling(c.pooling)
    }

    /// `tokens` (batch, length) row-major; `mask` (batch, length), 1 = token, 0 = padding. With a
    /// sequence group: this rank's block, length N/P.
    /// Returns the pooled (batch, dim) representation.
    public func forward(tokens: [Int32], mask: Tensor?, batch: Int, length: Int, context: ForwardContext) -> Tensor {
        guard let embedding else { preconditionFailure("EncoderTower: built for embedded inputs, given tokens") }
        return forward(embedded: embedding.forward(tokens: tokens, batch: batch, length: length), mask: mask, context: context)
    }

    /// Whether this rank's block starts the sequence: where the class token is prepended.
    var holdsSequenceStart: Bool { sharding.map { $0.group.rank == 0 } ?? true }

    /// Embedded inputs (batch, length, dim) → pooled (batch, dim). With a class token the blocks
    /// see length + 1 positions (on the group's rank 0 only, under sequence parallelism).
    public func forward(embedded: Tensor, mask: Tensor?, context: ForwardContext) -> Tensor {
        var context = context
        var embedded = embedded
        context.mask = mask
        if let classToken, holdsSequenceStart {
            embedded = classToken.forward(embedded)
            context.mask = ClassToken.extend(mask: mask)
        }
        if let sharding { positions.offset = sharding.positionOffset(localLength: embedded.shape[1]) }
        var x = embeddingDropout.forward(positions.forward(embedded, context: context), context: context)
        for ((block, downsampler), shortens) in zip(zip(blocks, downsamplers), shortens) {
            if let downsampler { x = downsampler.forward(x, context: context) }
            if shortens && downsampler != nil { context.mask = nil }  // the padding mask no longer applies
            x = block.forward(x, context: context)
            if shortens { context.mask = nil }
        }
        let normalized = finalNorm?.forward(x, context: context) ?? x
        if let shardedPooling { return shardedPooling.forward(normalized, mask: context.mask) }
        return pooling.forward(normalized, mask: context.mask)
    }

    /// Gradient of the pooled output → parameter gradients in the arena; returns the
    /// gradient of the embedded inputs. After each block, `gradientsReady(i)` reports that
    /// every parameter registered at index ≥ i is final.
    @discardableResult
    public func backward(_ dPooled: Tensor, gradientsReady: ((Int) -> Void)? = nil) -> Tensor {
        let dNormalized = shardedPooling?.backward(dPooled) ?? pooling.backward(dPooled)
        var g = finalNorm?.backward(dNormalized) ?? dNormalized
        for ((block, downsampler), first) in zip(zip(blocks, downsamplers), blockFirstParameter).reversed() {
            g = block.backward(g)
            if let downsampler { g = downsampler.backward(g) }
            gradientsReady?(first)
        }
        var dEmbedded = positions.backward(embeddingDropout.backward(g))
        if let classToken, holdsSequenceStart { dEmbedded = classToken.backward(dEmbedded) }
        embedding?.backward(dEmbedded)
        if embedding != nil { gradientsReady?(0) }
        return dEmbedded
    }
}
