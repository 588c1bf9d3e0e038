import Foundation
import Layers
import Parameters
import TensorCore

/// Kernelized attention with relative positional encoding (Luo et al., "Stable, Fast and
/// Accurate: Kernelized Attention with Relative Positional Encoding", NeurIPS 2021, eq. 6–8).
/// Softmax attention with RPE,
///
///     Attn_i = Σ_j exp(q_i·k_j/√d + b_{j−i}) v_j / Σ_j exp(q_i·k_j/√d + b_{j−i}),
///
/// with exp(q·k/√d) replaced by φ(q)ᵀφ(k) (positive random features, φ(x) = exp(Ωx′ − |x′|²/2)/√m,
/// x′ = x/d^{1/4}, Ω: m × d_h with orthogonal Gaussian rows) and c_t = exp(b_t):
///
///     num_i = Σ_m φ(q_i)_m · (C · (φ(K) ⊗ V))_{i,m,:}    C_ij = c_{j−i}, Toeplitz
///     den_i = φ(q_i) · (C · φ(K))_i
///     out_i = num_i / max(den_i, ε)                       ε = 1e-6 (the guarded normaliser)
///
/// per head, for x: (B, N, D) → Q, K, V (B, N, D) → (B, N, D) → output projection. Both
/// Toeplitz products are one `ToeplitzFFT` product over m·(d_h + 1) channels: V is extended
/// with a column of ones, whose channel carries the denominator. Channels are processed in
/// chunks of whole features so the length-L buffers (L ≥ 2N − 1, `ToeplitzFFT.transformLength`) stay
/// within `chunkBudget` floats, and the
/// work around the FFTs is channel-major: φ, V and the sums are transposed once per layer, so
/// building the channels and contracting them with φ(q) are elementwise passes over positions.
///
/// Variants: `causal` sets c_t = 0 for t > 0; pad tokens (`context.mask` 0) get φ(k) = 0;
/// `usesRelativePositions: false` is plain kernelized attention (Performer, the paper's
/// baseline): no b_t, so C = 1 — a prefix sum (a Toeplitz product with unit coefficients)
/// when causal, else num = φ(Q)(φ(K)ᵀ[V 1]) with two matrix products.
///
/// Ω is drawn from a seeded stream and, with `redrawInterval: K`, redrawn every K optimizer
/// steps: the forward of step s (`ForwardContext.step`) uses draw s / K, Ω₀ from the stream itself
/// and Ω_k from its k-th derived stream. It is a pure function of the seed and the step, so a
/// resumed run and an evaluation of a checkpoint use the draws training used; it is not learned.
/// Checkpoints also store it, as the buffer `<name>.features` (m, d_h), so that other code can
/// evaluate them without Parseval's generator; loading one sets Ω and the draw count from the
/// checkpoint's step. Parameters: `<name>.query`, `<name>.key`,
/// `<name>.value`, `<name>.output` (Linear, D → D) and `<name>.rpe.bias` (H, 2·maxLength − 1),
/// offset t at index t + maxLength − 1, initialised to 0. Inputs may be shorter than
/// `maxLength`; they use the central 2N − 1 biases.
public final class KernelizedAttention: TokenMixer {
    public let arena: ParameterArena
    public let dim: Int
    public let heads: Int
    public let headDim: Int
    public let maxLength: Int
    /// m, the number of random features.
    public let featureCount: Int
    public let causal: Bool
    public let usesRelativePositions: Bool
    /// Redraw Ω every this many optimizer steps (nil: fixed).
    public let redrawInterval: Int?
    public let query: Linear
    public let key: Linear
    public let value: Linear
    public let output: Linear
    /// b_t, (H, 2·maxLength − 1); nil without relative positions.
    public let positionBias: Parameter?
    /// Ω (m, d_h) in use.
    public private(set) var features: Tensor
    let featureStream: RandomStream
    /// The draw `features` holds.
    var draws = 0
    static let epsilon: Float = 1e-6
    /// Floats per length-L work buffer of the Toeplitz products (at least one feature's
    /// d_h + 1 channels are processed at a time, whatever the budget).
    public var chunkBudget = 1 << 22

    // Kept by forward for backward.
    var saved: SavedState?

