import TensorCore

/// Inverted dropout: in training each element is kept with probability 1 − rate and
/// scaled by 1 / (1 − rate); in evaluation it is the identity. The mask comes from the
/// step's random stream derived with this layer's `streamID`, so it is reproducible.
///
/// Element i uses the stream's i-th uniform, four per Philox block; the blocks are computed
/// in parallel, so the mask is the same for any thread count and equals what `count` sequential
/// `uniform()` calls give.
public final class Dropout: SequenceLayer {
    public let rate: Float
    public let streamID: UInt64
    var keep: Tensor? = nil  // 0 or 1 / (1 − rate) per element

    public init(rate: Float, streamID: UInt64) {
        precondition(rate >= 0 && rate < 1, "Dropout: rate must be in [0, 1), got \(rate)")
        self.rate = rate
        self.streamID = streamID
    }

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        guard context.training && rate > 0 else {
            keep = nil
            return x
        }
        let stream = context.random.derived(streamID)
        let (rate, scale, count) = (rate, 1 / (1 - rate), x.count)
        var mask = Tensor(uninitialized: x.shape)
        var y = Tensor(uninitialized: x.shape)
        Tensor.withUnsafeBufferPointers(writing: &mask, &y, reading: x) { ms, ys, xs in
            let input = xs.baseAddress!, keep = ms.baseAddress!, output = ys.baseAddress!
            @inline(__always) func apply(_ i: Int, _ word: UInt32) {
                let factor: Float = RandomStream.uniform(bits: word) < rate ? 0 : scale
                keep[i] = factor
                output[i] = input[i] * factor
            }
            parallelFor((count + 3) / 4, grain: 4096) { blocks in
                for index in blocks {
                    let bits = stream.block(UInt64(index)), i = 4 * index
                    if i + 4 <= count {
                        apply(i, bits.0); apply(i + 1, bits.1); apply(i + 2, bits.2); apply(i + 3, bits.3)
                    } else {
                        if i < count { apply(i, bits.0) }
                        if i + 1 < count { apply(i + 1, bits.1) }
                        if i + 2 < count { apply(i + 2, bits.2) }
                    }
                }
            }
        }
        keep = mask
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let mask = keep else { return dy }
        var dx = Tensor(uninitialized: dy.shape)
        Tensor.withUnsafeBufferPointers(writing: &dx, reading: dy, mask) { dxs, gs, ms in
            Kernels.multiply(gs, ms, into: dxs)
        }
        keep = nil
        return dx
    }
}
