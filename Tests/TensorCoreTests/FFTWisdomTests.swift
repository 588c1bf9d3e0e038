import Foundation
@testable import TensorCore
import XCTest

/// FFTW wisdom as Parseval keeps it (`bench step --tune` saves it, runs import it): measured
/// plans survive export → forget → import, and decide later `estimate` plans of the same problem.
final class FFTWisdomTests: XCTestCase {
    override func tearDown() {
        FFTPlanner.forgetWisdom()
        FFTPlanner.clearCache()
        super.tearDown()
    }

    func testImportedWisdomDecidesEstimatePlans() throws {
        let before = FFTPlanner.effort
        defer { FFTPlanner.effort = before }
        // FNet's transform along the sequence: complex, at a stride of D/2 + 1 bins.
        let (outer, n, inner) = (2, 1024, 33)
        let buffer = TensorStorage(count: 2 * outer * n * inner)
        func algorithm(_ effort: FFTPlanningEffort) -> String {
            FFTPlanner.clearCache()
            FFTPlanner.effort = effort
            return FFTPlanner.plan(.complexForward, length: n, outer: outer, inner: inner,
                                   input: buffer.pointer, output: buffer.pointer).algorithm
        }
        FFTPlanner.forgetWisdom()
        let heuristic = algorithm(.estimate)
        let measured = algorithm(.measure)
        XCTAssertFalse(heuristic.isEmpty || measured.isEmpty)
        let wisdom = FFTPlanner.exportWisdom()
        XCTAssertTrue(wisdom.contains("fftw"), wisdom)
        FFTPlanner.forgetWisdom()
        XCTAssertEqual(algorithm(.estimate), heuristic, "without wisdom, estimate plans by its heuristic")
        XCTAssertTrue(FFTPlanner.importWisdom(wisdom))
        XCTAssertEqual(algorithm(.estimate), measured, "with the wisdom, estimate runs the measured algorithm")
        XCTAssertFalse(FFTPlanner.importWisdom("(not fftw wisdom"), "damaged wisdom is refused")
        if heuristic == measured {
            throw XCTSkip("measuring chose the heuristic's algorithm here, so the import could not be told apart")
        }
    }
}
