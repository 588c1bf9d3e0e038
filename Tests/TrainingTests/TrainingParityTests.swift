import Foundation
import Layers
import Models
import Optimizers
import TensorCore
import Training
import XCTest

/// Training parity with the papers' official code, replayed: `scripts/reference/parity_train.py
/// fixture` trains the official module (the FFTNet code's `FFTNetLRA` at jacobfa/fft 72d20e1) on a
/// tiny model for a few steps and writes `Tests/Fixtures/parity/<case>.safetensors`: the initial
/// weights under Parseval's names, every step's batch, and the official loss before each update.
/// Parseval builds the same model from the fixture's config, loads the weights and takes the same
/// steps with its own optimizer; every step's loss must stay within the fixture's tolerance,
/// |L − L_official| ≤ absolute + per_sqrt_step·√t + relative·|L_official| at step t = 1, 2, …,
/// which the script derives from the official module's own float32-against-float64 drift.
/// The long run (300 steps, the real trainer and data) is `parity_train.py run`; docs/results.md.
final class TrainingParityTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/parity").path

    /// Every official code the fixtures cover is present: a missing fixture fails, it is not skipped.
    func testEveryOfficialCodeHasAFixture() {
        let present = (try? FileManager.default.contentsOfDirectory(atPath: Self.folder)) ?? []
        for name in ["fftnet"] {
            XCTAssertTrue(present.contains("\(name).safetensors"), "no parity fixture \(name) in \(Self.folder)")
        }
    }

    func testParsevalTrainsLikeTheOfficialCode() throws {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: Self.folder)) ?? []).filter { $0.hasSuffix(".safetensors") }
        XCTAssertFalse(files.isEmpty, "no fixtures in \(Self.folder)")
        for file in files.sorted() { try replay("\(Self.folder)/\(file)") }
    }

    func replay(_ path: String) throws {
        let label = (path as NSString).lastPathComponent
        let (entries, metadata) = try SafeTensors.read(path)
        let tensors = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        func tensor(_ name: String) throws -> SafeTensors.Entry {
            guard let entry = tensors[name] else { throw CheckpointError("\(label) lacks \(name)") }
            return entry
        }
        func json(_ key: String) throws -> [String: Any] {
            guard let text = metadata[key], let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            else { throw CheckpointError("\(label): metadata lacks '\(key)'") }
            return object
        }
        // The run's settings, as a user's `--set` overrides (validated as a user's would be).
        var settings: [String] = []
        for (section, values) in try json("config") {
            guard let values = values as? [String: Any] else { continue }
            for (key, value) in values {
                let encoded = try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed])
                settings.append("\(section).\(key)=\(String(decoding: encoded, as: UTF8.self))")
            }
        }
        let configuration = try ConfigurationLoader.load(path: nil, overrides: settings, resolvingTask: false)
        XCTAssertEqual(configuration.optimizer.name, .adamw, "\(label): the replay runs AdamW")
        XCTAssertEqual(configuration.optimizer.gradientClip, 0, "\(label): the replay does not clip")
        XCTAssertEqual(configuration.schedule.kind, .constant, "\(label): the replay runs a constant rate")
        XCTAssertEqual(configuration.model.dropout, 0, "\(label): parity runs without dropout")
        let model = EncoderClassifier(configuration.model, seed: 0)
        let arena = model.arena
        guard try loadParameters(tensors, prefix: "init.", into: arena, label: label) else { return }

        let tokenEntry = try tensor("batch.tokens")
        let (steps, batch, length) = (tokenEntry.shape[0], tokenEntry.shape[1], tokenEntry.shape[2])
        let labels = try tensor("batch.labels").values.map { Int32($0) }
        let official = try tensor("official.losses").values.map(Double.init)
        XCTAssertEqual(official.count, steps, "\(label): one official loss per step")
        let tolerance = try json("tolerance")
        func constant(_ key: String) throws -> Double {
            guard let value = tolerance[key] as? Double else { throw CheckpointError("\(label): tolerance lacks \(key)") }
            return value
        }
        let (absolute, perSqrtStep, relative) = (try constant("absolute"), try constant("per_sqrt_step"), try constant("relative"))

        let o = configuration.optimizer
        let optimizer = AdamW(arena: arena, beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, weightDecay: o.weightDecay)
        let lossFunction = SoftmaxCrossEntropy(labelSmoothing: configuration.training.labelSmoothing)
        let context = ForwardContext(training: true)  // dropout 0: training mode changes nothing else
        let pad = Int32(configuration.model.paddingIndex)
        for step in 0..<steps {
            let tokens = tokenEntry.values[(step * batch * length)..<((step + 1) * batch * length)].map { Int32($0) }
            let mask = Tensor(shape: [batch, length], values: tokens.map { $0 == pad ? 0 : 1 })
            arena.zeroGradients()
            let logits = model.forward(tokens: tokens, mask: mask, batch: batch, length: length, context: context)
            let loss = lossFunction.forward(logits: logits, labels: Array(labels[(step * batch)..<((step + 1) * batch)])).loss
            model.backward(lossFunction.backward())
            optimizer.step(learningRate: o.learningRate)
            let t = Double(step + 1), bound = absolute + perSqrtStep * t.squareRoot() + relative * abs(official[step])
            XCTAssertLessThanOrEqual(abs(loss - official[step]), bound,
                                     "\(label): step \(step + 1): Parseval \(loss), official \(official[step]) (tolerance \(bound))")
        }
    }
}
