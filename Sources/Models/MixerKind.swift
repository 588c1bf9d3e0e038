import Layers
import Parameters
import SequenceParallel

extension MixerKind {
    /// Every mixer Parseval builds, in the order of docs, choices and benchmarks. Adding a mixer
    /// is its definition file in `Sources/Models/Mixers/` (with its layer) and one line here
    /// (docs/adding-a-mixer.md).
    public static let registered: [MixerKind] = [
        .attention,
        .fnet,
        .fftnet,
        .kernelizedRPE,
        .performer,
        .gfnet,
        .afno,
    ]
}

/// `model.mixer`: the token mixer in each encoder block, one of `registered`. Codable by its
/// name, so configs and checkpoints hold the string; each mixer's facts and factories come from
/// its `MixerDefinition` (`definition`), so nothing else switches over mixer names.
public struct MixerKind: RawRepresentable, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    public let definition: any MixerDefinition

    /// A mixer for a registry entry (each definition file declares its `static let`).
    public init(_ definition: any MixerDefinition) { self.definition = definition }

    /// The registered mixer of that name; nil for any other string.
    public init?(rawValue: String) {
        guard let found = Self.registered.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = found
    }

    public var rawValue: String { definition.name }
    public var description: String { rawValue }
    public static var allCases: [MixerKind] { registered }
    public static func == (a: MixerKind, b: MixerKind) -> Bool { a.rawValue == b.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let kind = MixerKind(rawValue: name) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "unknown mixer '\(name)' (valid: \(Self.registered.map(\.rawValue).joined(separator: ", ")))")
        }
        self = kind
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var title: String { definition.title }
    public var supportsSequenceParallel: Bool { definition.supportsSequenceParallel }
    public var filtersFixedLength: Bool { definition.filtersFixedLength }
    public var supportsCausal: Bool { definition.supportsCausal }

    public func memoryLowerBound(_ c: ModelConfiguration, length: Int) -> (parameters: Double, activationBytes: Double) {
        definition.memoryLowerBound(c, length: length)
    }

    public func makeMixer(_ c: ModelConfiguration, name: String, arena: ParameterArena, length: Int,
                          seed: UInt64) -> any TokenMixer {
        definition.makeMixer(c, name: name, arena: arena, length: length, seed: seed)
    }

    /// - Throws: `SequenceParallelError` when the shape does not split.
    public func makeSequenceParallelMixer(_ c: ModelConfiguration, name: String, arena: ParameterArena, length: Int,
                                          sharding: SequenceSharding) throws -> any TokenMixer {
        try definition.makeSequenceParallelMixer(c, name: name, arena: arena, length: length, sharding: sharding)
    }

    /// Each block's design for `model.block` (docs/models.md, "Paper blocks"). Shortening blocks
    /// of a paper Fourier Transformer become `.shortenedResidual` in `EncoderTower`.
    public func blockDesign(_ c: ModelConfiguration) -> BlockDesign {
        c.block == .paper ? definition.paperBlock(c) : .preNorm
    }
}

extension ModelConfiguration {
    /// What this model asks of sequence parallelism over `ranks` ranks, for `SequenceSharding.check`.
    public func shardingRequest(ranks: Int, task: String, taskSupported: Bool, sequenceLength: Int) -> SequenceSharding.Request {
        SequenceSharding.Request(ranks: ranks, mixer: mixer.rawValue, mixerSupported: mixer.supportsSequenceParallel,
                                 supportedMixers: MixerKind.allCases.filter(\.supportsSequenceParallel).map(\.rawValue),
                                 downsamples: !downsample.isEmpty, task: task, taskSupported: taskSupported,
                                 sequenceLength: sequenceLength, maxLength: maxLength, classToken: pooling.addsClassToken)
    }
}
