import Foundation
import Layers
import Models
import Optimizers
import Parameters
import TensorCore
import Training
import XCTest

/// He et al.: DCT downsampling has no parameters, so a Fourier Transformer loads a plain
/// Transformer's checkpoint unchanged; with ratio 1.0 it computes the same function.
final class WeightInheritanceTests: XCTestCase {
    /// A small plain Transformer (attention, two blocks, no dropout).
    func transformerConfiguration() -> ModelConfiguration {
        var c = ModelConfiguration()
        (c.vocabularySize, c.maxLength, c.dim, c.depth, c.heads, c.mlpHidden, c.dropout, c.classes) = (11, 12, 16, 2, 2, 32, 0, 4)
        return c
    }

    func testFourierTransformerInheritsATransformersCheckpoint() throws {
        let run = FileManager.default.temporaryDirectory.appendingPathComponent("parseval-inherit-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: run) }
        let c = transformerConfiguration()
        let transformer = EncoderClassifier(c, seed: 1)
        try Checkpoint.save(run: run, arena: transformer.arena, optimizer: AdamW(arena: transformer.arena),
                            state: TrainingState(), configurationJSON: "{}")
        let directory = try XCTUnwrap(try Checkpoint.resolve(run: run))

        var stream = RandomStream(seed: 2)
        let tokens = (0..<3 * 12).map { _ in Int32(1 + stream.integer(below: 10)) }
        func logits(_ model: EncoderClassifier) -> [Float] {
            model.forward(tokens: tokens, mask: nil, batch: 3, length: 12, context: ForwardContext(training: false)).scalars
        }
        let expected = logits(transformer)

        var identity = c
        identity.downsample = [DownsampleStage(layer: 0, ratio: 1.0)]
        let inheriting = EncoderClassifier(identity, seed: 99)
        XCTAssertNotEqual(logits(inheriting), expected, "before loading, the models differ")
        try Checkpoint.load(from: directory, into: inheriting.arena)
        let actual = logits(inheriting)
        let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThan(worst, 1e-4, "ratio 1.0 must reproduce the Transformer's logits (largest difference \(worst))")

        var shortened = c
        shortened.downsample = [DownsampleStage(layer: 0, ratio: 0.5)]
        let fourier = EncoderClassifier(shortened, seed: 7)
        try Checkpoint.load(from: directory, into: fourier.arena)
        XCTAssertTrue(logits(fourier).allSatisfy(\.isFinite), "the downsampling model evaluates with inherited weights")
    }

    /// Tensors of `arena` under another scheme's names: what PyTorch would save for the model.
    func exported(_ arena: ParameterArena, rename: (String) -> String,
                  transform: (String, [Int], [Float]) -> ([Int], [Float]) = { ($1, $2) }) -> [SafeTensors.Entry] {
        arena.entries.map { entry in
            let values = Array(UnsafeBufferPointer(start: arena.values.pointer + entry.offset, count: entry.count))
            let (shape, laidOut) = transform(entry.name, entry.shape, values)
            return SafeTensors.Entry(name: rename(entry.name), shape: shape, values: laidOut)
        }
    }

    func seal(_ entries: [SafeTensors.Entry], source: WeightSource, into arena: ParameterArena, folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try SafeTensors.write(entries, metadata: [:], to: "\(folder)/model.safetensors")
        try Checkpoint.seal(weights: "\(folder)/model.safetensors", source: source, model: arena,
                            optimizer: AdamW(arena: arena), run: "\(folder)/run", step: 0, configurationJSON: "{}")
    }

    /// `nn.TransformerEncoder` names (`encoder.layers.L.self_attn.in_proj_weight`, `linear1`, …)
    /// sealed into a Fourier Transformer at ratio 1.0: the Transformer's logits.
    func testTorchEncoderNamesAreSealedIntoAFourierTransformer() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parseval-torch-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let c = transformerConfiguration()
        let transformer = EncoderClassifier(c, seed: 1)
        let torchNames = ["mixer.qkv.weight": "self_attn.in_proj_weight", "mixer.qkv.bias": "self_attn.in_proj_bias",
                          "mixer.out.weight": "self_attn.out_proj.weight", "mixer.out.bias": "self_attn.out_proj.bias",
                          "mlp.fc1.weight": "linear1.weight", "mlp.fc1.bias": "linear1.bias",
                          "mlp.fc2.weight": "linear2.weight", "mlp.fc2.bias": "linear2.bias"]
        let entries = exported(transformer.arena) { name in
            guard name.hasPrefix("blocks.") else { return name }
            let parts = name.split(separator: ".", maxSplits: 2).map(String.init)  // blocks, L, rest
            return "encoder.layers.\(parts[1]).\(torchNames[parts[2]] ?? parts[2])"
        }
        XCTAssertTrue(entries.contains { $0.name == "encoder.layers.1.self_attn.in_proj_weight" })
        var fourier = c
        fourier.downsample = [DownsampleStage(layer: 0, ratio: 1.0)]
        let inheriting = EncoderClassifier(fourier, seed: 9)
        try seal(entries, source: .torchEncoder, into: inheriting.arena, folder: folder)
        let tokens: [Int32] = (0..<24).map { Int32(1 + $0 % 10) }
        let context = ForwardContext(training: false)
        let expected = transformer.forward(tokens: tokens, mask: nil, batch: 2, length: 12, context: context).scalars
        let actual = inheriting.forward(tokens: tokens, mask: nil, batch: 2, length: 12, context: context).scalars
        XCTAssertLessThan(zip(actual, expected).map { abs($0 - $1) }.max() ?? .infinity, 1e-4)
    }

