import Foundation
import XCTest
@testable import Datasets

final class ListOpsTests: XCTestCase {
    static let settings: ListOpsGenerator.Settings = {
        var settings = ListOpsGenerator.Settings()
        settings.trainCount = 300
        settings.validationCount = 30
        settings.testCount = 30
        settings.minLength = 10
        settings.maxLength = 120
        settings.seed = 7
        return settings
    }()

    func testLengthsStayStrictlyWithinBounds() {
        let splits = ListOpsGenerator(settings: Self.settings).generate()
        let all = splits.train + splits.validation + splits.test
        XCTAssertEqual([splits.train.count, splits.validation.count, splits.test.count], [300, 30, 30])
        for expression in all {
            XCTAssertGreaterThan(expression.length, 10)
            XCTAssertLessThan(expression.length, 120)
            // The length is the token count after LRA's tokenisation.
            let tokens = try? ListOpsLoader.tokenize(Array(expression.source.utf8)).get()
            XCTAssertEqual(tokens?.count, expression.length, expression.source)
        }
    }

    func testTargetsEqualAnIndependentEvaluator() throws {
        let splits = ListOpsGenerator(settings: Self.settings).generate()
        for expression in splits.train + splits.validation + splits.test {
            XCTAssertEqual(try ListOpsEvaluator.evaluate(expression.source), expression.value, expression.source)
        }
        // Every operator appears, and values cover several classes.
        let sources = splits.train.map(\.source).joined()
        for op in ListOpsGenerator.operators { XCTAssertTrue(sources.contains(op), op) }
        XCTAssertGreaterThan(Set(splits.train.map(\.value)).count, 5)
    }

    func testEvaluatorOnKnownExpressions() throws {
        XCTAssertEqual(try ListOpsEvaluator.evaluate("( ( ( [MAX 2 ) 9 ) ] )"), 9)
        XCTAssertEqual(try ListOpsEvaluator.evaluate("[MED 1 2 3 4 ]"), 2)          // int(np.median) = int(2.5)
        XCTAssertEqual(try ListOpsEvaluator.evaluate("[SM 9 8 [MIN 3 4 X ]"), 0)     // (9 + 8 + 3) mod 10
        XCTAssertThrowsError(try ListOpsEvaluator.evaluate("[MAX 2 9"))
        XCTAssertThrowsError(try ListOpsEvaluator.evaluate("[FOO 1 ]"))
    }

    func testSourceIsLRAsNestedPairFormat() {
        // Find a small operator node and check the ( ( op a ) b ) ] ) shape literally.
        let splits = ListOpsGenerator(settings: Self.settings).generate()
        let source = splits.train[0].source
        XCTAssertTrue(source.hasPrefix("( ( "), source)
        XCTAssertTrue(source.hasSuffix(" ] )"), source)
        XCTAssertEqual(source.filter { $0 == "(" }.count, source.filter { $0 == ")" }.count)
        XCTAssertFalse(source.contains("  "))
    }

    func testNoDuplicatesAcrossSplits() {
        let splits = ListOpsGenerator(settings: Self.settings).generate()
        let sources = (splits.train + splits.validation + splits.test).map(\.source)
        XCTAssertEqual(Set(sources).count, sources.count)
    }

    func testSameSeedWritesIdenticalFilesAndAnotherSeedDoesNot() throws {
        let folder = try TemporaryFolder(self)
        let first = try ListOpsGenerator.write(ListOpsGenerator(settings: Self.settings).generate(), to: folder.path + "/a")
        let second = try ListOpsGenerator.write(ListOpsGenerator(settings: Self.settings).generate(), to: folder.path + "/b")
        var other = Self.settings
        other.seed = 8
        let third = try ListOpsGenerator.write(ListOpsGenerator(settings: other).generate(), to: folder.path + "/c")
        XCTAssertEqual(first.map { ($0 as NSString).lastPathComponent }, ["basic_train.tsv", "basic_val.tsv", "basic_test.tsv"])
        for (a, b) in zip(first, second) {
            XCTAssertEqual(FileManager.default.contents(atPath: a), FileManager.default.contents(atPath: b))
        }
        XCTAssertNotEqual(FileManager.default.contents(atPath: first[0]), FileManager.default.contents(atPath: third[0]))
    }

    func testLoaderRoundTripsTheGeneratedFiles() throws {
        let folder = try TemporaryFolder(self)
        let splits = ListOpsGenerator(settings: Self.settings).generate()
        let paths = try ListOpsGenerator.write(splits, to: folder.path)
        let text = try String(contentsOfFile: paths[1], encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("Source\tTarget\r\n"))
        let loaded = try ListOpsLoader.load(file: paths[1], maxLength: 50)
        XCTAssertEqual(loaded.count, splits.validation.count)
        for (example, expression) in zip(loaded.examples, splits.validation) {
            XCTAssertEqual(example.label, Int32(expression.value))
            XCTAssertEqual(example.tokens.count, min(50, expression.length))
            // Decoding the ids back gives the source with parentheses dropped and ] as X.
            let words = expression.source.split(separator: " ").filter { $0 != "(" && $0 != ")" }
                .map { $0 == "]" ? "X" : String($0) }
            XCTAssertEqual(example.tokens.map { ListOpsLoader.vocabulary[Int($0)] }, Array(words.prefix(50)))
        }
        XCTAssertEqual(ListOpsLoader.vocabulary.count, 16)
        XCTAssertEqual(ListOpsLoader.vocabulary[0], "<pad>")
    }

    func testBadRowsNameFileAndLine() throws {
        let folder = try TemporaryFolder(self)
        let good = "( ( [MAX 2 ) ] )\t2"
        let missing = try folder.write("Source\tTarget\n\(good)\n( ( [MIN 1 ) ] )\n", to: "missing.tsv")
        assertDatasetError([missing + ":3:", "expected 2 tab-separated fields", "found 1"]) { try ListOpsLoader.load(file: missing) }
        let target = try folder.write("Source\tTarget\n\(good)\n\(good)\n( ( [MIN 1 ) ] )\t12\n", to: "target.tsv")
        assertDatasetError([target + ":4:", "Target in 0...9", "'12'"]) { try ListOpsLoader.load(file: target) }
        let token = try folder.write("Source\tTarget\n( ( [MUL 1 ) ] )\t1\n", to: "token.tsv")
        assertDatasetError([token + ":2:", "unknown token '[MUL'"]) { try ListOpsLoader.load(file: token) }
        let header = try folder.write("\(good)\n", to: "header.tsv")
        assertDatasetError([header + ":1:", "header"]) { try ListOpsLoader.load(file: header) }
        assertDatasetError([folder.path + "/absent.tsv", "no such file"]) { try ListOpsLoader.load(file: folder.path + "/absent.tsv") }
    }

    func testSkipBadExamplesCountsAndReports() throws {
        let folder = try TemporaryFolder(self)
        let path = try folder.write("Source\tTarget\n( ( [MAX 2 ) ] )\t2\nbroken\n( ( [MIN 3 ) ] )\t3\n[MAX 1 ]\t99\n", to: "mixed.tsv")
        let loaded = try ListOpsLoader.load(file: path, skipBadExamples: true)
        XCTAssertEqual(loaded.examples.map(\.label), [2, 3])
        XCTAssertEqual(loaded.badExamples.count, 2)
        XCTAssertEqual(loaded.badExamples.skipped.map(\.line), [3, 5])
        XCTAssertTrue(loaded.badExamples.summary?.contains("skipped 2 bad examples") ?? false)
    }
}
