import Layers
import Parameters
import TensorCore

/// FFTNet's filter from the context (docs/models.md "FFTNet v1"), shared by `FFTNetMixing` and the
/// sequence-parallel FFTNet:
///
///     W = base + interp(W2 · GELU(W1 · c + b1) + b2)     c: (B, D) → W: (B, H, F)
///
/// The MLP emits K values per head, linearly interpolated to the F bins (`KnotInterpolation`).
/// Parameters `<name>.filter.fc1` (D → D), `<name>.filter.fc2` (D → H·K), `<name>.filter.base` (H, F).
package final class SpectralFilterNetwork {
    package let arena: ParameterArena
    package let heads: Int
    package let bins: Int
    package let filterKnots: Int
    package let hidden: Linear
    package let output: Linear
    package let base: Parameter
    let activation = GELU()
    let interpolation: KnotInterpolation

    package init(_ name: String, arena: ParameterArena, dim: Int, heads: Int, bins: Int, filterKnots: Int) {
        self.arena = arena
        self.heads = heads
        self.bins = bins
        self.filterKnots = filterKnots
        interpolation = KnotInterpolation(knots: filterKnots, bins: bins)
        hidden = Linear("\(name).filter.fc1", arena: arena, inputSize: dim, outputSize: dim)
        output = Linear("\(name).filter.fc2", arena: arena, inputSize: dim, outputSize: heads * filterKnots)
        base = arena.register("\(name).filter.base", shape: [heads, bins], initializer: .constant(1), weightDecay: false)
    }

    /// c (B, D) → W (B, H, F).
    package func forward(_ c: Tensor, context: ForwardContext) -> Tensor {
        let (b, h, f) = (c.shape[0], heads, bins)
        let delta = output.forward(activation.forward(hidden.forward(c, context: context), context: context), context: context)
        var filter = Tensor(zeros: [b, h, f])
        let baseValues = arena.value(base)
        delta.withUnsafeBufferPointer { ds in
            filter.withUnsafeMutableBufferPointer { ws in
                for row in 0..<(b * h) {
                    interpolation.apply(ds.baseAddress! + row * filterKnots, into: ws.baseAddress! + row * f)
                    for k in 0..<f { ws[row * f + k] += baseValues[(row % h) * f + k] }
                }
            }
        }
        return filter
    }

    /// ∂L/∂W (B, H, F) → adds ∂L/∂base = Σ_b ∂L/∂W and the MLP's gradients; returns ∂L/∂c (B, D).
    /// Linear in ∂L/∂W: a partial ∂L/∂W gives partial gradients and a partial ∂L/∂c.
    package func backward(_ filterGradient: Tensor) -> Tensor {
        let (b, h, f) = (filterGradient.shape[0], heads, bins)
        let dBase = arena.gradient(base)
        var gKnots = Tensor(zeros: [b, h * filterKnots])
        filterGradient.withUnsafeBufferPointer { gws in
            gKnots.withUnsafeMutableBufferPointer { gks in
                for row in 0..<(b * h) {
                    let g = gws.baseAddress! + row * f
                    for k in 0..<f { dBase[(row % h) * f + k] += g[k] }
                    interpolation.addAdjoint(g, into: gks.baseAddress! + row * filterKnots)
                }
            }
        }
        return hidden.backward(activation.backward(output.backward(gKnots)))
    }
}