    /// What forward keeps for backward: the projections, φ(Q), φ(K), the [num | den] sums and Ω.
    struct SavedState {
        var queries, keys, values, queryFeatures, keyFeatures, sums, omega: Tensor
    }

    /// Registers the projections and (with `usesRelativePositions`) the RPE biases under `name`
    /// and draws Ω from `seed`.
    /// - Parameters:
    ///   - maxLength: the longest sequence; fixes the number of biases, 2·maxLength − 1 per head.
    ///   - features: m, the number of positive random features per head.
    ///   - redrawInterval: redraw Ω every this many optimizer steps; nil keeps it fixed.
    public init(_ name: String, arena: ParameterArena, dim: Int, heads: Int, maxLength: Int, features: Int,
                causal: Bool = false, usesRelativePositions: Bool = true, redrawInterval: Int? = nil, seed: UInt64 = 0) {
        precondition(dim % heads == 0, "KernelizedAttention: dim \(dim) is not divisible by heads \(heads)")
        precondition(features >= 1 && maxLength >= 1, "KernelizedAttention: features and maxLength must be positive")
        precondition(redrawInterval.map { $0 >= 1 } ?? true, "KernelizedAttention: redrawInterval must be at least 1")
        self.arena = arena
        self.dim = dim
        self.heads = heads
        headDim = dim / heads
        self.maxLength = maxLength
        featureCount = features
        self.causal = causal
        self.usesRelativePositions = usesRelativePositions
        self.redrawInterval = redrawInterval
        query = Linear("\(name).query", arena: arena, inputSize: dim, outputSize: dim)
        key = Linear("\(name).key", arena: arena, inputSize: dim, outputSize: dim)
        value = Linear("\(name).value", arena: arena, inputSize: dim, outputSize: dim)
        output = Linear("\(name).output", arena: arena, inputSize: dim, outputSize: dim)
        positionBias = usesRelativePositions
            ? arena.register("\(name).rpe.bias", shape: [heads, 2 * maxLength - 1], initializer: .zeros, weightDecay: false)
            : nil
        featureStream = RandomStream(seed: seed)
        self.features = KernelizedAttention.orthogonalGaussianFeatures(count: features, dimension: dim / heads,
                                                                       random: featureStream)
        arena.registerBuffer("\(name).features", shape: [features, dim / heads],
                             read: { [unowned self] in self.features.scalars },
                             write: { [unowned self] values, step in self.restoreFeatures(values, step: step) })
    }

    /// Ω as a checkpoint (or another implementation) holds it after `step` optimizer steps:
    /// with redraws, the draw the last of them used (step − 1, as evaluation counts), so the
    /// schedule continues from it and redraws when the next step crosses an interval.
    func restoreFeatures(_ values: [Float], step: Int) {
        precondition(values.count == featureCount * headDim, "KernelizedAttention: Ω needs \(featureCount)×\(headDim) values")
        features = Tensor(shape: [featureCount, headDim], values: values)
        if let interval = redrawInterval { draws = max(step - 1, 0) / interval }
    }

    /// Toeplitz products are needed with relative positions, or for the causal prefix sum.
    var usesToeplitz: Bool { usesRelativePositions || causal }

    // MARK: - Forward