    /// timm's ViT names and layouts (a (D, 3, P, P) patch convolution, pos_embed (1, N, D)) sealed
    /// into Parseval's vision classifier: the same logits. Also timm's default token-pooled ViT:
    /// `cls_token` (1, 1, D) keeps its name, `pos_embed` (1, N + 1, D) holds its row (`pooling: cls`).
    func testTimmViTNamesAndLayoutsAreSealed() throws {
        try checkTimmViT(pooling: .mean)
        try checkTimmViT(pooling: .cls)
    }

    func checkTimmViT(pooling: Pooling.Kind) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parseval-timm-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var c = ModelConfiguration()
        (c.maxLength, c.dim, c.depth, c.heads, c.mlpHidden, c.dropout, c.classes, c.patchSize) = (4, 16, 1, 2, 32, 0, 3, 4)
        c.normEpsilon = 1e-6
        c.pooling = pooling
        let original = VisionClassifier(c, imageChannels: 3, patchSize: 4, seed: 1)
        let entries = exported(original.arena, rename: { name in
            if name == "position" { return "pos_embed" }
            if name.hasPrefix("patch_embedding.") { return "patch_embed.proj." + name.dropFirst("patch_embedding.".count) }
            return name.replacingOccurrences(of: ".mixer.qkv.", with: ".attn.qkv.").replacingOccurrences(of: ".mixer.out.", with: ".attn.proj.")
        }, transform: { name, shape, values in
            if name == "position" { return ([1] + shape, values) }
            guard name == "patch_embedding.weight" else { return (shape, values) }
            // (D, P·P·3) channels last → the convolution's (D, 3, P, P).
            let (d, p, channels) = (shape[0], 4, 3)
            var conv = [Float](repeating: 0, count: values.count)
            for o in 0..<d { for ch in 0..<channels { for y in 0..<p { for x in 0..<p {
                conv[((o * channels + ch) * p + y) * p + x] = values[o * p * p * channels + (y * p + x) * channels + ch]
            } } } }
            return ([d, channels, p, p], conv)
        })
        let imported = VisionClassifier(c, imageChannels: 3, patchSize: 4, seed: 5)
        try seal(entries, source: .timmViT, into: imported.arena, folder: folder)
        var stream = RandomStream(seed: 3)
        let images = Tensor(shape: [2, 8, 8, 3], values: (0..<2 * 8 * 8 * 3).map { _ in stream.uniform(-1, 1) })
        let context = ForwardContext(training: false)
        XCTAssertEqual(imported.forward(images: images, context: context).scalars,
                       original.forward(images: images, context: context).scalars, "\(pooling) pooling")
        if pooling == .cls {
            XCTAssertEqual(entries.first { $0.name == "cls_token" }?.shape, [1, 1, 16])
            XCTAssertEqual(entries.first { $0.name == "pos_embed" }?.shape, [1, 5, 16], "4 patches and the class token")
        }
    }
}
