import TensorCore

/// A finite, indexable collection of examples: what the sampler shards and the batcher reads.
///
/// `example(at:random:)` may do work (decode a JPEG, crop it); `random` is a stream derived
/// for this example and epoch, so augmentation is deterministic and independent of which
/// thread or rank does the work. Datasets that hold fixed examples ignore it.
public protocol Dataset: Sendable {
    /// How many examples there are.
    var count: Int { get }
    /// The example at `index` (0..<count); throws a `DatasetError` naming the source on bad input.
    func example(at index: Int, random: inout RandomStream) throws -> Example
    /// The examples the loader skipped under `data.skip_bad_examples` (none by default).
    var badExamples: BadExampleLog { get }
}

extension Dataset {
    public var badExamples: BadExampleLog { BadExampleLog() }
}

/// Examples already decoded into memory (every token task, and CIFAR-10), with the log of
/// any bad examples the loader skipped.
public struct InMemoryDataset: Dataset {
    /// The examples, in file order.
    public var examples: [Example]
    /// What was skipped under `skipBadExamples` (empty otherwise).
    public var badExamples: BadExampleLog

    public init(examples: [Example], badExamples: BadExampleLog = BadExampleLog()) {
        self.examples = examples
        self.badExamples = badExamples
    }

    public var count: Int { examples.count }

    public func example(at index: Int, random: inout RandomStream) throws -> Example {
        examples[index]
    }
}
