import Foundation
import Layers
import Parameters
import ParsevalTestSupport
import TensorCore
import XCTest

/// The layers under measured kernel choices: attention measures a plan (precision, query block)
/// per shape and runs it; a bf16 `Linear` whose product the table runs in fp32 gives the fp32
/// layer's bits.
final class KernelChoiceLayerTests: XCTestCase {
    var precision: MatmulPrecision!

    override func setUp() { precision = Matmul.precision }
    override func tearDown() {
        KernelChoices.deactivate()
        Matmul.request(precision)
    }

    /// Forward output and input gradient of a 2-head attention on a fixed input, with `table`
    /// in force (nil: whatever is in force).
    func attention(table: KernelWisdom?, causal: Bool, length: Int) -> ([Float], [Float]) {
        let arena = ParameterArena()
        let layer = SoftmaxAttention("a", arena: arena, dim: 16, heads: 2, causal: causal, queryBlock: 64)
        arena.allocate(seed: 3)
        if let table { KernelChoices.activate(.table, wisdom: table) }
        let context = ForwardContext(training: true)
        let y = layer.forward(randomTensor([2, length, 16], seed: 4), context: context)
        let dx = layer.backward(randomTensor([2, length, 16], seed: 5))
        return (y.scalars, dx.scalars)
    }

    func plan(_ plan: AttentionPlan, causal: Bool, length: Int) -> KernelWisdom {
        KernelWisdom(entries: [KernelWisdom.Entry(cpu: KernelChoices.cpu, decision: .attention(
            AttentionShape(length: length, headDim: 8, causal: causal, threads: Threading.count, precision: Matmul.precision), plan))])
    }

    func testAttentionMeasuresAPlanPerShapeAndRunsIt() throws {
        var precisions: [MatmulPrecision] = [.fp32]
        if Matmul.oneDNNUnavailableReason == nil, case .available = Matmul.bf16Support { precisions.append(.bf16) }
        for precision in precisions {
            for causal in [false, true] {
                Matmul.request(precision)
                KernelChoices.activate(.measure, wisdom: KernelWisdom())
                let measured = attention(table: nil, causal: causal, length: 100)
                let plans = KernelChoices.measuredEntries().compactMap { entry -> (AttentionShape, AttentionPlan)? in
                    if case .attention(let shape, let plan) = entry.decision { return (shape, plan) }
                    return nil
                }
                XCTAssertEqual(plans.count, 1, "\(precision) causal \(causal)")
                guard let (shape, plan) = plans.first else { continue }
                XCTAssertEqual(shape.description, "n128 d8 \(causal ? "causal" : "acausal") t\(Threading.count)")
                XCTAssertTrue(plan.precision == .fp32 || precision == .bf16, "an fp32 request never runs bf16")
                XCTAssertTrue(AttentionPlan.queryBlocks.contains(plan.queryBlock) || plan.queryBlock == 64)
                // What was measured, as a table, gives the measured run's bits: the measurement ran
                // the candidates on layers and scratch of their own and left this run alone.
                let replay = attention(table: KernelWisdom(entries: KernelChoices.measuredEntries()), causal: causal, length: 100)
                XCTAssertTrue(measured.0.map(\.bitPattern) == replay.0.map(\.bitPattern), "\(precision) causal \(causal): output")
                XCTAssertTrue(measured.1.map(\.bitPattern) == replay.1.map(\.bitPattern), "\(precision) causal \(causal): gradient")
            }
        }
    }

    /// Plans of any block size and precision compute the same attention (the block only tiles
    /// the work; bf16 within its rounding).
    func testEveryPlanComputesTheSameAttention() throws {
        Matmul.request(.fp32)
        let reference = attention(table: plan(AttentionPlan(precision: .fp32, queryBlock: 64), causal: true, length: 70),
                                  causal: true, length: 70)
        for block in AttentionPlan.queryBlocks {
            let other = attention(table: plan(AttentionPlan(precision: .fp32, queryBlock: block), causal: true, length: 70),
                                  causal: true, length: 70)
            assertClose(other.0, reference.0.map(Double.init), rtol: 1e-5, atol: 1e-6, "block \(block): output")
            assertClose(other.1, reference.1.map(Double.init), rtol: 1e-5, atol: 1e-6, "block \(block): gradient")
        }
    }

    func testBF16LinearThatTheTableRunsInFP32GivesTheFP32Bits() throws {
        guard Matmul.oneDNNUnavailableReason == nil, case .available = Matmul.bf16Support else {
            throw XCTSkip("needs oneDNN with bf16")
        }
        func run(_ precision: MatmulPrecision, table: KernelWisdom?) -> ([Float], [Float], [Float]) {
            Matmul.request(precision)
            if let table { KernelChoices.activate(.table, wisdom: table) } else { KernelChoices.deactivate() }
            let arena = ParameterArena()
            let linear = Linear("l", arena: arena, inputSize: 24, outputSize: 40)
            arena.allocate(seed: 6)
            let y = linear.forward(randomTensor([3, 10, 24], seed: 7), context: ForwardContext(training: true))
            let dx = linear.backward(randomTensor([3, 10, 40], seed: 8))
            return (y.scalars, dx.scalars, Array(UnsafeBufferPointer(start: arena.gradient(linear.weight), count: 40 * 24)))
        }
        let threads = Threading.count
        let fp32Everywhere = KernelWisdom(entries: [(false, true, 30, 40, 24), (true, false, 40, 24, 30), (false, false, 30, 24, 40)].map {
            KernelWisdom.Entry(cpu: KernelChoices.cpu, decision: .gemm(GemmShape(transposeA: $0.0, transposeB: $0.1, m: $0.2, n: $0.3, k: $0.4,
                                                                                  threads: threads, precision: .bf16), .onednnFP32))
        })
        let single = run(.fp32, table: nil), half = run(.bf16, table: nil), chosen = run(.bf16, table: fp32Everywhere)
        XCTAssertFalse(half.0.map(\.bitPattern) == single.0.map(\.bitPattern), "bf16 rounds the inputs")
        XCTAssertTrue(chosen.0.map(\.bitPattern) == single.0.map(\.bitPattern), "forward")
        XCTAssertTrue(chosen.1.map(\.bitPattern) == single.1.map(\.bitPattern), "input gradient")
        XCTAssertTrue(chosen.2.map(\.bitPattern) == single.2.map(\.bitPattern), "weight gradient")
    }
}
