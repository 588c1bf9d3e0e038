import Foundation

/// A lower bound on the memory one rank of a run needs, checked before anything is allocated:
/// a run that cannot fit is a configuration error that says how much it would need, not an
/// allocation failure part-way through building the model.
///
/// The bound counts the parameters of the embeddings, MLPs, heads and mixers (their weight
/// matrices and filters: `MixerKind.memoryLowerBound`) with their gradients and AdamW's two
/// moments (16 bytes each), and per layer the activations backward keeps: the residual stream,
/// the two LayerNorm outputs, the MLP's hidden layer, and the mixer's own (softmax attention's
/// Q, K, V, context and log-sum-exp — never N × N, which the layer does not store — the
/// kernelized mixers' feature maps, the FFT mixers' spectra). Biases, norms and work buffers are
/// left out, so a run under it may still not fit, but one over it cannot. `MemoryEstimateTests`
/// holds the parameter bound within 10% below the real count and the activation bound below the
/// peak tensor memory of a real step, for every mixer.
public struct MemoryEstimate: Sendable {
    public var parameters: Double
    public var parameterBytes: Double { 16 * parameters }
    public var activationBytes: Double
    public var totalBytes: Double { parameterBytes + activationBytes }

    public init(_ configuration: TrainingConfiguration, dataParallelRanks: Int) {
        let m = configuration.model
        let (dim, depth, mlp) = (Double(m.dim), Double(m.depth), Double(m.mlpHidden))
        let tokens = configuration.data.task.images ? m.maxLength : configuration.data.sequenceLength
        let length = m.modelLength(tokens: tokens)
        let mixer = m.mixer.memoryLowerBound(m, length: length)
        let embedding = m.embedding == .table ? Double(m.vocabularySize) * dim : dim
        let head = (m.head == .mlp ? dim * mlp + mlp * Double(m.classes) : dim * Double(m.classes))
        parameters = embedding + Double(m.maxLength + 1) * dim + depth * (2 * dim * mlp + mixer.parameters) + head
        let localBatch = max(Double(configuration.training.batchSize)
                             / Double(max(dataParallelRanks * configuration.training.accumulation, 1)), 1)
        activationBytes = localBatch * depth * (4 * Double(length) * (3 * dim + mlp) + mixer.activationBytes)
    }

    /// Throws when `ranksOnHost` ranks of this size exceed `available` bytes.
    public func check(ranksOnHost: Int, available: Double = Double(ProcessInfo.processInfo.physicalMemory)) throws {
        let needed = totalBytes * Double(max(ranksOnHost, 1))
        guard needed > available else { return }
        func gigabytes(_ bytes: Double) -> String { String(format: bytes >= 1e12 ? "%.3g" : "%.2f", bytes / 1e9) + " GB" }
        throw ConfigurationError(
            "the run needs at least \(gigabytes(totalBytes)) per rank (\(String(format: "%.3g", parameters)) parameters "
            + "with gradients and AdamW moments \(gigabytes(parameterBytes)), activations \(gigabytes(activationBytes)))"
            + (ranksOnHost > 1 ? ", \(gigabytes(needed)) for the \(ranksOnHost) ranks on this host" : "")
            + "; this machine has \(gigabytes(available)). Reduce model.dim, model.depth, model.mlp_hidden, "
            + "model.max_length, data.sequence_length or training.batch_size (or use more ranks)", key: "model.dim")
    }
}
