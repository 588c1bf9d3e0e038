import TensorCore

/// What a forward pass needs besides its input: train or eval mode, the padding mask,
/// and the random stream for this step's dropout.
public struct ForwardContext: Sendable {
    /// Dropout is active and batch statistics are kept for backward only when training.
    public var training: Bool
    /// (B, N): 1 for a real token, 0 for padding; nil when every token is real.
    public var mask: Tensor?
    /// Dropout masks derive from this stream (one per step, derived per layer).
    public var random: RandomStream
    /// The optimizer step (0-based) this forward belongs to: the step being trained, or for an
    /// evaluation the step that last trained the parameters. Schedules that change the function
    /// itself — kernelized attention's feature redraws — are a pure function of it, so a resume
    /// or an evaluation of a checkpoint sees exactly what training saw.
    public var step: Int

    public init(training: Bool, mask: Tensor? = nil, random: RandomStream = RandomStream(seed: 0), step: Int = 0) {
        self.training = training
        self.mask = mask
        self.random = random
        self.step = step
    }
}

/// A layer that maps a (B, N, D) activation to a (B, N, D′) activation.
///
/// `forward` keeps what `backward` needs; `backward` takes the gradient of the loss with
/// respect to the last forward's output, *adds* parameter gradients into the arena, and
/// returns the gradient with respect to that forward's input. One backward per forward.
public protocol SequenceLayer: AnyObject {
    func forward(_ x: Tensor, context: ForwardContext) -> Tensor
    func backward(_ gradient: Tensor) -> Tensor
}

/// A layer that mixes information across the tokens of a (B, N, D) sequence and keeps its
/// shape: softmax attention, FNet, FFTNet, kernelized attention. The slot in the encoder
/// block that each paper fills.
public protocol TokenMixer: SequenceLayer {}
