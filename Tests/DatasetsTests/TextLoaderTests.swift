import XCTest
@testable import Datasets

final class TextLoaderTests: XCTestCase {
    func testByteEncodingShiftsByOneAndTruncates() {
        XCTAssertEqual(ByteTokenizer.encode([0, 65, 255], maxLength: 10), [1, 66, 256])
        XCTAssertEqual(ByteTokenizer.encode(Array("héllo".utf8), maxLength: 3).count, 3)
        XCTAssertEqual(ByteTokenizer.decode([105, 106, 0, 0]), [104, 105])
    }

    func testAclImdbLayoutRoundTrips() throws {
        let folder = try TemporaryFolder(self)
        let reviews = ["neg/1_2.txt": "Dull.", "neg/0_1.txt": "Awful <br /> film", "pos/3_9.txt": "Great — truly", "pos/notes.md": "ignored"]
        for (name, text) in reviews { try folder.write(text, to: "aclImdb/train/" + name) }
        let loaded = try TextClassificationLoader.aclImdb(root: folder.path + "/aclImdb", split: "train", maxLength: 8)
        XCTAssertEqual(loaded.examples.map(\.label), [0, 0, 1])
        XCTAssertEqual(loaded.examples.map { ByteTokenizer.decode($0.tokens) },
                       [Array("Awful <b".utf8), Array("Dull.".utf8), Array("Great —".utf8.prefix(8))])
        assertDatasetError(["aclImdb/test/neg", "no such folder"]) {
            try TextClassificationLoader.aclImdb(root: folder.path + "/aclImdb", split: "test")
        }
    }

    func testTSVRoundTripsAndReportsBadLines() throws {
        let folder = try TemporaryFolder(self)
        let texts = [(1, "a fine\ttabbed text"), (0, "bad"), (1, "ünïcode")]
        let body = "label\ttext\n" + texts.map { "\($0.0)\t\($0.1)" }.joined(separator: "\n") + "\n"
        let path = try folder.write(body, to: "reviews.tsv")
        let loaded = try TextClassificationLoader.tsv(file: path, maxLength: 100)
        XCTAssertEqual(loaded.examples.map(\.label), [1, 0, 1])
        XCTAssertEqual(loaded.examples.map { String(decoding: ByteTokenizer.decode($0.tokens), as: UTF8.self) }, texts.map(\.1))

        let missingTab = try folder.write("1\tok\nno tab here\n", to: "tab.tsv")
        assertDatasetError([missingTab + ":2:", "expected 2 tab-separated fields (label, text), found 1"]) {
            try TextClassificationLoader.tsv(file: missingTab)
        }
        let outOfRange = try folder.write("1\tok\n0\tok\n2\tthree classes?\n", to: "range.tsv")
        assertDatasetError([outOfRange + ":3:", "label 2 is out of range", "0...1"]) {
            try TextClassificationLoader.tsv(file: outOfRange)
        }
        let skipped = try TextClassificationLoader.tsv(file: outOfRange, skipBadExamples: true)
        XCTAssertEqual(skipped.count, 2)
        XCTAssertEqual(skipped.badExamples.skipped.first?.line, 3)
    }

    func testJSONLinesRoundTripAndErrors() throws {
        let folder = try TemporaryFolder(self)
        let path = try folder.write("{\"label\": 1, \"text\": \"yes \\\"quoted\\\"\"}\n\n{\"text\": \"no\", \"label\": 0}\n", to: "reviews.jsonl")
        let loaded = try TextClassificationLoader.jsonLines(file: path)
        XCTAssertEqual(loaded.examples.map(\.label), [1, 0])
        XCTAssertEqual(ByteTokenizer.decode(loaded.examples[0].tokens), Array("yes \"quoted\"".utf8))

        let broken = try folder.write("{\"label\": 1, \"text\": \"ok\"}\n{\"label\": 1\n", to: "broken.jsonl")
        assertDatasetError([broken + ":2:", "expected a JSON object"]) { try TextClassificationLoader.jsonLines(file: broken) }
        let missing = try folder.write("{\"text\": \"ok\"}\n", to: "missing.jsonl")
        assertDatasetError([missing + ":1:", "missing \"label\""]) { try TextClassificationLoader.jsonLines(file: missing) }
        let range = try folder.write("{\"label\": 7, \"text\": \"ok\"}\n", to: "range.jsonl")
        assertDatasetError([range + ":1:", "label 7 is out of range"]) { try TextClassificationLoader.jsonLines(file: range) }
    }

    func testRetrievalPairsRoundTrip() throws {
        let folder = try TemporaryFolder(self)
        let path = try folder.write("1.0\tP01-1\tP02-2\tfirst paper\tsecond paper\r\n0\tA\tB\tx\ty\r\n", to: "new_aan_pairs.train.tsv")
        let loaded = try RetrievalLoader.load(file: path, maxLength: 5)
        XCTAssertEqual(loaded.examples.map(\.label), [1, 0])
        XCTAssertEqual(ByteTokenizer.decode(loaded.examples[0].tokens), Array("first".utf8))
        XCTAssertEqual(ByteTokenizer.decode(loaded.examples[0].pairedTokens ?? []), Array("secon".utf8))
        XCTAssertEqual(ByteTokenizer.decode(loaded.examples[1].pairedTokens ?? []), Array("y".utf8))

        let short = try folder.write("1\tA\tB\tonly one text\n", to: "short.tsv")
        assertDatasetError([short + ":1:", "expected 5 tab-separated fields", "found 4"]) { try RetrievalLoader.load(file: short) }
        let label = try folder.write("1\tA\tB\tx\ty\nmaybe\tA\tB\tx\ty\n", to: "label.tsv")
        assertDatasetError([label + ":2:", "expected an integer label", "'maybe'"]) { try RetrievalLoader.load(file: label) }
    }
}
