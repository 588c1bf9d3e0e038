import Layers
import Models
import Optimizers
import Parameters
import TensorCore
import XCTest

final class ModelTests: XCTestCase {
    func tinyConfiguration() -> ModelConfiguration {
        var c = ModelConfiguration()
        c.vocabularySize = 11
        c.maxLength = 8
        c.dim = 8
        c.depth = 2
        c.heads = 2
        c.mlpHidden = 16
        c.dropout = 0
        c.classes = 3
        return c
    }

    /// Random tokens with trailing padding on some rows, and the matching mask.
    func batch(_ count: Int, length: Int, seed: UInt64) -> (tokens: [Int32], mask: Tensor, labels: [Int32]) {
        var stream = RandomStream(seed: seed)
        var tokens: [Int32] = [], mask: [Float] = [], labels: [Int32] = []
        for b in 0..<count {
            let valid = length - (b % 3)
            for n in 0..<length {
                tokens.append(n < valid ? Int32(1 + stream.integer(below: 10)) : 0)
                mask.append(n < valid ? 1 : 0)
            }
            labels.append(Int32(stream.integer(below: 3)))
        }
        return (tokens, Tensor(shape: [count, length], values: mask), labels)
    }

    /// Central differences of the mean loss for sampled elements of every parameter tensor.
    /// Step 1e-3: the embeddings start at σ = 0.02, and LayerNorm over inputs that small is
    /// too curved for a 1e-2 step.
    func checkParameterGradients(arena: ParameterArena, step: Float = 1e-3, loss: () -> Double, label: String = "",
                                 backward: () -> Void,
                                 file: StaticString = #filePath, line: UInt = #line) {
        arena.zeroGradients()
        backward()
        let analytic = Array(UnsafeBufferPointer(start: arena.gradients.pointer, count: arena.gradients.count))
        let scale = max(analytic.map { abs(Double($0)) }.max() ?? 0, 1e-3)
        for entry in arena.entries {
            for i in stride(from: 0, to: entry.count, by: max(1, entry.count / 6)) {
                let slot = arena.values.pointer + entry.offset + i
                let original = slot.pointee
                slot.pointee = original + step
                let up = loss()
                slot.pointee = original - step
                let down = loss()
                slot.pointee = original
                let numeric = (up - down) / (2 * Double(step))
                XCTAssertEqual(Double(analytic[entry.offset + i]), numeric, accuracy: 2e-4 + 2e-2 * scale,
                               "\(label) \(entry.name)[\(i)]", file: file, line: line)
            }
        }
    }

    func testClassifierParameterGradients() {
        checkClassifierGradients(tinyConfiguration())
    }

    func testEveryMixerTrainsThroughTheClassifier() {
        for mixer in MixerKind.allCases where mixer != .attention {
            var c = tinyConfiguration()
            c.mixer = mixer
            c.maxLength = 6  // FFTNet filters exactly this length
            c.randomFeatures = 16
            checkClassifierGradients(c, label: mixer.rawValue)
        }
        var fourier = tinyConfiguration()
        fourier.maxLength = 6
        fourier.downsample = [DownsampleStage(layer: 1, ratio: 0.5)]
        checkClassifierGradients(fourier, label: "fourier transformer")
    }

    /// `model.block: paper` for every mixer, and the paper Fourier Transformer (its shortening
    /// inside the block, with and without CLS pooling), through the whole classifier.
    func testEveryPaperBlockTrainsThroughTheClassifier() {
        for mixer in MixerKind.allCases {
            var c = tinyConfiguration()
            c.block = .paper
            c.mixer = mixer
            c.maxLength = 6
            c.randomFeatures = 16
            // modReLU's bias starts at 0 here, where ReLU(|z| + b) has its kink for the small
            // spectra of unnormalised inputs: finite differences need it away from 0.
            checkClassifierGradients(c, label: "paper \(mixer.rawValue)") { arena in
                for entry in arena.entries where entry.name.hasSuffix("modrelu.bias") {
                    for i in 0..<entry.count { arena.values.pointer[entry.offset + i] = 0.05 }
                }
            }
        }
        for pooling in [Pooling.Kind.mean, .cls] {
            var fourier = tinyConfiguration()
            fourier.block = .paper
            fourier.pooling = pooling
            fourier.maxLength = 6
            fourier.downsample = [DownsampleStage(layer: 1, ratio: 0.5)]
            checkClassifierGradients(fourier, label: "paper fourier transformer, \(pooling) pooling")
        }
    }

