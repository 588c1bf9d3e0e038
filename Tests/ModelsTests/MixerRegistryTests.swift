import Foundation
import Models
import Parameters
import XCTest

/// The registry (`MixerKind.registered`, one `MixerDefinition` per mixer) is consistent, and what
/// each definition declares about itself is what the model builds.
final class MixerRegistryTests: XCTestCase {
    func configuration(_ mixer: MixerKind) -> ModelConfiguration {
        var c = ModelConfiguration()
        (c.mixer, c.vocabularySize, c.maxLength, c.dim, c.depth, c.heads, c.mlpHidden, c.classes) = (mixer, 11, 8, 8, 1, 2, 16, 3)
        c.randomFeatures = 4
        return c
    }

    func testNamesAreUniqueAndRoundTripThroughConfigs() throws {
        let names = MixerKind.allCases.map(\.rawValue)
        XCTAssertEqual(Set(names).count, names.count, "two mixers share a name: \(names)")
        for mixer in MixerKind.allCases {
            XCTAssertEqual(MixerKind(rawValue: mixer.rawValue), mixer)
            XCTAssertFalse(mixer.title.isEmpty)
            let encoded = try JSONEncoder().encode(mixer)
            XCTAssertEqual(String(decoding: encoded, as: UTF8.self), "\"\(mixer.rawValue)\"", "a mixer is stored as its name")
            XCTAssertEqual(try JSONDecoder().decode(MixerKind.self, from: encoded), mixer)
        }
        XCTAssertNil(MixerKind(rawValue: "no_such_mixer"))
        XCTAssertThrowsError(try JSONDecoder().decode(MixerKind.self, from: Data("\"no_such_mixer\"".utf8))) { error in
            XCTAssertTrue("\(error)".contains("unknown mixer 'no_such_mixer'"), "\(error)")
        }
    }

    /// The checkpoint rows a definition declares (docs/checkpoints.md is generated from them) name
    /// exactly the tensors its layer registers under `blocks.L.mixer.`.
    func testDeclaredCheckpointTensorsAreTheArenasNames() {
        for mixer in MixerKind.allCases {
            let model = EncoderClassifier(configuration(mixer), seed: 1)
            let prefix = "blocks.0.mixer."
            let built = (model.arena.entries.map(\.name) + model.arena.buffers.map(\.name))
                .filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
            let declared = mixer.definition.checkpointTensors.flatMap(\.names)
            XCTAssertEqual(Set(declared), Set(built), "\(mixer): declared checkpoint tensors")
            XCTAssertEqual(declared.count, Set(declared).count, "\(mixer): a tensor declared twice")
        }
    }

    /// A mixer-specific key set for a mixer that does not read it is an error naming both.
    func testASettingTheMixerCannotHonourIsRefusedNamingBoth() {
        for mixer in MixerKind.allCases {
            for (key, apply) in [("filter_knots", { (c: inout ModelConfiguration) in c.filterKnots = 3 }),
                                 ("feature_redraw_interval", { (c: inout ModelConfiguration) in c.featureRedrawInterval = 10 })] {
                var c = configuration(mixer)
                apply(&c)
                if mixer.definition.settings.contains(key) {
                    XCTAssertNoThrow(try c.validate(), "\(mixer) reads model.\(key)")
                } else {
                    XCTAssertThrowsError(try c.validate(), "\(mixer) with model.\(key)") { error in
                        let e = error as? ModelConfigurationError
                        XCTAssertEqual(e?.key, "model.\(key)")
                        XCTAssertTrue("\(error)".contains("the \(mixer.rawValue) mixer does not use it"), "\(error)")
                    }
                }
            }
            var causal = configuration(mixer)
            causal.causal = true
            if mixer.supportsCausal {
                XCTAssertNoThrow(try causal.validate())
            } else {
                XCTAssertThrowsError(try causal.validate()) { error in
                    XCTAssertTrue("\(error)".contains("the \(mixer.rawValue) mixer has no causal form"), "\(error)")
                }
            }
        }
    }
}
