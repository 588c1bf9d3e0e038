import TensorCore

/// One labelled example as a loader produces it, before batching.
///
/// Sequence tasks fill `tokens` (unpadded, already truncated to the task's length);
/// retrieval adds `pairedTokens` for the second document; image tasks for a vision model
/// fill `image` with a normalised (H, W, C) tensor instead.
public struct Example: Sendable, Equatable {
    /// Token ids, without padding (0 is reserved for padding in every vocabulary here).
    public var tokens: [Int32]
    /// The second document of a retrieval pair, or nil.
    public var pairedTokens: [Int32]?
    /// A (H, W, C) Float32 image, or nil for token tasks.
    public var image: Tensor?
    /// The class index, in 0..<classes.
    public var label: Int32

    public init(tokens: [Int32] = [], pairedTokens: [Int32]? = nil, image: Tensor? = nil, label: Int32) {
        self.tokens = tokens
        self.pairedTokens = pairedTokens
        self.image = image
        self.label = label
    }
}