    /// `pooling: cls` adds the learned token (`cls_token`, timm's shape) and a positional row for
    /// it; the blocks see N + 1 positions; `first` adds nothing. Gradients through the whole
    /// classifier for each mixer family with the token, the Fourier Transformer keeping it aside,
    /// and FFTNet's official LRA model (paper block, scalar embedding). Step 1e-4: FFTNet's
    /// modReLU has kinks (|z| = −b, and z → 0), as has the MLP head's ReLU, and a step of 1e-3 on the token or on the
    /// scalar embedding's weight (times ids up to 10) crosses some, which measures no derivative.
    func testLearnedClassTokenThroughTheClassifier() {
        var c = tinyConfiguration()
        c.pooling = .cls
        let model = EncoderClassifier(c, seed: 1)
        let names = Dictionary(model.arena.entries.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(names["cls_token"], [1, 1, c.dim])
        XCTAssertEqual(names["position"], [c.maxLength + 1, c.dim], "row 0 is the class token's position")
        var first = tinyConfiguration()
        first.pooling = .first
        let plain = EncoderClassifier(first, seed: 1)
        XCTAssertFalse(plain.arena.entries.contains { $0.name == "cls_token" })
        XCTAssertEqual(plain.arena.entries.first { $0.name == "position" }?.shape, [first.maxLength, first.dim])

        for mixer in MixerKind.allCases {
            var c = tinyConfiguration()
            c.mixer = mixer
            c.pooling = .cls
            c.maxLength = 6  // FFTNet and GFNet filter exactly 7 positions: the class token and 6 tokens
            c.randomFeatures = 16
            checkClassifierGradients(c, label: "\(mixer.rawValue) with a class token", step: 1e-4)
        }
        var fourier = tinyConfiguration()
        fourier.pooling = .cls
        fourier.maxLength = 6
        fourier.downsample = [DownsampleStage(layer: 1, ratio: 0.5)]
        checkClassifierGradients(fourier, label: "fourier transformer with a class token")
        var official = tinyConfiguration()
        official.mixer = .fftnet
        official.block = .paper
        official.pooling = .cls
        official.embedding = .scalar
        official.maxLength = 6
        checkClassifierGradients(official, label: "FFTNet LRA (paper block, scalar embedding, class token)", step: 1e-4)
        var lra = tinyConfiguration()
        (lra.block, lra.pooling, lra.head) = (.paper, .cls, .mlp)
        checkClassifierGradients(lra, label: "LRA's Transformer classifier (class token, Dense → ReLU → Dense head)", step: 1e-4)
        let headNames = Set(EncoderClassifier(lra, seed: 1).arena.entries.map(\.name))
        XCTAssertTrue(headNames.isSuperset(of: ["head.fc1.weight", "head.fc1.bias", "head.fc2.weight", "head.fc2.bias"]), "\(headNames)")
        XCTAssertFalse(headNames.contains("head.weight"))
    }

    /// The class token reads the sequence: its final state depends on every input token, and a
    /// padded tail changes nothing where the mixer masks (attention).
    func testClassTokenPoolingSeesTheWholeSequenceAndIgnoresPads() {
        var c = tinyConfiguration()
        c.pooling = .cls
        let model = EncoderClassifier(c, seed: 2)
        let context = ForwardContext(training: false)
        let tokens: [Int32] = [3, 4, 5, 6, 7, 8, 0, 0], mask = Tensor(shape: [1, 8], values: [1, 1, 1, 1, 1, 1, 0, 0])
        let base = model.forward(tokens: tokens, mask: mask, batch: 1, length: 8, context: context)
        var changedLast = tokens
        changedLast[5] = 2
        let moved = model.forward(tokens: changedLast, mask: mask, batch: 1, length: 8, context: context)
        XCTAssertNotEqual(base.scalars, moved.scalars, "the last valid token reaches the class token")
        var changedPad = tokens
        changedPad[7] = 9
        let padded = model.forward(tokens: changedPad, mask: mask, batch: 1, length: 8, context: context)
        XCTAssertEqual(base.scalars, padded.scalars, "a masked position does not reach the class token")
    }

    /// What `model.block: paper` builds: FNet's blocks end in their own norm (no final one);
    /// the Fourier Transformer shortens inside its block; ε follows each paper's code.
    func testPaperBlocksFollowTheirOfficialCode() {
        var c = tinyConfiguration()
        c.block = .paper
        c.mixer = .fnet
        let fnet = EncoderTower(c, arena: ParameterArena())
        XCTAssertNil(fnet.finalNorm)
        XCTAssertEqual(fnet.blocks[0].norm1.epsilon, 1e-12)
        XCTAssertTrue(fnet.blocks[0].mlp.tanhGELU)
        c.mixer = .attention
        let lra = EncoderTower(c, arena: ParameterArena())
        XCTAssertEqual(lra.blocks[1].norm2.epsilon, 1e-6)
        XCTAssertEqual(lra.finalNorm?.epsilon, 1e-6)
        c.downsample = [DownsampleStage(layer: 1, ratio: 0.5)]
        let fourier = EncoderTower(c, arena: ParameterArena())
        XCTAssertNil(fourier.downsamplers[1], "the paper block shortens inside itself")
        guard case .shortenedResidual = fourier.blocks[1].layout else { return XCTFail("block 1 should shorten") }
        guard case .preNorm = fourier.blocks[0].layout else { return XCTFail("block 0 is LUMIA's pre-norm block") }
        XCTAssertEqual(fourier.blocks[0].norm1.epsilon, 1e-5)
        XCTAssertFalse(fourier.blocks[0].mlp.tanhGELU)
        c.downsample = []
        c.mixer = .fftnet
        c.maxLength = 6
        let arena = ParameterArena()
        let fftnet = EncoderTower(c, arena: arena)
        guard case .mixerPostNorm = fftnet.blocks[0].layout else { return XCTFail("FFTNet v1 normalises inside its mixer") }
        arena.allocate(seed: 1)
        let bias = arena.parameter(named: "blocks.0.mixer.modrelu.bias")!
        XCTAssertEqual(arena.value(bias)[0], 0, "modReLU's bias starts at 0 at 72d20e1")
    }

    func checkClassifierGradients(_ configuration: ModelConfiguration, label: String = "attention", step: Float = 1e-3,
                                  file: StaticString = #filePath, line: UInt = #line,
                                  prepare: (ParameterArena) -> Void = { _ in }) {
        let model = EncoderClassifier(configuration, seed: 1)
        prepare(model.arena)
        let data = batch(3, length: 6, seed: 2)
        let lossFunction = SoftmaxCrossEntropy(labelSmoothing: 0.1)
        let context = ForwardContext(training: false)
        func loss() -> Double {
            let logits = model.forward(tokens: data.tokens, mask: data.mask, batch: 3, length: 6, context: context)
            return lossFunction.forward(logits: logits, labels: data.labels).loss
        }
        checkParameterGradients(arena: model.arena, step: step, loss: loss, label: label, backward: {
            _ = loss()
            model.backward(lossFunction.backward())
        }, file: file, line: line)
    }

    func testDualEncoderParameterGradients() {
        let model = DualEncoder(tinyConfiguration(), seed: 3)
        let first = batch(2, length: 5, seed: 4), second = batch(2, length: 5, seed: 5)
        let lossFunction = SoftmaxCrossEntropy()
        let context = ForwardContext(training: false)
        func loss() -> Double {
            let logits = model.forward(first: first.tokens, firstMask: first.mask, second: second.tokens,
                                       secondMask: second.mask, batch: 2, length: 5, context: context)
            return lossFunction.forward(logits: logits, labels: first.labels).loss
        }
        checkParameterGradients(arena: model.arena, loss: loss) {
            _ = loss()
            model.backward(lossFunction.backward())
        }
    }

    /// Trains a tiny model on one batch; returns the loss of every step.
    func overfit(seed: UInt64, steps: Int, mixer: MixerKind = .attention) -> [Double] {
        var configuration = tinyConfiguration()
        configuration.dropout = 0.1
        configuration.mixer = mixer
        let model = EncoderClassifier(configuration, seed: seed)
        let optimizer = AdamW(arena: model.arena, weightDecay: 0)
        let data = batch(6, length: 8, seed: 7)
        let lossFunction = SoftmaxCrossEntropy()
        var losses: [Double] = []
        for step in 0..<steps {
            model.arena.zeroGradients()
            let context = ForwardContext(training: true, random: RandomStream(seed: seed).derived(UInt64(step)))
            let logits = model.forward(tokens: data.tokens, mask: data.mask, batch: 6, length: 8, context: context)
            losses.append(lossFunction.forward(logits: logits, labels: data.labels).loss)
            model.backward(lossFunction.backward())
            clipGradientNorm(model.arena, maxNorm: 1)
            optimizer.step(learningRate: 3e-3)
        }
        return losses
    }

    func testTinyModelOverfitsOneBatchAndIsBitReproducible() {
        let losses = overfit(seed: 11, steps: 150)
        XCTAssertGreaterThan(losses[0], 0.5)
        XCTAssertLessThan(losses.last!, 0.05, "a tiny model must overfit one batch (losses: \(losses.suffix(5)))")
        let again = overfit(seed: 11, steps: 150)
        XCTAssertEqual(losses.map(\.bitPattern), again.map(\.bitPattern), "same seed must give bit-identical losses")
    }

    func testTinyFFTNetOverfitsOneBatch() {
        let losses = overfit(seed: 12, steps: 200, mixer: .fftnet)
        XCTAssertLessThan(losses.last!, 0.05, "FFTNet must overfit one batch (losses: \(losses.suffix(5)))")
    }

    func testConfigurationValidationNamesTheKey() {
        var c = tinyConfiguration()
        c.heads = 3
        XCTAssertThrowsError(try c.validate()) { error in
            XCTAssertEqual("\(error)", "model.dim 8 is not divisible by model.heads 3")
        }
        c = tinyConfiguration()
        (c.mixer, c.causal) = (.fnet, true)
        XCTAssertThrowsError(try c.validate()) { error in
            XCTAssertEqual((error as? ModelConfigurationError)?.key, "model.causal", "\(error)")
        }
        XCTAssertNoThrow(try tinyConfiguration().validate())
    }
}

extension ModelTests {
    /// DESIGN.md: no allocation in the steady state. Every tensor a training step allocates
    /// comes from the storage pool's cache once one step has run, for every mixer.
    func testSteadyStateTrainingStepsAllocateNoNewStorage() {
        for mixer in MixerKind.allCases {
            var configuration = tinyConfiguration()
            configuration.mixer = mixer
            configuration.dropout = 0.1
            let model = EncoderClassifier(configuration, seed: 5)
            let optimizer = AdamW(arena: model.arena, weightDecay: 0.01)
            let data = batch(4, length: 8, seed: 3)
            let lossFunction = SoftmaxCrossEntropy()
            func step(_ number: Int) {
                model.arena.zeroGradients()
                let context = ForwardContext(training: true, random: RandomStream(seed: 9).derived(UInt64(number)))
                let logits = model.forward(tokens: data.tokens, mask: data.mask, batch: 4, length: 8, context: context)
                _ = lossFunction.forward(logits: logits, labels: data.labels)
                model.backward(lossFunction.backward())
                optimizer.step(learningRate: 1e-3)
            }
            step(0)
            step(1)
            let before = StoragePool.statistics
            step(2)
            step(3)
            let after = StoragePool.statistics
            XCTAssertGreaterThan(after.hits - before.hits, 20, "\(mixer): the step must allocate through the pool")
            XCTAssertEqual(after.misses - before.misses, 0, "\(mixer): a steady-state step allocated from the system")
        }
    }
}

/// `training.precision: bf16` at the model level: every mixer learns with bf16 products, and
/// its losses track the fp32 run's (bf16 rounds inputs to 8 significant bits, so they differ).
extension ModelTests {
    func testEveryMixerOverfitsOneBatchWithBF16Products() throws {
        if case .unavailable(let reason) = Matmul.bf16Support { throw XCTSkip("bf16: \(reason)") }
        for mixer in MixerKind.allCases {
            let single = overfit(seed: 21, steps: 150, mixer: mixer)
            let half = Matmul.withPrecision(.bf16) { overfit(seed: 21, steps: 150, mixer: mixer) }
            XCTAssertEqual(Matmul.precision, .fp32, "withPrecision restores fp32")
            XCTAssertNotEqual(single.map { $0.bitPattern }, half.map { $0.bitPattern }, "\(mixer): bf16 must change the products")
            XCTAssertLessThan(half.last!, 0.5 * half.first!, "\(mixer): bf16 training must learn (losses \(half.suffix(3)))")
            XCTAssertEqual(half.last!, single.last!, accuracy: 0.1 + 0.2 * single.last!,
                           "\(mixer): bf16 ends at \(half.last!), fp32 at \(single.last!)")
        }
    }
}
