import Datasets
import Layers
import Optimizers
import Parameters
import TensorCore

// The configuration's choices, one enum each: the valid values in errors and in
// docs/configuration.md come from `allCases`, and each builds what it names. (`MixerKind` and
// `BlockKind` live with the models, `MatmulPrecision` and `FFTPlanningEffort` with the engine.)

/// `data.task`: the task, its data layout (docs/datasets.md) and the model it needs.
public enum TaskKind: String, Sendable, Codable, CaseIterable {
    case listops, text, retrieval
    /// LRA's Image: CIFAR-10 as 1024 grayscale pixel tokens.
    case image
    case pathfinder
    /// Vision classification on patches (a `VisionClassifier`).
    case cifar10, imagenet

    /// Examples are (H, W, 3) images for a vision classifier.
    public var images: Bool { self == .cifar10 || self == .imagenet }
    /// Two sequences per example (a dual encoder).
    public var paired: Bool { self == .retrieval }
    /// Sequence parallelism splits single sequences: not images, not pairs.
    public var supportsSequenceParallel: Bool { !images && !paired }

    /// The task's classes; nil where its data says (ImageNet: one per training folder).
    public var classes: Int? {
        switch self {
        case .listops: return ListOpsLoader.classCount
        case .text, .retrieval, .pathfinder: return 2
        case .image, .cifar10: return CIFAR10Loader.classCount
        case .imagenet: return nil
        }
    }

    /// Distinct token ids the task's examples hold, padding included; 0 for image tasks (no tokens).
    public var vocabularySize: Int {
        switch self {
        case .listops: return ListOpsLoader.vocabulary.count
        case .text, .retrieval: return ByteTokenizer.vocabularySize
        case .image, .pathfinder: return PathfinderDataset.vocabularySize  // 8-bit pixel tokens
        case .cifar10, .imagenet: return 0
        }
    }
}

/// `optimizer.name`.
public enum OptimizerKind: String, Sendable, Codable, CaseIterable {
    case adamw, sgd

    public func make(arena: ParameterArena, _ o: OptimizerConfiguration) -> any Optimizer {
        switch self {
        case .adamw: return AdamW(arena: arena, beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, weightDecay: o.weightDecay)
        case .sgd: return SGD(arena: arena, momentum: o.momentum, weightDecay: o.weightDecay)
        }
    }
}

/// `schedule.kind`.
public enum ScheduleKind: String, Sendable, Codable, CaseIterable {
    case constant, cosine, linear
    case inverseSqrt = "inverse_sqrt"

    /// The schedule for a run of `steps` optimizer steps peaking at `peak`.
    public func make(_ s: ScheduleConfiguration, peak: Float, steps: Int) -> LearningRateSchedule {
        switch self {
        case .constant: return .constant(peak: peak, warmup: s.warmupSteps)
        case .cosine: return .cosine(peak: peak, warmup: s.warmupSteps, total: steps, finalRatio: s.finalRatio)
        case .linear: return .linear(peak: peak, warmup: s.warmupSteps, total: steps, finalRatio: s.finalRatio)
        case .inverseSqrt: return .inverseSquareRoot(peak: peak, warmup: s.warmupSteps)
        }
    }
}

/// `training.on_nonfinite`: what a NaN or Inf in the loss or gradients does.
public enum NonFinitePolicy: String, Sendable, Codable, CaseIterable {
    /// Exit 5, keeping the last good checkpoint.
    case stop
    /// Leave parameters and optimizer untouched, count the step, go on.
    case skip
}
