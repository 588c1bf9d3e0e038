import Layers

/// The token mixer in each encoder block (MODELS.md).
public enum MixerKind: String, Sendable, Codable, CaseIterable {
    /// Softmax multi-head attention, the Transformer baseline.
    case attention
}

/// The shape of an encoder model; every field has a default (docs/configuration.md).
public struct ModelConfiguration: Sendable, Codable, Equatable {
    public var mixer: MixerKind = .attention
    /// Token vocabulary including the padding id 0 (LRA bytes: 257).
    public var vocabularySize = 257
    /// Longest sequence the positional table holds.
    public var maxLength = 1024
    public var dim = 256
    public var depth = 4
    public var heads = 8
    public var mlpHidden = 1024
    public var dropout: Float = 0.1
    public var classes = 10
    public var pooling: Pooling.Kind = .mean
    /// Token id that marks padding (embeds to zeros, no gradient); -1: none (pixel tokens).
    public var paddingIndex = 0
    /// Causal masking in the mixers that support it.
    public var causal = false

    public init() {}

    /// Checks the combination; the message names the offending keys.
    public func validate() throws(ModelConfigurationError) {
        func require(_ condition: Bool, _ message: String) throws(ModelConfigurationError) {
            if !condition { throw ModelConfigurationError(message: message) }
        }
        try require(vocabularySize >= 2, "model.vocabulary_size must be at least 2, got \(vocabularySize)")
        try require(maxLength >= 1, "model.max_length must be at least 1, got \(maxLength)")
        try require(dim >= 1 && depth >= 1 && heads >= 1 && mlpHidden >= 1,
                    "model.dim, depth, heads and mlp_hidden must be positive")
        try require(dim % heads == 0, "model.dim \(dim) is not divisible by model.heads \(heads)")
        try require(classes >= 2, "model.classes must be at least 2, got \(classes)")
        try require(dropout >= 0 && dropout < 1, "model.dropout must be in [0, 1), got \(dropout)")
    }
}

public struct ModelConfigurationError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { message }
}
