import Foundation
import Parameters
import TensorCore

/// AdamW (Loshchilov & Hutter), exactly PyTorch's `torch.optim.AdamW` update:
/// p ← p·(1 − lr·λ) for decayed parameters; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
/// p ← p − lr · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε).
/// Decay applies only to parameters registered with `weightDecay: true` (not norms,
/// biases or embeddings). The moments mirror the arena's layout.
public final class AdamW: Optimizer {
    public let arena: ParameterArena
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    /// First and second moments, laid out like the arena: standalone storage (no `Tensor` shares
    /// it) that `step` updates in place, as does `restore` through `state.buffers` (the same objects).
    public let firstMoment: TensorStorage
    public let secondMoment: TensorStorage
    public private(set) var stepCount = 0

    public init(arena: ParameterArena, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0.01) {
        precondition(arena.isAllocated, "AdamW: allocate the arena first")
        self.arena = arena
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        firstMoment = TensorStorage(count: arena.values.count)
        secondMoment = TensorStorage(count: arena.values.count)
    }

    public func step(learningRate: Float) {
        stepCount += 1
        let t = stepCount
        let correction1 = 1 - Float(pow(Double(beta1), Double(t)))
        let correction2 = 1 - Float(pow(Double(beta2), Double(t)))
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        let p = arena.sharedValues.baseAddress!, g = arena.sharedGradients.baseAddress!
        let m = firstMoment.pointer, v = secondMoment.pointer
        for entry in arena.entries {
            let decay: Float = entry.weightDecay ? 1 - learningRate * weightDecay : 1
            let base = entry.offset
            parallelFor(entry.count, grain: 8192) { range in
                let j = base + range.lowerBound
                Kernels.adamW(parameters: p + j, gradients: g + j, firstMoment: m + j, secondMoment: v + j,
                              count: range.count, beta1: b1, beta2: b2, correction1: correction1,
                              correction2: correction2, epsilon: eps, learningRate: learningRate, decay: decay)
            }
        }
    }

    public var state: OptimizerState {
        OptimizerState(step: stepCount, buffers: ["exp_avg": firstMoment, "exp_avg_sq": secondMoment])
    }

    public func restore(_ state: OptimizerState) throws {
        try state.copyBuffers(into: ["exp_avg": firstMoment, "exp_avg_sq": secondMoment])
        stepCount = state.step
    }
}
