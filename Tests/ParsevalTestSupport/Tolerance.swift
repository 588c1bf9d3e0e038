import Foundation
import TensorCore
import XCTest

public func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var stream = RandomStream(seed: seed)
    return Tensor(shape: shape, values: (0..<Tensor.elementCount(shape)).map { _ in stream.uniform(-scale, scale) })
}

/// Asserts |actual − expected| ≤ atol + rtol·|expected| elementwise; on failure reports the
/// element with the largest difference.
public func assertClose(_ actual: [Float], _ expected: [Double], rtol: Double, atol: Double,
                 _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    guard actual.count == expected.count else {
        XCTFail("\(message()): \(actual.count) values, expected \(expected.count)", file: file, line: line)
        return
    }
    var worstExcess = 0.0, worstIndex = -1, largest = 0.0
    for (i, (a, e)) in zip(actual, expected).enumerated() {
        let difference = abs(Double(a) - e)
        largest = max(largest, difference.isNaN ? .infinity : difference)
        let excess = difference - (atol + rtol * abs(e))
        if excess > worstExcess || difference.isNaN {
            worstExcess = difference.isNaN ? .infinity : excess
            worstIndex = i
        }
    }
    if worstIndex >= 0 {
        XCTFail("\(message()): largest difference \(largest); element \(worstIndex) is \(actual[worstIndex]), "
                + "expected \(expected[worstIndex]) (rtol \(rtol), atol \(atol))", file: file, line: line)
    }
}
