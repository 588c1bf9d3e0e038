import TensorCore

/// Inverted dropout: in training each element is kept with probability 1 − rate and
/// scaled by 1 / (1 − rate); in evaluation it is the identity. The mask comes from the
/// step's random stream derived with this layer's `streamID`, so it is reproducible.
public final class Dropout: SequenceLayer {
    public let rate: Float
    public let streamID: UInt64
    var keep: [Float]? = nil

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
        var stream = context.random.derived(streamID)
        let scale = 1 / (1 - rate)
        let mask = (0..<x.count).map { _ in stream.uniform() < rate ? 0 : scale }
        keep = mask
        var y = x
        y.withUnsafeMutableBufferPointer { ys in
            mask.withUnsafeBufferPointer { Kernels.multiply(UnsafeBufferPointer(ys), $0, into: ys) }
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let mask = keep else { return dy }
        var dx = dy
        dx.withUnsafeMutableBufferPointer { gs in
            mask.withUnsafeBufferPointer { Kernels.multiply(UnsafeBufferPointer(gs), $0, into: gs) }
        }
        keep = nil
        return dx
    }
}
