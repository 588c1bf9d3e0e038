import Distributed
import Layers
import TensorCore

/// Pooling of sequences split by tokens over a sequence group: each rank holds `[B, N/P, D]`
/// (a contiguous block of every sequence) and gets the pooled `[B, D]` of the whole
/// sequences, the same on every rank of the group.
///
/// Mean: each rank sums its valid tokens and counts them; one all-reduce of B·D + B floats
/// gives the sums and counts of the whole sequences. CLS (or first-token) pooling: position 0
/// lives on the group's rank 0, whose contribution the all-reduce hands to everyone.
///
/// Backward takes the gradient of the pooled vector — the full value, identical on every rank
/// — and returns this rank's tokens' share. Layers above a group-reduced value run on every
/// rank; the callers count their parameter gradients once per group.
public final class ShardedPooling {
    public let kind: Pooling.Kind
    public let group: Communicator
    /// Pools the local tokens with whole-sequence weights, and spreads the gradient back.
    let local: Pooling
    /// Where a failed all-reduce or an example without tokens is recorded (`SequenceSharding`).
    public let failures: ShardFailures

    public init(_ kind: Pooling.Kind, group: Communicator, failures: ShardFailures? = nil) {
        self.kind = kind
        self.group = group
        self.failures = failures ?? ShardFailures(rank: group.rank)
        local = Pooling(kind)
    }

    /// `x` (B, N/P, D) and this block's `mask` (B, N/P) → (B, D). Collective over the group.
    public func forward(_ x: Tensor, mask: Tensor?) -> Tensor {
        let (batch, length) = (x.shape[0], x.shape[1])
        var weights = [Float](repeating: 0, count: batch * length)
        switch kind {
        case .cls, .first:
            if group.rank == 0 { for b in 0..<batch { weights[b * length] = 1 } }
        case .mean:
            var counts = [Float](repeating: 0, count: batch)
            for b in 0..<batch {
                for n in 0..<length {
                    let valid = mask.map { $0[b, n] } ?? 1
                    weights[b * length + n] = valid
                    counts[b] += valid
                }
            }
            failures.collective("all-reduce of the pooled token counts") { try group.allreduce(&counts) }
            for b in 0..<batch {
                guard counts[b] > 0 else {
                    failures.record("example \(b) of the batch has no valid token in its whole sequence (mask all 0)")
                    continue
                }
                for n in 0..<length { weights[b * length + n] /= counts[b] }
            }
        }
        var y = local.forward(x, weights: weights)  // this block's share of Σ_n w_bn x_bn
        y.withUnsafeMutableBufferPointer { ys in failures.collective("all-reduce of the pooled vectors") { try group.allreduce(ys) } }
        return y
    }

    /// The full gradient of the pooled vector (B, D) → this block's (B, N/P, D). Local.
    public func backward(_ dy: Tensor) -> Tensor { local.backward(dy) }
}
