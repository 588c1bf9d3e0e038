import Foundation

/// A counter-based random stream: Philox4x32-10 (Salmon et al., "Parallel Random Numbers:
/// As Easy as 1, 2, 3", SC 2011).
///
/// The output is a pure function of (seed, stream, position), so rank r and step s derive
/// their own independent streams with no shared state, and the position can be saved in a
/// checkpoint and restored exactly. The 128-bit counter is (block, stream); the key is the seed.
public struct RandomStream: Sendable, Codable, Equatable {
    public let seed: UInt64
    public let stream: UInt64
    /// How many 32-bit outputs have been consumed.
    public private(set) var position: UInt64 = 0

    public init(seed: UInt64, stream: UInt64 = 0) {
        self.seed = seed
        self.stream = stream
    }

    /// A stream for a named purpose derived from this one's seed (e.g. rank, step, layer).
    public func derived(_ components: UInt64...) -> RandomStream {
        var mixed = stream
        for component in components { mixed = RandomStream.mix(mixed &+ 0x9E37_79B9_7F4A_7C15 &+ component) }
        return RandomStream(seed: seed, stream: mixed)
    }

    /// SplitMix64's finaliser: a bijective 64-bit mixer.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The Philox4x32-10 bijection of a 128-bit counter under a 64-bit key.
    @inlinable
    public static func philox(counter: (UInt32, UInt32, UInt32, UInt32),
                              key: (UInt32, UInt32)) -> (UInt32, UInt32, UInt32, UInt32) {
        var (c0, c1, c2, c3) = counter
        var (k0, k1) = key
        for round in 0..<10 {
            if round > 0 {
                k0 &+= 0x9E37_79B9
                k1 &+= 0xBB67_AE85
            }
            let product0 = UInt64(0xD251_1F53) &* UInt64(c0)
            let product1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            (c0, c1, c2, c3) = (UInt32(truncatingIfNeeded: product1 >> 32) ^ c1 ^ k0,
                                UInt32(truncatingIfNeeded: product1),
                                UInt32(truncatingIfNeeded: product0 >> 32) ^ c3 ^ k1,
                                UInt32(truncatingIfNeeded: product0))
        }
        return (c0, c1, c2, c3)
    }

    /// The four 32-bit outputs at positions 4·index … 4·index + 3: one Philox evaluation.
    /// Lets a parallel loop produce exactly the values the sequential calls would (a block per
    /// four elements), without advancing any stream.
    @inlinable
    public func block(_ index: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        RandomStream.philox(
            counter: (UInt32(truncatingIfNeeded: index), UInt32(truncatingIfNeeded: index >> 32),
                      UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32)),
            key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
    }

    /// `uniform()`'s value for 32 random bits: 24 of them, scaled into [0, 1).
    @inlinable
    public static func uniform(bits: UInt32) -> Float { Float(bits >> 8) * 0x1p-24 }

    /// The next 32 random bits.
    public mutating func nextUInt32() -> UInt32 {
        let lane = Int(position & 3)
        let out = block(position >> 2)
        position &+= 1
        switch lane {
        case 0: return out.0
        case 1: return out.1
        case 2: return out.2
        default: return out.3
        }
    }

    public mutating func nextUInt64() -> UInt64 {
        UInt64(nextUInt32()) << 32 | UInt64(nextUInt32())
    }

    /// Uniform in [0, 1) with 24 random bits (every Float in the range is a multiple of 2⁻²⁴).
    public mutating func uniform() -> Float {
        RandomStream.uniform(bits: nextUInt32())
    }

    /// Uniform in [low, high).
    public mutating func uniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * uniform()
    }

    /// Normal(mean, std) by Box–Muller on two uniforms (53-bit, computed in Double).
    public mutating func normal(mean: Float = 0, std: Float = 1) -> Float {
        let u1 = (Double(nextUInt64() >> 11) + 1) * 0x1p-53   // (0, 1]
        let u2 = Double(nextUInt64() >> 11) * 0x1p-53
        let radius = (-2 * log(u1)).squareRoot()
        return mean + std * Float(radius * cos(2 * Double.pi * u2))
    }

    /// Uniform integer in 0..<bound without modulo bias (Lemire's method).
    public mutating func integer(below bound: Int) -> Int {
        precondition(bound > 0, "RandomStream.integer: bound must be positive, got \(bound)")
        let range = UInt64(bound)
        var product = nextUInt64().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold { product = nextUInt64().multipliedFullWidth(by: range) }
        }
        return Int(product.high)
    }

    /// A uniformly random permutation of 0..<count (Fisher–Yates).
    public mutating func permutation(_ count: Int) -> [Int] {
        var values = Array(0..<count)
        if count < 2 { return values }
        for i in stride(from: count - 1, to: 0, by: -1) {
            values.swapAt(i, integer(below: i + 1))
        }
        return values
    }

    /// Fills `buffer` with Normal(mean, std) values.
    public mutating func fillNormal(_ buffer: UnsafeMutableBufferPointer<Float>, mean: Float = 0, std: Float = 1) {
        for i in buffer.indices { buffer[i] = normal(mean: mean, std: std) }
    }

    /// Fills `buffer` with Uniform[low, high) values.
    public mutating func fillUniform(_ buffer: UnsafeMutableBufferPointer<Float>, _ low: Float, _ high: Float) {
        for i in buffer.indices { buffer[i] = uniform(low, high) }
    }
}
