import Distributed
import Layers
import TensorCore

/// FNet's token mixing (`FNetMixing`, Lee-Thorp et al. eq. 3) on sequences split by tokens
/// over a sequence group of P ranks:
///
///     y = Re(FFT_seq(FFT_hidden(x)))        each rank: x, y (B, N/P, D)
///
/// The two transforms commute. The sequence-axis DFT runs first, distributed: a token block
/// `(N/P, D)` is the input layout of D complex transforms of length N
/// (`fftwf_mpi_plan_many_dft`, howmany = D), and leaves this rank's N/P frequencies — which
/// are exactly the output positions this rank holds, since FNet's output row k is sequence
/// frequency k. The hidden-axis DFT then runs locally on those rows. One distributed
/// transform per batch element; needs N % P² == 0.
///
/// Backward: the adjoint of Re(F x) is Re(F g) (each DFT matrix is symmetric) — the same
/// transform. No parameters.
public final class SequenceParallelFNetMixing: TokenMixer {
    public let sequenceLength: Int
    public let dim: Int
    public let group: Communicator
    let plan: DistributedFourierPlan

    /// Plans the distributed transform (collective over `group`).
    /// - Throws: `SequenceParallelError` when N is not divisible by P², or FFTW-MPI cannot plan.
    public init(sequenceLength: Int, dim: Int, group: Communicator) throws {
        self.sequenceLength = sequenceLength
        self.dim = dim
        self.group = group
        plan = try DistributedFourierPlan(length: sequenceLength, howmany: dim, group: group)
    }

    /// This rank's block (B, N/P, D) → the same block of FNet's output. Collective.
    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor { realPartOfSpectrum(x) }

    /// The same transform applied to the upstream gradient. Collective.
    public func backward(_ gradient: Tensor) -> Tensor { realPartOfSpectrum(gradient) }

    func realPartOfSpectrum(_ x: Tensor) -> Tensor {
        let local = plan.localLength
        precondition(x.rank == 3 && x.shape[1] == local && x.shape[2] == dim,
                     "SequenceParallelFNetMixing: (B, \(local), \(dim)) block expected, got \(x.shape)")
        let count = local * dim, data = plan.data
        var y = Tensor(zeros: x.shape)
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { ys in
                for batch in 0..<x.shape[0] {
                    let source = xs.baseAddress! + batch * count, destination = ys.baseAddress! + batch * count
                    parallelFor(count) { range in
                        for i in range {
                            data[2 * i] = source[i]
                            data[2 * i + 1] = 0
                        }
                    }
                    plan.forward()
                    FFT.complex(input: data, output: data, outer: local, length: dim, inner: 1, inverse: false,
                                scaling: .unnormalized)
                    parallelFor(count) { range in
                        for i in range { destination[i] = data[2 * i] }
                    }
                }
            }
        }
        return y
    }
}
