import Layers
import Models
import TensorCore
import XCTest

final class VisionClassifierTests: XCTestCase {
    func testParameterGradientsThroughTheLoss() {
        var c = ModelConfiguration()
        (c.dim, c.depth, c.heads, c.mlpHidden, c.dropout, c.classes, c.maxLength) = (8, 1, 2, 16, 0, 3, 4)
        let model = VisionClassifier(c, imageChannels: 1, patchSize: 2, seed: 1)
        XCTAssertNil(model.arena.parameter(named: "embedding.weight"), "a vision model has no token table")
        XCTAssertEqual(model.arena.entry(model.arena.parameter(named: "patch_embedding.weight")!).shape, [8, 4])
        var stream = RandomStream(seed: 2)
        let images = Tensor(shape: [2, 4, 4, 1], values: (0..<32).map { _ in stream.uniform(-1, 1) })
        let labels: [Int32] = [2, 0]
        let loss = SoftmaxCrossEntropy()
        let context = ForwardContext(training: false)
        func value() -> Double { loss.forward(logits: model.forward(images: images, context: context), labels: labels).loss }
        model.arena.zeroGradients()
        _ = value()
        model.backward(loss.backward())
        let analytic = Array(UnsafeBufferPointer(start: model.arena.gradients.pointer, count: model.arena.gradients.count))
        let scale = max(analytic.map { abs(Double($0)) }.max() ?? 0, 1e-3)
        for entry in model.arena.entries {
            for i in stride(from: 0, to: entry.count, by: max(1, entry.count / 5)) {
                let slot = model.arena.values.pointer + entry.offset + i
                let original = slot.pointee
                slot.pointee = original + 1e-3
                let up = value()
                slot.pointee = original - 1e-3
                let down = value()
                slot.pointee = original
                XCTAssertEqual(Double(analytic[entry.offset + i]), (up - down) / 2e-3, accuracy: 2e-4 + 2e-2 * scale,
                               "\(entry.name)[\(i)]")
            }
        }
    }
}
