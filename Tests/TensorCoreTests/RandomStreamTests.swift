import ParsevalTestSupport
import TensorCore
import XCTest

final class RandomStreamTests: XCTestCase {
    /// Known-answer vectors from Random123's kat_vectors for philox4x32-10.
    func testPhiloxKnownAnswers() {
        let zero = RandomStream.philox(counter: (0, 0, 0, 0), key: (0, 0))
        XCTAssertTrue(zero == (0x6627_E8D5, 0xE169_C58D, 0xBC57_AC4C, 0x9B00_DBD8), "\(zero)")
        let ones = RandomStream.philox(counter: (.max, .max, .max, .max), key: (.max, .max))
        XCTAssertTrue(ones == (0x408F_276D, 0x41C8_3B0E, 0xA20B_C7C6, 0x6D54_51FD), "\(ones)")
        let pi = RandomStream.philox(counter: (0x243F_6A88, 0x85A3_08D3, 0x1319_8A2E, 0x0370_7344),
                                     key: (0xA409_3822, 0x299F_31D0))
        XCTAssertTrue(pi == (0xD16C_FE09, 0x94FD_CCEB, 0x5001_E420, 0x2412_6EA1), "\(pi)")
    }

    func testSameSeedAndStreamGiveTheSameSequence() {
        var a = RandomStream(seed: 42, stream: 3), b = RandomStream(seed: 42, stream: 3)
        let first = (0..<1000).map { _ in a.nextUInt32() }
        XCTAssertEqual(first, (0..<1000).map { _ in b.nextUInt32() })
        var other = RandomStream(seed: 42, stream: 4)
        XCTAssertNotEqual(first, (0..<1000).map { _ in other.nextUInt32() })
        var derivedA = RandomStream(seed: 42).derived(1, 7), derivedB = RandomStream(seed: 42).derived(7, 1)
        XCTAssertNotEqual(derivedA.nextUInt64(), derivedB.nextUInt64(), "derived streams depend on component order")
    }

    func testStateRoundTripsThroughCodable() throws {
        var stream = RandomStream(seed: 9, stream: 2)
        for _ in 0..<13 { _ = stream.nextUInt32() }
        var restored = try JSONDecoder().decode(RandomStream.self, from: JSONEncoder().encode(stream))
        XCTAssertEqual((0..<50).map { _ in restored.nextUInt32() }, (0..<50).map { _ in stream.nextUInt32() })
    }

    func testDistributions() {
        var stream = RandomStream(seed: 123)
        let count = 200_000
        let uniforms = (0..<count).map { _ in stream.uniform() }
        XCTAssertTrue(uniforms.allSatisfy { $0 >= 0 && $0 < 1 })
        XCTAssertEqual(uniforms.reduce(0.0) { $0 + Double($1) } / Double(count), 0.5, accuracy: 0.005)

        let normals = (0..<count).map { _ in Double(stream.normal(mean: 2, std: 3)) }
        let mean = normals.reduce(0, +) / Double(count)
        let variance = normals.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(count)
        XCTAssertEqual(mean, 2, accuracy: 0.03)
        XCTAssertEqual(variance.squareRoot(), 3, accuracy: 0.03)

        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { counts[stream.integer(below: 7)] += 1 }
        XCTAssertTrue(counts.allSatisfy { abs($0 - 10_000) < 500 }, "integer(below:) counts \(counts)")
    }

    func testPermutationIsAPermutationAndDeterministic() {
        var a = RandomStream(seed: 5), b = RandomStream(seed: 5)
        let p = a.permutation(1000)
        XCTAssertEqual(p.sorted(), Array(0..<1000))
        XCTAssertEqual(p, b.permutation(1000))
        XCTAssertNotEqual(p, Array(0..<1000))
        XCTAssertEqual(a.permutation(0), [])
        XCTAssertEqual(a.permutation(1), [0])
    }
}
