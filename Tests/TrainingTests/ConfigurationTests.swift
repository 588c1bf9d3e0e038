import Datasets
import Foundation
import Models
import Training
import XCTest

final class ConfigurationTests: XCTestCase {
    var directory: URL!

    override func setUp() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("parseval-config-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    func write(_ text: String, name: String = "run.yaml") -> String {
        let path = directory.appendingPathComponent(name).path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
        return path
    }

    func assertError(_ path: String?, overrides: [String] = [], contains fragments: [String],
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ConfigurationLoader.load(path: path, overrides: overrides), file: file, line: line) { error in
            let message = "\(error)"
            for fragment in fragments {
                XCTAssertTrue(message.contains(fragment), "'\(message)' should contain '\(fragment)'", file: file, line: line)
            }
        }
    }

    func testFileValuesOverrideDefaultsAndSetOverridesTheFile() throws {
        let path = write("""
            model:
              mixer: attention
              dim: 64
              mlp_hidden: 128
            optimizer:
              learning_rate: 0.0005
            training:
              steps: 20
            """)
        let configuration = try ConfigurationLoader.load(path: path, overrides: ["model.dim=32", "training.seed=7"])
        XCTAssertEqual(configuration.model.dim, 32, "--set wins over the file")
        XCTAssertEqual(configuration.model.mlpHidden, 128)
        XCTAssertEqual(configuration.optimizer.learningRate, 0.0005)
        XCTAssertEqual(configuration.training.steps, 20)
        XCTAssertEqual(configuration.training.seed, 7)
        XCTAssertEqual(configuration.model.heads, ModelConfiguration().heads, "unset keys keep their defaults")
        XCTAssertEqual(try ConfigurationLoader.load(path: nil), try TrainingConfiguration().resolvingTaskFacts())
    }

    func testUnknownKeyNamesFileLineSuggestionAndValidKeys() {
        let path = write("""
            optimizer:
              name: adamw
              lerning_rate: 0.1
            """, name: "listops.yaml")
        assertError(path, contains: ["listops.yaml:3", "unknown key 'lerning_rate' under 'optimizer'",
                                     "did you mean 'learning_rate'?", "valid keys: beta1, beta2"])
        assertError(write("modle:\n  dim: 3\n"), contains: ["run.yaml:1", "unknown key 'modle'", "did you mean 'model'?"])
        assertError(nil, overrides: ["model.dimm=3"], contains: ["--set model.dimm=3", "did you mean 'dim'?"])
    }

    func testListsOfMappingsAreCheckedElementByElement() throws {
        let path = write("""
            model:
              mixer: attention
              downsample:
                - layer: 0
                  ratio: 0.2
            """)
        let configuration = try ConfigurationLoader.load(path: path)
        XCTAssertEqual(configuration.model.downsample, [DownsampleStage(layer: 0, ratio: 0.2)])
        assertError(write("model:\n  downsample:\n    - layr: 0\n"), contains: ["run.yaml:3", "unknown key 'layr'", "did you mean 'layer'?"])
        assertError(write("model:\n  dim: [1, 2]\n"), contains: ["'model.dim' expects a single value, not a list"])
        var bad = TrainingConfiguration()
        bad.model.downsample = [DownsampleStage(layer: 9, ratio: 0.5)]
        XCTAssertThrowsError(try bad.validate()) { XCTAssertTrue("\($0)".contains("model.downsample[0].layer 9")) }
        bad = TrainingConfiguration()
        bad.model.mixer = .fftnet
        XCTAssertThrowsError(try bad.validate()) { XCTAssertTrue("\($0)".contains("must equal model.max_length")) }
    }

    func testWrongTypesAndChoicesNameTheKey() {
        assertError(write("model:\n  dim: wide\n"), contains: ["run.yaml:2", "key 'model.dim' expects a whole number"])
        assertError(write("model:\n  mixer: fftnett\n"), contains: ["key 'model.mixer' must be one of", "attention"])
        assertError(write("model: 3\n"), contains: ["'model' is a section"])
        assertError(write("model:\n  dim: [1, 2]\n"), contains: ["model.dim"])
        assertError(directory.appendingPathComponent("missing.yaml").path, contains: ["missing.yaml", "cannot read"])
        assertError(write("model:\n  dim: 3\n   heads: 2\n"), contains: ["not valid YAML"])
    }

    func testValidationCatchesImpossibleCombinations() throws {
        var configuration = TrainingConfiguration()
        configuration.model.dim = 30
        configuration.model.heads = 4
        XCTAssertThrowsError(try configuration.validate()) { XCTAssertEqual("\($0)", "model.dim 30 is not divisible by model.heads 4") }
        configuration = TrainingConfiguration()
        configuration.data.sequenceLength = 4096
        XCTAssertThrowsError(try configuration.validate()) { XCTAssertTrue("\($0)".contains("exceeds model.max_length")) }
        // Choices are enums: a value outside them cannot be built in Swift, and the loader names
        // the valid ones, taken from the enum.
        XCTAssertThrowsError(try ConfigurationLoader.load(path: nil, overrides: ["optimizer.name=adam"])) {
            XCTAssertTrue("\($0)".contains("optimizer.name") && "\($0)".contains("adamw, sgd"), "\($0)")
        }
        XCTAssertThrowsError(try ConfigurationLoader.load(path: nil, overrides: ["parallel.fft_planning=patient"])) {
            XCTAssertTrue("\($0)".contains("parallel.fft_planning") && "\($0)".contains("estimate, measure"), "\($0)")
        }
        XCTAssertThrowsError(try ConfigurationLoader.load(path: nil, overrides: ["data.task=lisops"])) {
            XCTAssertTrue("\($0)".contains(TaskKind.allCases.map(\.rawValue).joined(separator: ", ")), "\($0)")
        }
        // A head or embedding the task's model cannot use is an error naming both.
        configuration = TrainingConfiguration()
        (configuration.data.task, configuration.model.head) = (.retrieval, .mlp)
        XCTAssertThrowsError(try configuration.validate()) { XCTAssertTrue("\($0)".contains("model.head mlp") && "\($0)".contains("retrieval"), "\($0)") }
        configuration = TrainingConfiguration()
        (configuration.data.task, configuration.model.patchSize, configuration.model.maxLength) = (.cifar10, 4, 64)
        configuration.model.embedding = .scalar
        XCTAssertThrowsError(try configuration.validate()) { XCTAssertTrue("\($0)".contains("model.embedding scalar") && "\($0)".contains("cifar10"), "\($0)") }
        assertError(nil, overrides: ["model.pooling=token"], contains: ["model.pooling", "mean, cls, first"])
        XCTAssertNoThrow(try ConfigurationLoader.load(path: nil, overrides: ["model.head=mlp", "model.pooling=cls", "model.embedding=scalar"]))
        configuration = TrainingConfiguration()
        configuration.training.batchSize = 10
        XCTAssertThrowsError(try configuration.localBatchSize(ranks: 3))
        XCTAssertEqual(try configuration.localBatchSize(ranks: 2), 5)
        XCTAssertNoThrow(try TrainingConfiguration().validate())
    }

    func testResolvedConfigurationRoundTrips() throws {
        var configuration = TrainingConfiguration()
        configuration.model.mlpHidden = 77
        configuration.parallel.firstBucketMegabytes = 3
        let text = try ConfigurationLoader.encode(configuration)
        XCTAssertTrue(text.contains("\"mlp_hidden\" : 77"))
        XCTAssertTrue(text.contains("\"first_bucket_megabytes\" : 3"))
        let path = write(text, name: "resolved.yaml")  // JSON is YAML
        XCTAssertEqual(try ConfigurationLoader.load(path: path), try configuration.resolvingTaskFacts())
    }

    /// `model.classes` and `model.vocabulary_size` come from the task; set, they are checked.
    func testTheModelTakesClassesAndVocabularyFromTheTask() throws {
        for task in TaskKind.allCases {
            // The task facts alone: the defaults' other keys do not fit every task (image sizes).
            let resolved = try ConfigurationLoader.load(path: nil, overrides: ["data.task=\(task.rawValue)"], resolvingTask: false)
                .resolvingTaskFacts()
            XCTAssertEqual(resolved.model.classes, task.classes ?? 0, "\(task): classes (ImageNet's come from its folders)")
            XCTAssertEqual(resolved.model.vocabularySize, task.images ? 0 : task.vocabularySize, "\(task): vocabulary")
        }
        XCTAssertEqual(try ConfigurationLoader.load(path: nil, overrides: ["data.task=listops"]).model.vocabularySize,
                       ListOpsLoader.vocabulary.count)
        XCTAssertEqual(try ConfigurationLoader.load(path: nil, overrides: ["data.task=text", "model.vocabulary_size=300"])
                        .model.vocabularySize, 300, "a larger vocabulary is a checked override")
        XCTAssertThrowsError(try ConfigurationLoader.load(path: nil, overrides: ["data.task=pathfinder", "data.sequence_length=1024", "model.classes=10"])) {
            XCTAssertEqual("\($0)", "model.classes is 10, the pathfinder task has 2 (leave model.classes out to take the task's)")
        }
        XCTAssertThrowsError(try ConfigurationLoader.load(path: nil, overrides: ["data.task=text", "model.vocabulary_size=100"])) {
            XCTAssertTrue("\($0)".contains("model.vocabulary_size 100 is smaller than the text vocabulary (257)"), "\($0)")
        }
        // ImageNet: the folders decide.
        var imagenet = TrainingConfiguration()
        imagenet.data.task = .imagenet
        XCTAssertEqual(try imagenet.resolvingTaskFacts(classes: 1000).model.classes, 1000)
        imagenet.model.classes = 100
        XCTAssertThrowsError(try imagenet.resolvingTaskFacts(classes: 1000))
    }
}
