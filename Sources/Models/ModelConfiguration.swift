import Layers
import SpectralMixing

/// Where each encoder block puts its norms and residuals (docs/models.md, "Paper blocks").
public enum BlockKind: String, Sendable, Codable, CaseIterable {
    /// Parseval's pre-norm block for every mixer (PyTorch's LayerNorm ε 1e-5, exact GELU).
    case preNorm = "pre_norm"
    /// Each paper's own block, as its official code builds it: FNet post-norm (ε 1e-12, tanh
    /// GELU); FFTNet v1's post-norm mixer (context mean over every token); the Fourier
    /// Transformer's shortened normalised residual (LUMIA-Group, ε 1e-5); LRA's Transformer
    /// for attention, Performer and kernelized RPE (Flax: ε 1e-6, tanh GELU).
    case paper
}

/// A Fourier Transformer downsampling step: before block `layer`, the sequence becomes
/// IDCT_K(DCT_N(x)[:K]) with K = ceil(ratio · N).
public struct DownsampleStage: Sendable, Codable, Equatable {
    public var layer: Int
    public var ratio: Double

    public init(layer: Int, ratio: Double) {
        self.layer = layer
        self.ratio = ratio
    }
}

/// The shape of an encoder model; every field has a default (docs/configuration.md).
public struct ModelConfiguration: Sendable, Codable, Equatable {
    public var mixer: MixerKind = .attention
    /// The blocks' arrangement: Parseval's pre-norm or each paper's own.
    public var block: BlockKind = .preNorm
    /// Every LayerNorm's ε; 0: the block kind's (1e-5, or each paper's). timm's ViT uses 1e-6.
    public var normEpsilon = 0.0
    /// Token ids the embedding holds, padding included; 0: the task's (`TaskKind.vocabularySize`),
    /// else at least the task's.
    public var vocabularySize = 0
    /// Longest sequence the positional table holds.
    public var maxLength = 1024
    public var dim = 256
    public var depth = 4
    public var heads = 8
    public var mlpHidden = 1024
    public var dropout: Float = 0.1
    /// Output classes; 0: the task's (`TaskKind.classes`, or ImageNet's folders), else equal to them.
    public var classes = 0
    /// `mean` over valid tokens, `cls` (a learned class token prepended to every sequence; the
    /// positional table then holds `max_length + 1` rows, row 0 the token's) or `first` (the
    /// first input token).
    public var pooling: Pooling.Kind = .mean
    /// How token ids become vectors: `table` (a learned row per id) or `scalar` (the id as a
    /// number through a Linear(1, D), as the FFTNet code's LRA model).
    public var embedding: EmbeddingKind = .table
    /// Positions: `learned` (a table, normal(0, 0.02)) or `sinusoidal` (LRA's fixed table).
    public var positions: PositionKind = .learned
    /// The token table's initial standard deviation (LRA's `nn.Embed`: 1.0).
    public var embeddingStd: Float = 0.02
    /// The class token's initial standard deviation; 0: zeros (LRA's Transformer).
    public var classTokenStd: Float = 0.02
    /// The classifier over the pooled vector: `linear`, or `mlp` (Linear → ReLU → Linear with
    /// `mlp_hidden` units, LRA's and the LUMIA code's head). Sequence classifiers only.
    public var head: HeadKind = .linear
    /// Token id that marks padding (embeds to zeros, no gradient); -1: none (pixel tokens).
    public var paddingIndex = 0
    /// Causal masking in the mixers that support it.
    public var causal = false
    /// FFTNet: frequency knots of the filter MLP, interpolated to the N/2+1 bins; 0: one per
    /// bin (the paper's layer).
    public var filterKnots = 0
    /// Kernelized attention: random features m per head.
    public var randomFeatures = 64
    /// Kernelized attention: redraw the random features every N training steps (0: fixed).
    public var featureRedrawInterval = 0
    /// Vision models: P×P patches (0: a token model).
    public var patchSize = 0
    /// Fourier Transformer: DCT downsampling before the listed blocks (LRA: layer 0, ratio 0.2).
    public var downsample: [DownsampleStage] = []

