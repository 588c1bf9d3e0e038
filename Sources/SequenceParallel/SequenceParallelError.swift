/// A sequence-parallel layer that cannot be built for the requested shape, group or scheme.
/// Thrown at construction (every rank of the group throws the same error), never in a step.
public struct SequenceParallelError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) { self.description = description }
}

/// How a sequence-parallel spectral mixer gets each sequence's full length onto one rank.
/// docs/distributed.md ("Sequence parallelism") has both schemes' measurements.
public enum SequenceParallelScheme: String, Sendable, Codable, CaseIterable {
    /// One all-to-all (an FFTW-MPI transpose plan) from token blocks `[B, N/P, D]` to channel
    /// blocks `[B, D/P, N]`, local real FFTs, the filter, the inverse, and one transpose back.
    /// Needs D % P == 0. Real data travels as real: two all-to-alls of B·N·D/P floats per pass.
    case transpose
    /// `fftwf_mpi_plan_many_dft` (rank 1, howmany = B·D) on complex data: the filter runs on
    /// each rank's block of N/P frequencies. Needs N % P² == 0 (FFTW's even split).
    case distributedDFT = "dft"
}