    /// (B, N, D) → (B, N, D); `context.mask` zeroes φ(k) at pad keys; `context.step` picks Ω's draw.
    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        precondition(x.rank == 3 && x.shape[2] == dim && x.shape[1] <= maxLength,
                     "KernelizedAttention: (B, N ≤ \(maxLength), \(dim)) input expected, got \(x.shape)")
        let (b, n) = (x.shape[0], x.shape[1])
        if let mask = context.mask {
            precondition(mask.shape == [b, n], "KernelizedAttention: mask \(mask.shape), expected \([b, n])")
        }
        if let interval = redrawInterval, max(context.step, 0) / interval != draws {
            draws = max(context.step, 0) / interval
            features = KernelizedAttention.orthogonalGaussianFeatures(
                count: featureCount, dimension: headDim,
                random: draws == 0 ? featureStream : featureStream.derived(UInt64(draws)))
        }
        let q = query.forward(x, context: context), k = key.forward(x, context: context)
        let v = value.forward(x, context: context)
        // Under bf16 products only the four projections run in bf16: the feature maps feed exp
        // (as softmax's scores do, which stay fp32) and the sums are FFT or prefix products.
        let (phiQ, phiK, sums) = Matmul.withFP32Products {
            let phiQ = randomFeatures(q, omega: features, isQuery: true, mask: nil)
            let phiK = randomFeatures(k, omega: features, isQuery: false, mask: context.mask)
            // sums (B, H, N, d_h + 1): [num | den].
            let sums = usesToeplitz ? toeplitzForward(phiQ: phiQ, phiK: phiK, values: v)
                                    : linearForward(phiQ: phiQ, phiK: phiK, values: v)
            return (phiQ, phiK, sums)
        }
        // out_i = num_i / max(den_i, ε), heads back into (B, N, D).
        var attended = Tensor(zeros: [b, n, dim])
        let (h, dh, width) = (heads, headDim, headDim + 1)
        sums.withUnsafeBufferPointer { ss in
            attended.withUnsafeMutableBufferPointer { os in
                let s = ss.baseAddress!, out = os.baseAddress!
                parallelFor(b * n, grain: max(1, 4096 / dim)) { rows in
                    for row in rows {
                        let batch = row / n, i = row % n
                        for head in 0..<h {
                            let sum = s + ((batch * h + head) * n + i) * width
                            let inverse = 1 / max(sum[dh], KernelizedAttention.epsilon)
                            for c in 0..<dh { out[row * dim + head * dh + c] = sum[c] * inverse }
                        }
                    }
                }
            }
        }
        saved = SavedState(queries: q, keys: k, values: v, queryFeatures: phiQ, keyFeatures: phiK, sums: sums,
                           omega: features)
        return output.forward(attended, context: context)
    }

    // MARK: - Backward

    /// Adds the gradients of the four projections and the RPE biases; returns ∂L/∂x.
    public func backward(_ gradient: Tensor) -> Tensor {
        guard let saved else { preconditionFailure("KernelizedAttention.backward without forward") }
        self.saved = nil
        let (b, n, h, dh, width) = (saved.values.shape[0], saved.values.shape[1], heads, headDim, headDim + 1)
        let gAttended = output.backward(gradient)

        // ∂L/∂num_i = g_i / den_i;  ∂L/∂den_i = −g_i·out_i / den_i (0 where the guard holds).
        var gSums = Tensor(zeros: saved.sums.shape)
        Tensor.withUnsafeBufferPointers(writing: &gSums, reading: saved.sums, gAttended) { ds, ss, gs in
            let s = ss.baseAddress!, g = gs.baseAddress!, out = ds.baseAddress!
            parallelFor(b * h * n, grain: max(1, 4096 / width)) { rows in
                for row in rows {
                    let batch = row / (h * n), head = (row / n) % h, i = row % n
                    let sum = s + row * width, upstream = g + (batch * n + i) * dim + head * dh
                    let guarded = sum[dh] <= KernelizedAttention.epsilon
                    let inverse = 1 / max(sum[dh], KernelizedAttention.epsilon)
                    var dot: Float = 0
                    for c in 0..<dh {
                        out[row * width + c] = upstream[c] * inverse
                        dot += upstream[c] * sum[c]
                    }
                    out[row * width + dh] = guarded ? 0 : -dot * inverse * inverse
                }
            }
        }

        let (gQueries, gKeys, gValues) = Matmul.withFP32Products {
            var (gPhiQ, gPhiK, gValues) = usesToeplitz ? toeplitzBackward(saved, sumGradient: gSums)
                                                       : linearBackward(saved, sumGradient: gSums)
            let gQueries = randomFeaturesBackward(&gPhiQ, phi: saved.queryFeatures, input: saved.queries, omega: saved.omega)
            let gKeys = randomFeaturesBackward(&gPhiK, phi: saved.keyFeatures, input: saved.keys, omega: saved.omega)
            return (gQueries, gKeys, gValues)
        }
        var dx = query.backward(gQueries)
        let fromKeys = key.backward(gKeys), fromValues = value.backward(gValues)
        dx.withUnsafeMutableBufferPointer { dxs in
            fromKeys.withUnsafeBufferPointer { Kernels.axpy(1, $0, dxs) }
            fromValues.withUnsafeBufferPointer { Kernels.axpy(1, $0, dxs) }
        }
        return dx
    }
}
