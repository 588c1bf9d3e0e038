import Parameters
import TensorCore

/// An optimizer: one loop over the parameter arena per step, using the gradients in it.
public protocol Optimizer: AnyObject {
    var arena: ParameterArena { get }
    /// Applies one update with the gradients currently in the arena.
    func step(learningRate: Float)
    /// The step count and the buffers (laid out like the arena) for checkpoints.
    var state: OptimizerState { get }
    func restore(_ state: OptimizerState) throws
}

/// An optimizer's saved state: step count and named buffers the size of the arena. The buffers
/// are the optimizer's own storage, not copies: writing into them (a checkpoint load) writes
/// the optimizer's state.
public struct OptimizerState {
    public var step: Int
    public var buffers: [String: TensorStorage]

    public init(step: Int, buffers: [String: TensorStorage]) {
        self.step = step
        self.buffers = buffers
    }

    func copyBuffers(into targets: [String: TensorStorage]) throws {
        for (name, target) in targets {
            guard let source = buffers[name] else {
                throw OptimizerStateError("optimizer state has no buffer '\(name)' (found: \(buffers.keys.sorted()))")
            }
            guard source.count == target.count else {
                throw OptimizerStateError("optimizer buffer '\(name)' has \(source.count) values, the model needs \(target.count)")
            }
            target.pointer.update(from: source.pointer, count: source.count)
        }
    }
}

public struct OptimizerStateError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The global L2 norm of every gradient in the arena (NaN/∞ if any gradient is not finite).
public func gradientNorm(_ arena: ParameterArena) -> Float {
    let gradients = UnsafeBufferPointer(arena.sharedGradients)
    return Float(Kernels.dot(gradients, gradients).squareRoot())
}

/// Scales all gradients so their global L2 norm is at most `maxNorm` (PyTorch's
/// `clip_grad_norm_`: factor maxNorm / (norm + 1e-6) when norm > maxNorm). Returns the
/// norm before clipping (NaN/∞ if any gradient is not finite; nothing is scaled then).
@discardableResult
public func clipGradientNorm(_ arena: ParameterArena, maxNorm: Float) -> Float {
    let norm = gradientNorm(arena)
    if norm.isFinite && norm > maxNorm {
        Kernels.scale(arena.sharedGradients, by: maxNorm / (norm + 1e-6))
    }
    return norm
}
