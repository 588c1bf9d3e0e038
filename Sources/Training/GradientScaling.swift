/// Every scale a gradient takes between the loss and the optimizer, decided once from the run's
/// accumulation and grid (`RunAssembly`), so that the step's gradient is the mean over the global
/// batch at any rank count and accumulation:
///
/// 1. each micro-batch's loss gradient (the mean over its examples) × 1/`accumulation`
///    (`microBatchFactor`, applied by the trainer to the logits' gradient);
/// 2. the gradients' sum over all ranks ÷ `dataParallelRanks` (`GradientSynchronizer`'s
///    `averagingRanks`, given this value): the P ranks of a sequence group hold partial
///    gradients of one shard, which the world's sum adds;
/// 3. inside a sequence group, a layer replicated on every rank of it (the head) keeps 1/P of
///    its parameter gradients (`SequenceSharding.replicatedBackward`), so the sum in 2 counts
///    them once — a property of that layer's placement, stated where it is placed.
public struct GradientScaling: Sendable, Equatable {
    public let accumulation: Int
    public let dataParallelRanks: Int

    public init(accumulation: Int, dataParallelRanks: Int) {
        precondition(accumulation >= 1 && dataParallelRanks >= 1, "GradientScaling: counts must be positive")
        self.accumulation = accumulation
        self.dataParallelRanks = dataParallelRanks
    }

    /// The factor on each micro-batch's logits gradient; nil when there is one micro-batch.
    public var microBatchFactor: Float? { accumulation > 1 ? 1 / Float(accumulation) : nil }
}
