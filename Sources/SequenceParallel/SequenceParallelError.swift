/// Sequence parallelism asked of a configuration it does not support (`SequenceSharding.check`),
/// a sharded layer that cannot be built for the requested shape or group (thrown at
/// construction, alike on every rank of the group), or a collective that failed inside a sharded
/// layer during a step (recorded by `ShardFailures`, thrown with the rank when the model's
/// forward or backward returns).
public struct SequenceParallelError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) { self.description = description }
}
