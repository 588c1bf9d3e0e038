import TensorCore

/// A handle to one named parameter in a `ParameterArena`.
public struct Parameter: Sendable, Hashable {
    public let index: Int
}

/// How a parameter is initialised (docs/models.md: xavier-uniform weights, zero biases,
/// normal(0, 0.02) embeddings, LayerNorm weight 1 and bias 0).
public enum Initializer: Sendable, Equatable {
    case zeros
    case constant(Float)
    case normal(std: Float)
    /// `normal(std:)` with row `row` (of `width` values) then set to zero: an embedding table
    /// whose padding row is zero as PyTorch's `nn.Embedding(padding_idx=)` keeps it (the other
    /// rows draw exactly what `normal` draws).
    case normalWithZeroRow(std: Float, row: Int, width: Int)
    case uniform(low: Float, high: Float)
    /// Glorot uniform for a [fanOut, fanIn] weight: U(±√(6 / (fanIn + fanOut))).
    case xavierUniform(fanIn: Int, fanOut: Int)
}

/// Every parameter of a model in one contiguous Float buffer, with gradients mirrored in a
/// second buffer of the same layout (optimizer moments mirror it too).
///
/// Layers register their parameters while the model is built, in forward-execution order;
/// `allocate(seed:)` then lays them out in *reverse* order, so the gradients backward
/// produces first (the last layers') are contiguous at the front and can be all-reduced
/// while backward still runs. Each parameter is initialised from a random stream derived
/// from the seed and its name, so values do not depend on layout or registration order.
///
/// `@unchecked Sendable`: the buffers are written by one training step at a time; layers
/// write disjoint parameter slices.
public final class ParameterArena: @unchecked Sendable {
    public struct Entry: Sendable {
        /// PyTorch-style name, e.g. `blocks.0.mlp.fc1.weight`.
        public let name: String
        public let shape: [Int]
        public let initializer: Initializer
        /// False for norms, biases and embeddings (AdamW's default exclusions).
        public let weightDecay: Bool
        public internal(set) var offset = 0
        public var count: Int { Tensor.elementCount(shape) }
    }

    public private(set) var entries: [Entry] = []

    /// Non-trainable state a checkpoint carries beside the parameters (kernelized attention's
    /// random features): no gradient, no optimizer state, not in `values`.
    public struct Buffer {
        /// Its name in `model.safetensors`, e.g. `blocks.0.mixer.features`.
        public let name: String
        public let shape: [Int]
        /// The current values, row-major.
        public let read: () -> [Float]
        /// Replaces the values with ones saved at optimizer step `step`.
        public let write: (_ values: [Float], _ step: Int) -> Void
    }

    public private(set) var buffers: [Buffer] = []

    /// Registers a buffer; its owner keeps the values and reads and writes them on request.
    public func registerBuffer(_ name: String, shape: [Int], read: @escaping () -> [Float],
                               write: @escaping ([Float], Int) -> Void) {
        precondition(names[name] == nil && !buffers.contains { $0.name == name },
                     "ParameterArena: duplicate name '\(name)'")
        buffers.append(Buffer(name: name, shape: shape, read: read, write: write))
    }
    /// The parameter values and gradients: standalone storage that no `Tensor` shares. Write
    /// them through `sharedValues`/`sharedGradients` or `value(_:)`/`gradient(_:)`.
    public private(set) var values = TensorStorage(count: 0)
    public private(set) var gradients = TensorStorage(count: 0)
    public private(set) var isAllocated = false
    var names: [String: Int] = [:]

    public init() {}

    /// Total number of parameters (Floats).
    public var count: Int { entries.reduce(0) { $0 + $1.count } }

    /// The name of the first parameter holding a NaN or ±Inf, or nil when all are finite.
    public func firstNonFiniteParameter() -> String? {
        let values = UnsafeBufferPointer(sharedValues)
        guard !Kernels.allFinite(values) else { return nil }
        return entries.first { !Kernels.allFinite(UnsafeBufferPointer(rebasing: values[$0.offset..<$0.offset + $0.count])) }?.name
    }

