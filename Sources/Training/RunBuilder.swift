import Datasets
import Distributed
import Foundation
import Layers
import Parameters
import SequenceParallel
import TensorCore

/// The one place a run is built from its configuration, in the order every command needs it:
/// the configuration (validated, the task's facts filled in) → the engine (threads, matrix
/// precision, FFT planning) and the ranks' grid → the stall watchdog → the data → the model.
/// Each is decided here once: `RunAssembly` (train), `Evaluator.standalone` (eval) and
/// `checkpoint seal` take the stages they need, so the three cannot drift apart.
public struct RunBuilder {
    public let world: Communicator
    /// The configuration as resolved so far (the data's classes fill in ImageNet's).
    public private(set) var configuration: TrainingConfiguration
    /// data_parallel × seq_parallel, and what follows from it for sequence parallelism.
    public let sharding: SequenceSharding
    /// What the matrix products run on and in which precision (`Matmul.request`'s line).
    public let matmulSummary: String

    /// Validates `configuration`, fills in its task's facts, sets the process-wide engine as it
    /// asks and forms the grid; with more than one rank, arms the stall watchdog. Collective.
    public init(configuration requested: TrainingConfiguration, world: Communicator) throws {
        try requested.validate()
        configuration = try requested.resolvingTaskFacts()
        self.world = world
        let c = configuration
        if c.parallel.threads > 0 { Threading.configure(threads: c.parallel.threads) }
        matmulSummary = Matmul.request(c.training.precision)
        FFTPlanner.effort = c.parallel.fftPlanning
        do {
            sharding = SequenceSharding(grid: try ProcessGrid(world: world, sequenceParallel: c.parallel.seqParallel))
        } catch let error as ProcessGridError {
            throw ConfigurationError(error.description, key: "parallel.seq_parallel")
        }
        if world.size > 1 {
            CollectiveWatchdog.arm(rank: world.rank, warningSeconds: c.parallel.stallWarningSeconds,
                                   abortSeconds: c.parallel.stallAbortSeconds)
        }
    }

    /// The seed of initialisation, shuffling, dropout and augmentation: `training.seed`'s bits.
    public var seed: UInt64 { configuration.training.seed.seedBits }

    /// Examples per data-parallel rank per micro-batch (`localBatchSize`).
    public var localBatchSize: Int { get throws { try configuration.localBatchSize(ranks: sharding.grid.dataParallel) } }

    /// Loads what `body` reads on every rank, each at its own pace (the watchdog's patience
    /// stretches tenfold), failing everywhere if it fails anywhere; the task's classes it
    /// returns (ImageNet's folders) fill in `model.classes`. Collective.
    public mutating func loadData<Loaded>(_ body: (DataConfiguration) throws -> (Loaded, classes: Int?)) throws -> Loaded {
        let data = configuration.data, world = world
        let (loaded, classes) = try CollectiveWatchdog.patience(10, "loading data") {
            try world.allOrNone { try body(data) }
        }
        configuration = try configuration.resolvingTaskFacts(classes: classes)
        return loaded
    }

    /// The model of the task (`makeModel`) on this rank's sequence block, its parameters drawn
    /// from `seed`, built at each rank's pace. Collective.
    public func buildModel() throws -> any TrainableModel {
        let (model, shape, seed, sharding, world) = (configuration.model, configuration.data.taskShape, seed, sharding, world)
        return try CollectiveWatchdog.patience(10, "building the model") {
            try world.allOrNone {
                try makeModel(model, images: shape.images, paired: shape.paired, seed: seed, sharding: sharding)
            }
        }
    }
}

extension Int {
    /// A signed seed as the 64-bit pattern every random stream takes (−1 and 2⁶⁴ − 1 alike).
    public var seedBits: UInt64 { UInt64(bitPattern: Int64(self)) }
}
