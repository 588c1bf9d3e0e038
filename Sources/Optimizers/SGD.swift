import Parameters
import TensorCore

/// SGD with momentum, PyTorch's `torch.optim.SGD` update (dampening 0, no Nesterov):
/// g ← g + λp (decayed parameters only); b ← μb + g (b = g on the first step); p ← p − lr·b.
public final class SGD: Optimizer {
    public let arena: ParameterArena
    public var momentum: Float
    public var weightDecay: Float
    /// The momentum buffer, laid out like the arena: standalone storage (no `Tensor` shares it)
    /// that `step` updates in place, as does `restore` through `state.buffers` (the same object).
    public let velocity: TensorStorage
    public private(set) var stepCount = 0

    public init(arena: ParameterArena, momentum: Float = 0.9, weightDecay: Float = 0) {
        precondition(arena.isAllocated, "SGD: allocate the arena first")
        self.arena = arena
        self.momentum = momentum
        self.weightDecay = weightDecay
        velocity = TensorStorage(count: arena.values.count)
    }

    public func step(learningRate: Float) {
        let first = stepCount == 0
        stepCount += 1
        let mu = momentum
        let p = arena.sharedValues.baseAddress!, g = arena.sharedGradients.baseAddress!, b = velocity.pointer
        for entry in arena.entries {
            let lambda = entry.weightDecay ? weightDecay : 0
            let base = entry.offset
            parallelFor(entry.count, grain: 8192) { range in
                for i in range {
                    let j = base + i
                    let grad = g[j] + lambda * p[j]
                    b[j] = first ? grad : mu * b[j] + grad
                    p[j] -= learningRate * b[j]
                }
            }
        }
    }

    public var state: OptimizerState {
        OptimizerState(step: stepCount, buffers: ["momentum_buffer": velocity])
    }

    public func restore(_ state: OptimizerState) throws {
        try state.copyBuffers(into: ["momentum_buffer": velocity])
        stepCount = state.step
    }
}
