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