    public init() {}

    /// The mixer-specific keys whose default means "not in use", and whether a configuration sets
    /// them: set for a mixer whose `MixerDefinition.settings` lacks the key, `validate` refuses it
    /// naming the mixer and the key. (`random_features` is read only by the kernelized mixers,
    /// but its default is a value in use, so any mixer may carry it.)
    static let mixerSettings: [(key: String, isSet: @Sendable (ModelConfiguration) -> Bool)] = [
        ("filter_knots", { $0.filterKnots != 0 }),
        ("feature_redraw_interval", { $0.featureRedrawInterval != 0 }),
    ]

    /// The length the blocks see for inputs of `tokens` tokens: one more with a learned class token.
    public func modelLength(tokens: Int) -> Int { tokens + (pooling.addsClassToken ? 1 : 0) }

    /// The length each block sees, in order: the model's length (`modelLength`), shortened by
    /// each `downsample` stage from its block on.
    public var blockLengths: [Int] {
        var length = modelLength(tokens: maxLength)
        return (0..<depth).map { layer in
            if let stage = downsample.first(where: { $0.layer == layer }) {
                length = DCTDownsampler(ratio: stage.ratio, keepsFirstToken: pooling.readsFirstPosition)
                    .outputLength(forInputLength: length)
            }
            return length
        }
    }

    /// Checks the combination of keys (each key's own range is checked with every other
    /// setting's, in `TrainingConfiguration.settingRules`); the message names the keys, `key`
    /// the one the loader points at.
    public func validate() throws(ModelConfigurationError) {
        func require(_ condition: Bool, _ key: String, _ message: String) throws(ModelConfigurationError) {
            if !condition { throw ModelConfigurationError(message: message, key: key) }
        }
        try require(dim % heads == 0, "model.heads", "model.dim \(dim) is not divisible by model.heads \(heads)")
        try require(vocabularySize == 0 || paddingIndex < vocabularySize, "model.padding_index",
                    "model.padding_index \(paddingIndex) is not a token id below model.vocabulary_size \(vocabularySize)")
        try require(!causal || mixer.supportsCausal, "model.causal",
                    "model.causal: the \(mixer.rawValue) mixer has no causal form (causal mixers: "
                    + MixerKind.allCases.filter(\.supportsCausal).map(\.rawValue).joined(separator: ", ") + ")")
        for (key, isSet) in Self.mixerSettings where isSet(self) && !mixer.definition.settings.contains(key) {
            let readers = MixerKind.allCases.filter { $0.definition.settings.contains(key) }.map(\.rawValue)
            try require(false, "model.\(key)", "model.\(key): the \(mixer.rawValue) mixer does not use it (it applies to "
                        + readers.joined(separator: ", ") + "); leave it out")
        }
        for (index, stage) in downsample.enumerated() {
            try require(stage.layer >= 0 && stage.layer < depth, "model.downsample.\(index).layer",
                        "model.downsample[\(index)].layer \(stage.layer) is not a block (0..<\(depth))")
            try require(stage.ratio > 0 && stage.ratio <= 1, "model.downsample.\(index).ratio",
                        "model.downsample[\(index)].ratio must be in (0, 1], got \(stage.ratio)")
        }
        try require(Set(downsample.map(\.layer)).count == downsample.count, "model.downsample", "model.downsample lists a layer twice")
        // FFTNet's filter has one value per frequency of the block's length: after DCT
        // downsampling, of the shortened length.
        let shortest = blockLengths.min() ?? maxLength
        try require(filterKnots <= shortest / 2 + 1, "model.filter_knots",
                    "model.filter_knots must be in 0...\(shortest / 2 + 1) (0: one per frequency), got \(filterKnots): the "
                    + (downsample.isEmpty ? "blocks see \(shortest) tokens" : "shortest block sees \(shortest) tokens after model.downsample"))
    }
}

public struct ModelConfigurationError: Error, CustomStringConvertible, Equatable {
    public let message: String
    /// The dotted key at fault.
    public var key: String? = nil
    public var description: String { message }
}
