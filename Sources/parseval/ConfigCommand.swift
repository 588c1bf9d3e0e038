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
                (docs/configuration.md, "Allowed values"); --choices KEY the values of one choice key.
                """)

        @Option(help: "YAML config to resolve.") var config: String?
        @Option(name: .customLong("set"), help: "Override a key: --set model.dim=128 (repeatable).")
        var overrides: [String] = []
        @Flag(help: "Print every setting's allowed values (a Markdown table) and exit.") var allowed = false
        @Option(help: "Print the values a choice key allows, one a line, and exit: --choices model.mixer lists the registered mixers.")
        var choices: String?

        func run() throws {
            if let choices {
                guard let values = TrainingConfiguration.choices[choices] else {
                    let keys = TrainingConfiguration.choices.keys.sorted().joined(separator: ", ")
                    FileHandle.standardError.write(Data("parseval: error: --choices: '\(choices)' is not a choice key (choice keys: \(keys))\n".utf8))
                    throw ExitCode(2)
                }
                print(values.joined(separator: "\n"))
                return
            }
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
