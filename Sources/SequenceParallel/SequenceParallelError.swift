/// A sequence-parallel layer that cannot be built for the requested shape, group or scheme.
/// Thrown at construction (every rank of the group throws the same error), never in a step.
public struct SequenceParallelError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) { self.description = description }
}
