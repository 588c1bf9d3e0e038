import Foundation

/// The learning rate as a function of the step (0-based), all with optional linear warmup
/// from 0 over `warmup` steps.
public enum LearningRateSchedule: Sendable, Equatable {
    /// `peak` throughout (after warmup).
    case constant(peak: Float, warmup: Int)
    /// Warmup, then cosine from `peak` to `peak · finalRatio` at `total` steps.
    case cosine(peak: Float, warmup: Int, total: Int, finalRatio: Float)
    /// Warmup, then linear from `peak` to `peak · finalRatio` at `total` steps.
    case linear(peak: Float, warmup: Int, total: Int, finalRatio: Float)
    /// Warmup, then `peak · √(warmup / step)` (the Transformer's schedule, LRA's rsqrt).
    case inverseSquareRoot(peak: Float, warmup: Int)

    public func learningRate(at step: Int) -> Float {
        let (peak, warmup) = peakAndWarmup
        if warmup > 0 && step < warmup { return peak * Float(step + 1) / Float(warmup) }
        switch self {
        case .constant:
            return peak
        case .cosine(_, _, let total, let finalRatio):
            let progress = min(1, Double(step - warmup) / Double(max(1, total - warmup)))
            return peak * (finalRatio + (1 - finalRatio) * Float(0.5 * (1 + cos(Double.pi * progress))))
        case .linear(_, _, let total, let finalRatio):
            let progress = min(1, Float(step - warmup) / Float(max(1, total - warmup)))
            return peak * (1 - (1 - finalRatio) * progress)
        case .inverseSquareRoot:
            return peak * (Float(max(warmup, 1)) / Float(max(step, 1))).squareRoot()
        }
    }

    var peakAndWarmup: (Float, Int) {
        switch self {
        case .constant(let peak, let warmup), .inverseSquareRoot(let peak, let warmup): return (peak, warmup)
        case .cosine(let peak, let warmup, _, _), .linear(let peak, let warmup, _, _): return (peak, warmup)
        }
    }
}
