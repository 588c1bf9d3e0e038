import ArgumentParser
import Foundation
import Training

extension Parseval {
    struct Config: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a configuration resolved over the defaults, after --set overrides, and check it.",
            discussion: """
                Without --config it prints every key with its default (docs/configuration.md \
                explains each). The output is JSON, which is valid YAML: save it and pass it \
                to train --config. --allowed prints the range of every setting that has one \
                (docs/configuration.md, "Allowed values").
                """)

        @Option(help: "YAML config to resolve.") var config: String?
        @Option(name: .customLong("set"), help: "Override a key: --set model.dim=128 (repeatable).")
        var overrides: [String] = []
        @Flag(help: "Print every setting's allowed values (a Markdown table) and exit.") var allowed = false

        func run() throws {
            if allowed {
                print(TrainingConfiguration.allowedValuesTable)
                return
            }
            do {
                let resolved = try ConfigurationLoader.load(path: config, overrides: overrides)
                try resolved.validate()
                print(try ConfigurationLoader.encode(resolved))
            } catch let error as ConfigurationError {
                FileHandle.standardError.write(Data("parseval: error: \(error)\n".utf8))
                throw ExitCode(2)
            }
        }
    }
}
