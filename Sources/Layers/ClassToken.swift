import Parameters
import TensorCore

/// A learned classification token prepended to every sequence, as LRA's Transformer, ViT
/// (timm) and the FFTNet code do: (B, N, D) → (B, N + 1, D), row 0 of every example the
/// parameter `cls_token` (1, 1, D) — timm's and the FFTNet code's name and shape, so their
/// state dicts map one to one. It enters before the learned positions (it takes position 0),
/// is never masked, and the head reads its final state (`Pooling.Kind.cls`).
///
/// Initialised normal(0, 0.02), as the FFTNet code's `trunc_normal_(std=0.02)` (a cut at ±2
/// absolute, 100 standard deviations, changes nothing) and timm's ViT, or zeros (`std` 0,
/// `model.class_token_std: 0`) as LRA's Transformer. No weight decay.
///
/// Backward: the token's gradient is the sum over the batch of the gradient at position 0;
/// the input gets the rest.
public final class ClassToken {
    public let arena: ParameterArena
    public let token: Parameter
    public let dim: Int
    var shape: [Int] = []

    /// `std` 0 starts the token at zeros, as LRA's Transformer (`nn.initializers.zeros`).
    public init(_ name: String = "cls_token", arena: ParameterArena, dim: Int, std: Float = 0.02) {
        self.arena = arena
        self.dim = dim
        token = arena.register(name, shape: [1, 1, dim], initializer: std > 0 ? .normal(std: std) : .zeros, weightDecay: false)
    }

    /// (B, N, D) → (B, N + 1, D) with the token at position 0.
    public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 3 && x.shape[2] == dim, "ClassToken: (B, N, \(dim)) input expected, got \(x.shape)")
        let (batch, length) = (x.shape[0], x.shape[1])
        shape = x.shape
        var y = Tensor(uninitialized: [batch, length + 1, dim])  // every element is written below
        let token = arena.value(self.token), d = dim
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { ys in
                for b in 0..<batch {
                    let row = ys.baseAddress! + b * (length + 1) * d
                    row.update(from: token, count: d)
                    (row + d).update(from: xs.baseAddress! + b * length * d, count: length * d)
                }
            }
        }
        return y
    }

    /// A (B, N) padding mask → (B, N + 1) with the token valid (1) at position 0; nil stays nil.
    public static func extend(mask: Tensor?) -> Tensor? {
        guard let mask else { return nil }
        let (batch, length) = (mask.shape[0], mask.shape[1])
        var values = [Float](repeating: 1, count: batch * (length + 1))
        mask.withUnsafeBufferPointer { ms in
            for b in 0..<batch {
                for n in 0..<length { values[b * (length + 1) + n + 1] = ms[b * length + n] }
            }
        }
        return Tensor(shape: [batch, length + 1], values: values)
    }

    /// Gradient (B, N + 1, D) → the token's gradient (summed over the batch, added into the
    /// arena) and the input's (B, N, D).
    public func backward(_ dy: Tensor) -> Tensor {
        let (batch, length) = (shape[0], shape[1])
        precondition(dy.shape == [batch, length + 1, dim], "ClassToken: gradient \(dy.shape) for input \(shape)")
        var dx = Tensor(uninitialized: shape)  // every element is written below
        let gradient = arena.gradient(token), d = dim
        dy.withUnsafeBufferPointer { gs in
            dx.withUnsafeMutableBufferPointer { dxs in
                for b in 0..<batch {
                    let row = gs.baseAddress! + b * (length + 1) * d
                    for j in 0..<d { gradient[j] += row[j] }
                    (dxs.baseAddress! + b * length * d).update(from: row + d, count: length * d)
                }
            }
        }
        return dx
    }
}
