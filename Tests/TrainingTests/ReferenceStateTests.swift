import Foundation
import Layers
import Models
import Optimizers
import Parameters
import ParsevalTestSupport
import TensorCore
import Training
import XCTest

/// llm.c's reference-state test: `scripts/reference/reference_state.py` (PyTorch, float64, run by
/// hand) writes one safetensors fixture per mixer and block kind into
/// `Tests/Fixtures/reference/` — parameters, random features, inputs, logits, loss, every
/// parameter's gradient, and the losses and parameters of three AdamW steps. Here Parseval
/// builds the same model, takes the fixture's parameters and random features, and must
/// reproduce all of it in float32 within the stated tolerances (docs/models.md, "Reference state").
final class ReferenceStateTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/reference").path

    /// Tolerances: float32 against float64 over two blocks.
    static let logitTolerance = (rtol: 1e-4, atol: 2e-5)
    /// Gradients, relative to the largest gradient of the model.
    static let gradientTolerance = 1e-4
    /// Parameters after three AdamW steps. An element whose reference gradient is tiny (below
    /// 1e-6 of the largest) gets Adam's sign-like step from float32 noise: up to 3·lr apart.
    static let parameterTolerance = 2e-4

    func fixtures() throws -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Self.folder)) ?? []
        return names.filter { $0.hasSuffix(".safetensors") }.sorted()
    }

    /// Every reference case a registered mixer declares (`MixerDefinition.referenceFixtures`) is
    /// present in both block kinds, and every fixture present is declared: a missing fixture is a
    /// failure, not a skip.
    func testEveryMixerAndBlockKindHasAFixture() throws {
        let present = Set(try fixtures())
        var declared = Set<String>()
        for mixer in MixerKind.allCases {
            XCTAssertFalse(mixer.definition.referenceFixtures.isEmpty, "\(mixer) declares no reference fixture")
            for name in mixer.definition.referenceFixtures {
                for suffix in ["", "-paper"] {
                    declared.insert("\(name)\(suffix).safetensors")
                    XCTAssertTrue(present.contains("\(name)\(suffix).safetensors"),
                                  "no fixture \(name)\(suffix) (\(mixer)): run scripts/reference/reference_state.py --cases \(name)")
                }
            }
        }
        XCTAssertEqual(present.subtracting(declared), [], "fixtures no registered mixer declares")
    }

    func testParsevalReproducesEveryReferenceState() throws {
        let files = try fixtures()
        XCTAssertFalse(files.isEmpty, "no fixtures in \(Self.folder)")
        for file in files {
            try check(fixture: "\(Self.folder)/\(file)")
        }
    }

    struct Fixture {
        var tensors: [String: SafeTensors.Entry]
        var metadata: [String: String]

        func tensor(_ name: String) throws -> SafeTensors.Entry {
            guard let entry = tensors[name] else { throw CheckpointError("fixture lacks \(name)") }
            return entry
        }

        func json(_ key: String) throws -> [String: Any] {
            guard let text = metadata[key], let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            else { throw CheckpointError("fixture metadata lacks '\(key)'") }
            return object
        }
    }

    func check(fixture path: String) throws {
        let label = (path as NSString).lastPathComponent
        let (entries, metadata) = try SafeTensors.read(path)
        let fixture = Fixture(tensors: Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }),
                              metadata: metadata)
        // The fixture's model section becomes `--set model.KEY=VALUE` overrides, validated as a user's
        // would be; it stands alone (no task), so its classes are not the default task's.
        let settings = try fixture.json("config").map { key, value -> String in
            let encoded = try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed])
            return "model.\(key)=\(String(decoding: encoded, as: UTF8.self))"
        }
        let configuration = try ConfigurationLoader.load(path: nil, overrides: settings, resolvingTask: false).model
        let model = EncoderClassifier(configuration, seed: 0)
        let arena = model.arena

        // Parameters and random features from the fixture; every name must match both ways.
        guard try loadParameters(fixture.tensors, prefix: "param.", into: arena, label: label) else { return }
        for buffer in arena.buffers {
            let saved = try fixture.tensor("buffer.\(buffer.name)")
            XCTAssertEqual(saved.shape, buffer.shape, "\(label): \(buffer.name)")
            buffer.write(saved.values, 0)
        }

        let tokenEntry = try fixture.tensor("input.tokens")
        let (batch, length) = (tokenEntry.shape[0], tokenEntry.shape[1])
        let tokens = tokenEntry.values.map { Int32($0) }
        let mask = Tensor(shape: [batch, length], values: tokens.map { $0 == Int32(configuration.paddingIndex) ? 0 : 1 })
        let labels = try fixture.tensor("input.labels").values.map { Int32($0) }
        let lossFunction = SoftmaxCrossEntropy()
        let context = ForwardContext(training: false)
        func forward() -> (logits: Tensor, loss: Double) {
            let logits = model.forward(tokens: tokens, mask: mask, batch: batch, length: length, context: context)
            return (logits, lossFunction.forward(logits: logits, labels: labels).loss)
        }

        // Logits and loss.
        let (logits, loss) = forward()
        let expectedLogits = try fixture.tensor("output.logits").values.map(Double.init)
        assertClose(logits.scalars, expectedLogits, rtol: Self.logitTolerance.rtol, atol: Self.logitTolerance.atol,
                    "\(label): logits")
        XCTAssertEqual(loss, Double(try fixture.tensor("output.loss").values[0]), accuracy: 1e-5, "\(label): loss")

        // Every parameter's gradient.
        arena.zeroGradients()
        model.backward(lossFunction.backward())
        var largest = 0.0
        for entry in arena.entries {
            largest = max(largest, try fixture.tensor("grad.\(entry.name)").values.map { abs(Double($0)) }.max() ?? 0)
        }
        for entry in arena.entries {
            let expected = try fixture.tensor("grad.\(entry.name)").values.map(Double.init)
            let actual = Array(UnsafeBufferPointer(start: arena.gradients.pointer + entry.offset, count: entry.count))
            assertClose(actual, expected, rtol: 1e-3, atol: Self.gradientTolerance * largest, "\(label): gradient of \(entry.name)")
        }

        // Three AdamW steps on the same batch.
        let settings_ = try fixture.json("optimizer")
        func number(_ key: String) throws -> Float {
            guard let value = settings_[key] as? Double else { throw CheckpointError("\(label): optimizer lacks \(key)") }
            return Float(value)
        }
        let learningRate = try number("learning_rate")
        let optimizer = AdamW(arena: arena, beta1: try number("beta1"), beta2: try number("beta2"),
                              epsilon: try number("epsilon"), weightDecay: try number("weight_decay"))
        let expectedLosses = try fixture.tensor("adamw.losses").values.map(Double.init)
        var losses: [Double] = []
        var gradients: [Float] = []
        for _ in 0..<3 {
            arena.zeroGradients()
            let (_, stepLoss) = forward()
            losses.append(stepLoss)
            model.backward(lossFunction.backward())
            if gradients.isEmpty { gradients = Array(UnsafeBufferPointer(start: arena.gradients.pointer, count: arena.gradients.count)) }
            optimizer.step(learningRate: learningRate)
        }
        assertClose(losses.map(Float.init), expectedLosses, rtol: 1e-4, atol: 1e-5, "\(label): AdamW losses")
        for entry in arena.entries {
            let expected = try fixture.tensor("adamw.param.\(entry.name)").values.map(Double.init)
            let referenceGradient = try fixture.tensor("grad.\(entry.name)").values
            let actual = Array(UnsafeBufferPointer(start: arena.values.pointer + entry.offset, count: entry.count))
            for i in 0..<entry.count {
                let tiny = abs(Double(referenceGradient[i])) < 1e-6 * largest
                let tolerance = tiny ? 3 * Double(learningRate) + 1e-6 : Self.parameterTolerance
                if abs(Double(actual[i]) - expected[i]) > tolerance {
                    XCTFail("\(label): \(entry.name)[\(i)] after three AdamW steps: \(actual[i]), reference \(expected[i])")
                    break
                }
            }
        }
    }
}

/// Copies the fixture tensors `prefix` + name into the arena's parameter of that name. Every name
/// must match both ways and every shape agree (each a test failure); returns false, after the
/// failure, at the first shape that does not, so the caller stops there.
func loadParameters(_ tensors: [String: SafeTensors.Entry], prefix: String, into arena: ParameterArena,
                    label: String) throws -> Bool {
    let names = Set(tensors.keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) })
    XCTAssertEqual(names, Set(arena.entries.map(\.name)), "\(label): parameter names")
    for entry in arena.entries {
        guard let saved = tensors[prefix + entry.name] else { throw CheckpointError("\(label) lacks \(prefix + entry.name)") }
        XCTAssertEqual(saved.shape, entry.shape, "\(label): \(entry.name)")
        guard saved.shape == entry.shape else { return false }
        saved.values.withUnsafeBufferPointer { (arena.values.pointer + entry.offset).update(from: $0.baseAddress!, count: entry.count) }
    }
    return true
}
