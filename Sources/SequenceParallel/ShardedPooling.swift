import Distributed
import Layers
import TensorCore

/// Pooling of sequences split by tokens over a sequence group: each rank holds `[B, N/P, D]`
/// (a contiguous block of every sequence) and gets the pooled `[B, D]` of the whole
/// sequences, the same on every rank of the group.
///
/// Mean: each rank sums its valid tokens and counts them; one all-reduce of B·D + B floats
/// gives the sums and counts of the whole sequences. CLS: the first token lives on the
/// group's rank 0, whose contribution the all-reduce hands to everyone.
///
/// Backward takes the gradient of the pooled vector — the full value, identical on every rank
/// — and returns this rank's tokens' share. Layers above a group-reduced value run on every
/// rank; the callers count their parameter gradients once per group.
public final class ShardedPooling {
    public let kind: Pooling.Kind
    public let group: Communicator
    /// Pools the local tokens with whole-sequence weights, and spreads the gradient back.
    let local: Pooling

    public init(_ kind: Pooling.Kind, group: Communicator) {
        self.kind = kind
        self.group = group
        local = Pooling(kind)
    }

    /// `x` (B, N/P, D) and this block's `mask` (B, N/P) → (B, D). Collective over the group.
    public func forward(_ x: Tensor, mask: Tensor?) -> Tensor {
        let (batch, length) = (x.shape[0], x.shape[1])
        var weights = [Float](repeating: 0, count: batch * length)
        switch kind {
        case .cls:
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
            collective { try group.allreduce(&counts) }
            for b in 0..<batch {
                precondition(counts[b] > 0, "ShardedPooling: example \(b) has no valid token")
                for n in 0..<length { weights[b * length + n] /= counts[b] }
            }
        }
        var y = local.forward(x, weights: weights)  // this block's share of Σ_n w_bn x_bn
        y.withUnsafeMutableBufferPointer { ys in collective { try group.allreduce(ys) } }
        return y
    }

    /// The full gradient of the pooled vector (B, D) → this block's (B, N/P, D). Local.
    public func backward(_ dy: Tensor) -> Tensor { local.backward(dy) }
}

/// Runs a collective inside a layer's forward or backward, which cannot throw: an MPI error
/// ends the job on every rank with this rank's message (DESIGN.md: never hang).
func collective(_ body: () throws -> Void) {
    do { try body() } catch { MPIRuntime.abort("sequence-parallel collective failed: \(error)") }
}
