import Foundation
import Models
@testable import Training
import XCTest

/// The pages that describe extension points stay true to the code.
final class DocsTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    func read(_ path: String) throws -> String { try String(contentsOfFile: "\(Self.root)/\(path)", encoding: .utf8) }

    /// docs/adding-a-mixer.md names only files that exist, and docs/models.md has a row (its
    /// `model.mixer` list) for every mixer the enum builds.
    func testAddingAMixerPageNamesRealFiles() throws {
        let page = try read("docs/adding-a-mixer.md")
        let paths = try NSRegularExpression(pattern: "`((?:Sources|Tests|docs|scripts|configs)/[^`]+)`")
            .matches(in: page, range: NSRange(page.startIndex..., in: page))
            .map { String(page[Range($0.range(at: 1), in: page)!]) }
            .filter { !$0.hasSuffix("/") }
        XCTAssertGreaterThanOrEqual(paths.count, 6, "the page should name the files of each step")
        for path in paths {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(Self.root)/\(path)"), "docs/adding-a-mixer.md names \(path), which does not exist")
        }
        let models = try read("docs/models.md")
        for mixer in MixerKind.allCases {
            XCTAssertTrue(models.contains("`model.mixer: \(mixer.rawValue)`") || models.contains("| `\(mixer.rawValue)` |"),
                          "docs/models.md's mixer table does not name model.mixer \(mixer.rawValue)")
        }
        // Benchmark tables and reports name mixers by title: one each, none shared.
        let titles = MixerKind.allCases.map(\.title)
        XCTAssertEqual(Set(titles).count, titles.count, "two mixers share a title: \(titles)")
        XCTAssertFalse(titles.contains(""), "a mixer without a title: \(titles)")
    }

    /// docs/checkpoints.md's table of the mixers' tensors is the one the registry generates
    /// (`MixerKind.checkpointTable`): a row for every registered mixer's every tensor.
    func testCheckpointPageListsEveryMixersTensors() throws {
        let page = try read("docs/checkpoints.md")
        XCTAssertTrue(page.contains(MixerKind.checkpointTable + "\n"),
                      "docs/checkpoints.md: replace the table under \"The mixer's own tensors\" with\n\(MixerKind.checkpointTable)")
    }

    /// Every choice key's row in docs/configuration.md lists every value its enum allows (the
    /// enums are the one source: errors and docs take their values from `allCases`).
    func testConfigurationPageListsEveryChoice() throws {
        let page = try read("docs/configuration.md")
        for (key, values) in TrainingConfiguration.choices {
            let parts = key.split(separator: ".").map(String.init)
            guard parts.count == 2, let section = page.range(of: "\n## \(parts[0])\n") else {
                XCTFail("docs/configuration.md has no section for \(key)"); continue
            }
            let rest = page[section.upperBound...]
            let end = rest.range(of: "\n## ")?.lowerBound ?? rest.endIndex
            guard let row = rest[..<end].split(separator: "\n").first(where: { $0.hasPrefix("| `\(parts[1])` |") }) else {
                XCTFail("docs/configuration.md lists no row for \(key)"); continue
            }
            for value in values {
                XCTAssertTrue(row.contains("`\(value)`"), "docs/configuration.md: \(key)'s row does not name `\(value)`")
            }
        }
    }

    /// docs/architecture.md's module map names every library and executable target of
    /// Package.swift with exactly its target dependencies.
    func testArchitectureModuleMapEqualsThePackage() throws {
        let package = try read("Package.swift")
        let map = try read("docs/architecture.md")
        // `.target(name: "X", dependencies: ["A", "B", .product(name: "Yams", …)])` and executables.
        let target = try NSRegularExpression(pattern: #"\.(?:target|executableTarget)\(\s*name: "(\w+)"(?:,\s*dependencies: \[([^\]]*)\])?"#)
        var dependencies: [String: Set<String>] = [:]
        for match in target.matches(in: package, range: NSRange(package.startIndex..., in: package)) {
            let name = String(package[Range(match.range(at: 1), in: package)!])
            guard !name.hasPrefix("C"), name != "ParsevalTestSupport" else { continue }
            let list = Range(match.range(at: 2), in: package).map { String(package[$0]) } ?? ""
            let quoted = try NSRegularExpression(pattern: #"^\s*"(\w+)""#)
            dependencies[name] = Set(list.split(separator: ",").compactMap { item -> String? in
                let text = String(item)
                guard let found = quoted.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return nil }
                return String(text[Range(found.range(at: 1), in: text)!])
            })
        }
        XCTAssertGreaterThanOrEqual(dependencies.count, 10, "Package.swift's targets were not found")
        for (name, expected) in dependencies {
            guard let row = map.split(separator: "\n").first(where: { $0.hasPrefix("| `\(name)` |") }) else {
                XCTFail("docs/architecture.md has no module-map row for \(name)"); continue
            }
            let cell = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.last ?? ""
            let listed = Set(cell.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                .filter { candidate in dependencies.keys.contains(candidate) || candidate.hasPrefix("C") }
            XCTAssertEqual(listed, expected, "docs/architecture.md: \(name)'s dependencies")
        }
    }

    /// The pages a reader gets with the repository name only files it has: no design note that
    /// lives outside it (MODELS.md, DISTRIBUTED.md, DESIGN.md, STYLE.md, ../shared/), and every
    /// `docs/….md`, `Sources/…`, `scripts/…` or `launch/…` path they give in backquotes exists.
    func testDocsNameOnlyFilesOfTheRepository() throws {
        let pages = try FileManager.default.contentsOfDirectory(atPath: "\(Self.root)/docs").filter { $0.hasSuffix(".md") }
            .map { "docs/\($0)" } + ["README.md"]
        XCTAssertGreaterThan(pages.count, 8)
        let outside = try NSRegularExpression(pattern: "(?<![A-Za-z/_.-])(MODELS|DISTRIBUTED|DESIGN|STYLE)\\.md|\\.\\./shared/")
        let named = try NSRegularExpression(pattern: "`((?:docs|Sources|scripts|launch)/[A-Za-z0-9_./+-]+\\.(?:md|swift|sh|py|c|h))`")
        for page in pages {
            let text = try read(page)
            let range = NSRange(text.startIndex..., in: text)
            XCTAssertNil(outside.firstMatch(in: text, range: range), "\(page) names a design note outside the repository")
            for match in named.matches(in: text, range: range) {
                let path = String(text[Range(match.range(at: 1), in: text)!])
                XCTAssertTrue(FileManager.default.fileExists(atPath: "\(Self.root)/\(path)"), "\(page) names \(path), which does not exist")
            }
        }
    }

    /// Doc comments point at pages a reader of this repository has: every `docs/….md` they name
    /// exists, and none names the design notes that live outside it (MODELS.md, DISTRIBUTED.md, DESIGN.md).
    func testSourcesCiteOnlyPagesThatExist() throws {
        let sources = FileManager.default.enumerator(atPath: "\(Self.root)/Sources")!.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") || $0.hasSuffix(".c") || $0.hasSuffix(".h") }
        XCTAssertGreaterThan(sources.count, 50)
        let cited = try NSRegularExpression(pattern: "docs/[A-Za-z0-9_-]+\\.md")
        let outside = try NSRegularExpression(pattern: "(?<![A-Za-z/_.-])(MODELS|DISTRIBUTED|DESIGN|STYLE)\\.md")
        for file in sources {
            let text = try read("Sources/\(file)")
            let range = NSRange(text.startIndex..., in: text)
            for match in cited.matches(in: text, range: range) {
                let page = String(text[Range(match.range, in: text)!])
                XCTAssertTrue(FileManager.default.fileExists(atPath: "\(Self.root)/\(page)"), "Sources/\(file) cites \(page), which does not exist")
            }
            XCTAssertNil(outside.firstMatch(in: text, range: range), "Sources/\(file) cites a design note outside the repository")
        }
    }
}
