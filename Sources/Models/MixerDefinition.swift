import Layers
import Parameters
import SequenceParallel

/// Everything Parseval knows about one token mixer, in the mixer's own file under
/// `Sources/Models/Mixers/` (docs/adding-a-mixer.md): its `model.mixer` name, what it supports,
/// its paper's block, how to build it, its memory bound, its checkpoint tensors and its
/// reference fixtures. `MixerKind.registered` lists every definition; the configuration's
/// choices, its checks, the benchmarks, the fixture list the tests iterate and the docs rows are
/// read from there, never from a switch over mixer names.
public protocol MixerDefinition: Sendable {
    /// The `model.mixer` value (also the checkpoint's and the results table's name).
    var name: String { get }
    /// The name in benchmark tables and docs.
    var title: String { get }
    /// Whether `model.causal` applies. Default: no.
    var supportsCausal: Bool { get }
    /// Whether `parallel.seq_parallel > 1` can split the sequence (`makeSequenceParallelMixer`
    /// builds the layer). Default: no.
    var supportsSequenceParallel: Bool { get }
    /// Whether the parameters are sized for one sequence length (a filter per frequency), so that
    /// inputs must have exactly `model.max_length` tokens (images: patches). Default: no.
    var filtersFixedLength: Bool { get }
    /// The mixer-specific `model` keys it reads (`ModelConfiguration.mixerSettings`); any other
    /// such key set away from its default is an error naming the mixer and the key. Default: none.
    var settings: [String] { get }
    /// Its name in the results table with `model.downsample` (attention's is the Fourier
    /// Transformer). Default: `NAME+downsample`.
    var downsampledName: String { get }
    /// The tensors under `blocks.L.mixer.` (docs/checkpoints.md's rows for this mixer, generated
    /// from these; `MixerRegistryTests` holds them to the arena's names).
    var checkpointTensors: [MixerTensor] { get }
    /// The reference-state cases of `scripts/reference/reference_state.py` that build this mixer;
    /// `ReferenceStateTests` requires `CASE.safetensors` and `CASE-paper.safetensors` for each.
    /// Default: the name with `-` for `_`.
    var referenceFixtures: [String] { get }

    /// The block of `model.block: paper`: the layout its official code uses, LayerNorm ε, GELU
    /// form and whether a final LayerNorm follows (docs/models.md, "Paper blocks").
    func paperBlock(_ c: ModelConfiguration) -> BlockDesign
    /// A lower bound on the mixer's parameters and on the activation bytes its backward keeps per
    /// sequence, for a block that sees `length` tokens (`MemoryEstimate`; `MemoryEstimateTests`
    /// holds the whole model's parameter bound within 10% below the real count).
    func memoryLowerBound(_ c: ModelConfiguration, length: Int) -> (parameters: Double, activationBytes: Double)
    /// The single-rank mixer for a block that sees sequences of `length` tokens, its parameters
    /// registered under `name`; `seed` draws random features.
    func makeMixer(_ c: ModelConfiguration, name: String, arena: ParameterArena, length: Int, seed: UInt64) -> any TokenMixer
    /// The sequence-parallel mixer (only where `supportsSequenceParallel`; `SequenceSharding.check`
    /// refuses the others first).
    func makeSequenceParallelMixer(_ c: ModelConfiguration, name: String, arena: ParameterArena, length: Int,
                                   sharding: SequenceSharding) throws -> any TokenMixer
}

extension MixerDefinition {
    public var supportsCausal: Bool { false }
    public var supportsSequenceParallel: Bool { false }
    public var filtersFixedLength: Bool { false }
    public var settings: [String] { [] }
    public var downsampledName: String { name + "+downsample" }
    public var referenceFixtures: [String] { [name.replacingOccurrences(of: "_", with: "-")] }

    public func makeSequenceParallelMixer(_ c: ModelConfiguration, name: String, arena: ParameterArena, length: Int,
                                          sharding: SequenceSharding) throws -> any TokenMixer {
        preconditionFailure("\(self.name) has no sequence-parallel form: SequenceSharding.check refuses it")
    }
}

/// One row of a mixer's checkpoint tensors (docs/checkpoints.md): the names under
/// `blocks.L.mixer.` (each written out in full), their shapes and what they hold. A row with no
/// names says the mixer has no tensors.
public struct MixerTensor: Sendable, Equatable {
    public var names: [String]
    public var shape: String
    public var what: String

    public init(_ names: [String], shape: String, _ what: String) {
        (self.names, self.shape, self.what) = (names, shape, what)
    }
}

/// An encoder block's arrangement: layout, both LayerNorms' ε (and the final one's), the MLP's
/// GELU form, and whether a final LayerNorm follows the blocks (docs/models.md, "Paper blocks").
public struct BlockDesign {
    public var layout: EncoderBlock.Layout
    public var epsilon: Float
    public var tanhGELU: Bool
    public var finalNorm: Bool

    public init(_ layout: EncoderBlock.Layout, epsilon: Float, tanhGELU: Bool, finalNorm: Bool) {
        (self.layout, self.epsilon, self.tanhGELU, self.finalNorm) = (layout, epsilon, tanhGELU, finalNorm)
    }

    /// Parseval's pre-norm block (`model.block: pre_norm`): PyTorch's ε 1e-5, exact GELU.
    public static var preNorm: BlockDesign { BlockDesign(.preNorm, epsilon: 1e-5, tanhGELU: false, finalNorm: true) }
    /// LRA's Transformer block (`lra_benchmarks/models/transformer/transformer.py`): pre-norm,
    /// Flax's LayerNorm ε 1e-6 and tanh GELU.
    public static var lra: BlockDesign { BlockDesign(.preNorm, epsilon: 1e-6, tanhGELU: true, finalNorm: true) }
}

extension MixerKind {
    /// docs/checkpoints.md's table of the mixers' own tensors, one row per `MixerTensor` of every
    /// registered mixer (`DocsTests` requires the page to hold it as generated here).
    public static var checkpointTable: String {
        var lines = ["| `model.mixer` | name | shape | what |", "|---|---|---|---|"]
        for mixer in registered {
            for (index, row) in mixer.definition.checkpointTensors.enumerated() {
                let names = row.names.isEmpty ? "—" : row.names.map { "`\($0)`" }.joined(separator: ", ")
                lines.append("| \(index == 0 ? "`\(mixer.rawValue)`" : "") | \(names) | \(row.shape) | \(row.what) |")
            }
        }
        return lines.joined(separator: "\n")
    }
}
