import Distributed
import TensorCore

/// FFTNet's spectral half by the distributed-DFT scheme (DISTRIBUTED.md, scheme 2): each
/// sequence's token block `(N/P, D)` is the input layout of D distributed complex transforms
/// of length N (`fftwf_mpi_plan_many_dft`, howmany = D); the forward transform leaves this
/// rank's block of N/P frequencies, the filter runs there, and the backward transform
/// returns the token block. One forward and one backward execution per batch element.
///
/// The full spectrum X of a real sequence is Hermitian, X[N−k] = conj X[k]; FFTNet's rfft bin
/// for frequency k is m(k) = k for k ≤ N/2, else N − k. modReLU(Z·w) scales Z by a real factor,
/// so the filtered spectrum stays Hermitian and its inverse is real: Re of it equals irfft.
///
/// Backward, with F the unitary DFT: y = Re F⁻¹V gives ∂L/∂V = F g (no bin doubling — both
/// twins k and N − k are present and each adds its share to bin m(k)), then modReLU's
/// backward per frequency, then ∂L/∂x = Re F⁻¹ ∂L/∂X.
final class DistributedDFTSpectralFilter: SpectralFilterScheme {
    let length: Int
    let dim: Int
    let heads: Int
    let bins: Int
    let plan: DistributedFourierPlan

    var spectrum = Tensor.empty  // Z: (B, N/P frequencies, D, 2), kept for backward

    init(length: Int, dim: Int, heads: Int, group: Communicator) throws {
        self.length = length
        self.dim = dim
        self.heads = heads
        bins = length / 2 + 1
        plan = try DistributedFourierPlan(length: length, howmany: dim, group: group)
    }

    /// FFTNet's rfft bin for global frequency k.
    @inline(__always)
    func bin(_ frequency: Int) -> Int { frequency <= length / 2 ? frequency : length - frequency }

    /// Copies one (N/P, D) real block into the plan's buffer as complex values.
    func load(_ source: UnsafePointer<Float>) {
        let data = plan.data, count = plan.localLength * dim
        parallelFor(count) { range in
            for i in range {
                data[2 * i] = source[i]
                data[2 * i + 1] = 0
            }
        }
    }

    /// The real part of the plan's buffer, times `scale`, into one (N/P, D) block.
    func storeRealPart(into destination: UnsafeMutablePointer<Float>, scale: Float) {
        let data = plan.data
        parallelFor(plan.localLength * dim) { range in
            for i in range { destination[i] = data[2 * i] * scale }
        }
    }

    // MARK: - Forward

    func forward(_ x: Tensor, filter: Tensor, bias: UnsafePointer<Float>) -> Tensor {
        let (b, local, d, f, h) = (x.shape[0], plan.localLength, dim, bins, heads)
        let headDim = d / h, scale = 1 / Float(length).squareRoot(), start = plan.frequencyStart
        var z = Tensor(zeros: [b, local, d, 2])
        var y = Tensor(zeros: x.shape)
        x.withUnsafeBufferPointer { xs in
            z.withUnsafeMutableBufferPointer { zs in
                filter.withUnsafeBufferPointer { ws in
                    y.withUnsafeMutableBufferPointer { ys in
                        for batch in 0..<b {
                            load(xs.baseAddress! + batch * local * d)
                            plan.forward()
                            let data = plan.data, zp = zs.baseAddress! + 2 * batch * local * d
                            let wp = ws.baseAddress! + batch * h * f
                            parallelFor(local, grain: max(1, 4096 / d)) { rows in
                                for row in rows {
                                    let m = bin(start + row)
                                    for channel in 0..<d {
                                        let head = channel / headDim, i = 2 * (row * d + channel)
                                        let re = data[i] * scale, im = data[i + 1] * scale
                                        zp[i] = re
                                        zp[i + 1] = im
                                        let v = ModReLUFilter.forward(re: re, im: im, filter: wp[head * f + m],
                                                                      bias: bias[head * f + m])
                                        data[i] = v.re
                                        data[i + 1] = v.im
                                    }
                                }
                            }
                            plan.backward()
                            storeRealPart(into: ys.baseAddress! + batch * local * d, scale: scale)
                        }
                    }
                }
            }
        }
        spectrum = z
        return y
    }

    // MARK: - Backward

    func backward(_ gradient: Tensor, filter: Tensor, bias: UnsafePointer<Float>)
        -> (input: Tensor, filter: Tensor, bias: Tensor) {
        let (b, local, d, f, h) = (spectrum.shape[0], plan.localLength, dim, bins, heads)
        let headDim = d / h, scale = 1 / Float(length).squareRoot(), start = plan.frequencyStart
        var gw = Tensor(zeros: [b, h, f]), gBias = Tensor(zeros: [h, f])
        var dx = Tensor(zeros: gradient.shape)
        gradient.withUnsafeBufferPointer { gs in
            spectrum.withUnsafeBufferPointer { zs in
                filter.withUnsafeBufferPointer { ws in
                    gw.withUnsafeMutableBufferPointer { gws in
                        gBias.withUnsafeMutableBufferPointer { gbs in
                            dx.withUnsafeMutableBufferPointer { dxs in
                                for batch in 0..<b {
                                    load(gs.baseAddress! + batch * local * d)
                                    plan.forward()
                                    let data = plan.data, zp = zs.baseAddress! + 2 * batch * local * d
                                    let wp = ws.baseAddress! + batch * h * f, gwp = gws.baseAddress! + batch * h * f
                                    let gbp = gbs.baseAddress!
                                    // Parallel over heads: each thread owns its heads' W and β gradient rows
                                    // (frequencies k and N − k share a bin when both are local).
                                    parallelFor(h, grain: 1) { headRange in
                                        for head in headRange {
                                            for row in 0..<local {
                                                let m = bin(start + row), slot = head * f + m
                                                for channel in (head * headDim)..<((head + 1) * headDim) {
                                                    let i = 2 * (row * d + channel)
                                                    let g = ModReLUFilter.backward(
                                                        re: zp[i], im: zp[i + 1], filter: wp[slot], bias: bias[slot],
                                                        gradientRe: data[i] * scale, gradientIm: data[i + 1] * scale)
                                                    gwp[slot] += g.filter
                                                    gbp[slot] += g.bias
                                                    data[i] = g.re
                                                    data[i + 1] = g.im
                                                }
                                            }
                                        }
                                    }
                                    plan.backward()
                                    storeRealPart(into: dxs.baseAddress! + batch * local * d, scale: scale)
                                }
                            }
                        }
                    }
                }
            }
        }
        spectrum = Tensor.empty
        return (dx, gw, gBias)
    }
}