    /// Registers a parameter; names must be unique. Call before `allocate`.
    public func register(_ name: String, shape: [Int], initializer: Initializer, weightDecay: Bool) -> Parameter {
        precondition(!isAllocated, "ParameterArena: '\(name)' registered after allocation")
        precondition(names[name] == nil, "ParameterArena: duplicate parameter name '\(name)'")
        names[name] = entries.count
        entries.append(Entry(name: name, shape: shape, initializer: initializer, weightDecay: weightDecay))
        return Parameter(index: entries.count - 1)
    }

    /// Lays the parameters out in reverse registration order, allocates values and
    /// gradients, and initialises every value from `seed`.
    public func allocate(seed: UInt64) {
        precondition(!isAllocated, "ParameterArena: allocated twice")
        var offset = 0
        for index in entries.indices.reversed() {
            entries[index].offset = offset
            offset += entries[index].count
        }
        values = TensorStorage(count: offset)
        gradients = TensorStorage(count: offset)
        isAllocated = true
        for entry in entries { initialize(entry, seed: seed) }
    }

    func initialize(_ entry: Entry, seed: UInt64) {
        var stream = RandomStream(seed: seed).derived(ParameterArena.stableHash(entry.name))
        let buffer = UnsafeMutableBufferPointer(start: values.pointer + entry.offset, count: entry.count)
        switch entry.initializer {
        case .zeros: buffer.update(repeating: 0)
        case .constant(let value): buffer.update(repeating: value)
        case .normal(let std): stream.fillNormal(buffer, std: std)
        case .normalWithZeroRow(let std, let row, let width):
            stream.fillNormal(buffer, std: std)
            if row >= 0 && (row + 1) * width <= buffer.count { buffer[(row * width)..<((row + 1) * width)].update(repeating: 0) }
        case .uniform(let low, let high): stream.fillUniform(buffer, low, high)
        case .xavierUniform(let fanIn, let fanOut):
            let bound = (6 / Float(fanIn + fanOut)).squareRoot()
            stream.fillUniform(buffer, -bound, bound)
        }
    }

    /// FNV-1a of the UTF-8 name: stable across runs and platforms (unlike `Hasher`).
    static func stableHash(_ name: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }

    // MARK: - Access

    public func entry(_ parameter: Parameter) -> Entry { entries[parameter.index] }

    public func parameter(named name: String) -> Parameter? { names[name].map(Parameter.init) }

    /// The parameter's values (valid after `allocate`): its slice of `sharedValues`, which
    /// layers read and the optimizer writes in place.
    @inline(__always)
    public func value(_ parameter: Parameter) -> UnsafeMutablePointer<Float> {
        values.pointer + entries[parameter.index].offset
    }

    /// The parameter's gradient accumulator (backward passes add into it): its slice of
    /// `sharedGradients`.
    @inline(__always)
    public func gradient(_ parameter: Parameter) -> UnsafeMutablePointer<Float> {
        gradients.pointer + entries[parameter.index].offset
    }

    /// Every parameter's values as one buffer (arena layout), writable through a `let` arena on
    /// purpose: layers read their slices of it in place (`value(_:)`), so what a broadcast, a
    /// checkpoint load or an optimizer step writes here is what the next forward sees. Safe
    /// because the arena is a reference-type store outside copy-on-write (no `Tensor` shares
    /// this storage) and one training step at a time touches it (see the type's doc).
    public var sharedValues: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: values.pointer, count: values.count)
    }

    /// Every parameter's gradient as one buffer (arena layout), shared as `sharedValues` is:
    /// layers accumulate into their slices (`gradient(_:)`), the synchroniser all-reduces and
    /// scales it, the optimizer reads it.
    public var sharedGradients: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: gradients.pointer, count: gradients.count)
    }

    public func zeroGradients() {
        sharedGradients.update(repeating: 0)
    }

    /// The values of one parameter as a tensor (a copy).
    public func tensor(_ parameter: Parameter) -> Tensor {
        let entry = entries[parameter.index]
        return Tensor(shape: entry.shape,
                      values: Array(UnsafeBufferPointer(start: values.pointer + entry.offset, count: entry.count)))
    }
}
