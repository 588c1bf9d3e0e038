import TensorCore

/// A batch of B examples laid out for the model code.
///
/// Token tasks: `tokens` is B×N row-major (N = `sequenceLength`), padded with 0 and truncated
/// to N; `mask` is 1 at real tokens and 0 at padding. Retrieval adds the second document in
/// `pairedTokens`/`pairedMask` with the same layout. Image tasks for a vision model leave the
/// token arrays empty (N = 0) and put a (B, H, W, C) tensor in `images`. Pixel-as-token tasks
/// (LRA Image, Pathfinder) are token tasks.
public struct Batch: Sendable, Equatable {
    /// Sequence length N of `tokens` and `mask` (0 for image batches).
    public var sequenceLength: Int
    /// Token ids, B×N row-major, 0 = padding.
    public var tokens: [Int32]
    /// 1 for a real token, 0 for padding, B×N row-major.
    public var mask: [Float]
    /// The second document's tokens for retrieval pairs, B×N, or nil.
    public var pairedTokens: [Int32]?
    /// The second document's mask, or nil.
    public var pairedMask: [Float]?
    /// Images (B, H, W, C), or nil for token tasks.
    public var images: Tensor?
    /// Class labels, one per example.
    public var labels: [Int32]
    /// The dataset index of each example (where it came from; repeated under sampler padding).
    public var indices: [Int]

    /// B, the number of examples.
    public var size: Int { labels.count }

    /// Stacks `examples` (which came from `indices`) into a batch, padding or truncating
    /// token sequences to `sequenceLength`. Examples must agree on having paired tokens and
    /// on image shape (the loaders guarantee this).
    public static func collate(_ examples: [Example], indices: [Int], sequenceLength: Int) -> Batch {
        precondition(examples.count == indices.count, "Batch.collate: \(examples.count) examples, \(indices.count) indices")
        let count = examples.count
        let hasPairs = examples.first?.pairedTokens != nil
        var tokens = [Int32](repeating: 0, count: count * sequenceLength)
        var mask = [Float](repeating: 0, count: count * sequenceLength)
        var pairedTokens = hasPairs ? [Int32](repeating: 0, count: count * sequenceLength) : nil
        var pairedMask = hasPairs ? [Float](repeating: 0, count: count * sequenceLength) : nil
        for (row, example) in examples.enumerated() {
            place(example.tokens, row: row, length: sequenceLength, tokens: &tokens, mask: &mask)
            precondition((example.pairedTokens != nil) == hasPairs, "Batch.collate: mixed paired and single examples")
            if let second = example.pairedTokens {
                place(second, row: row, length: sequenceLength, tokens: &pairedTokens!, mask: &pairedMask!)
            }
        }
        return Batch(sequenceLength: sequenceLength, tokens: tokens, mask: mask,
                     pairedTokens: pairedTokens, pairedMask: pairedMask,
                     images: stackImages(examples), labels: examples.map(\.label), indices: indices)
    }

    private static func place(_ sequence: [Int32], row: Int, length: Int, tokens: inout [Int32], mask: inout [Float]) {
        let used = min(sequence.count, length)
        let offset = row * length
        tokens.withUnsafeMutableBufferPointer { tokenBuffer in
            mask.withUnsafeMutableBufferPointer { maskBuffer in
                sequence.withUnsafeBufferPointer { source in
                    for position in 0..<used {
                        tokenBuffer[offset + position] = source[position]
                        maskBuffer[offset + position] = 1
                    }
                }
            }
        }
    }

    /// (B, H, W, C) from examples' (H, W, C) images, or nil when the examples have none.
    private static func stackImages(_ examples: [Example]) -> Tensor? {
        guard let first = examples.first?.image else { return nil }
        let shape = first.shape
        let perImage = first.count
        var stacked = Tensor(zeros: [examples.count] + shape)
        stacked.withUnsafeMutableBufferPointer { destination in
            for (row, example) in examples.enumerated() {
                guard let image = example.image, image.shape == shape else {
                    preconditionFailure("Batch.collate: image shapes differ (\(shape) and \(example.image?.shape ?? []))")
                }
                let slot = UnsafeMutableBufferPointer(rebasing: destination[(row * perImage)..<((row + 1) * perImage)])
                image.withUnsafeBufferPointer { source in _ = slot.update(fromContentsOf: source) }
            }
        }
        return stacked
    }
}
