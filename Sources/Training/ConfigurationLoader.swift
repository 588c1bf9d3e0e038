import Foundation
import Yams

/// Reads a YAML config over the defaults of `TrainingConfiguration`.
///
/// The defaults are encoded into a tree of snake_case keys; the file's mappings are laid
/// over it key by key, and a key the defaults do not have is an error naming the file,
/// the line, the nearest valid key and all valid keys at that level. `--set a.b=value`
/// overrides go through the same check. The merged tree is then decoded, so a wrong type
/// is reported with its key and line too.
public enum ConfigurationLoader {
    /// Loads `path` (nil: defaults only) and applies `overrides` (`key.path=value`); then, unless
    /// `resolvingTask` is false (a model section used alone), fills in and checks the model's task
    /// facts (`TrainingConfiguration.resolvingTaskFacts`).
    public static func load(path: String?, overrides: [String] = [], resolvingTask: Bool = true) throws -> TrainingConfiguration {
        var tree = try defaultsTree()
        var lines: [String: Int] = [:]
        let source = path.map { ($0 as NSString).lastPathComponent } ?? "defaults"
        if let path {
            guard let text = FileManager.default.contents(atPath: path).flatMap({ String(data: $0, encoding: .utf8) }) else {
                throw ConfigurationError("config \(path): cannot read the file (missing, unreadable or not UTF-8)")
            }
            let node: Node?
            do { node = try Yams.compose(yaml: text) } catch {
                throw ConfigurationError("config \(source): not valid YAML: \(error)")
            }
            if let node {
                guard case .mapping = node else {
                    throw ConfigurationError("config \(source):\(node.mark?.line ?? 1): expected a mapping of sections at the top level")
                }
                tree = try merge(node, onto: tree, path: [], source: source, lines: &lines)
            }
        }
        for override in overrides {
            guard let equals = override.firstIndex(of: "="), equals != override.startIndex else {
                throw ConfigurationError("--set '\(override)': expected key.path=value")
            }
            let keys = override[..<equals].split(separator: ".").map(String.init)
            let valueText = String(override[override.index(after: equals)...])
            let value = try Yams.compose(yaml: valueText) ?? Node.scalar(.init(""))
            tree = try set(value, at: keys, in: tree, source: "--set \(override)", lines: &lines)
        }
        let decoded = try decode(tree, source: source, lines: lines)
        return resolvingTask ? try decoded.resolvingTaskFacts() : decoded
    }

    // MARK: - Tree

    /// A JSON-shaped value.
    indirect enum Value: Codable, Equatable {
        case bool(Bool), int(Int), double(Double), string(String), array([Value]), object([String: Value]), null

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .null }
            else if let value = try? container.decode(Bool.self) { self = .bool(value) }
            else if let value = try? container.decode(Int.self) { self = .int(value) }
            else if let value = try? container.decode(Double.self) { self = .double(value) }
            else if let value = try? container.decode(String.self) { self = .string(value) }
            else if let value = try? container.decode([Value].self) { self = .array(value) }
            else { self = .object(try container.decode([String: Value].self)) }
        }

        func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .bool(let value): try container.encode(value)
            case .int(let value): try container.encode(value)
            case .double(let value): try container.encode(value)
            case .string(let value): try container.encode(value)
            case .array(let value): try container.encode(value)
            case .object(let value): try container.encode(value)
            case .null: try container.encodeNil()
            }
        }
    }

    static func defaultsTree() throws -> Value { try encodeTree(TrainingConfiguration()) }

    static func encodeTree(_ value: Encodable) throws -> Value {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try JSONDecoder().decode(Value.self, from: encoder.encode(value))
    }

    static func merge(_ node: Node, onto base: Value, path: [String], source: String,
                      lines: inout [String: Int]) throws -> Value {
        let line = node.mark?.line ?? 0
        let dotted = path.joined(separator: ".")
        lines[dotted] = line
        switch (node, base) {
        case (.mapping(let mapping), .object(var fields)):
            for (keyNode, valueNode) in mapping {
                guard let key = keyNode.scalar?.string else {
                    throw ConfigurationError("config \(source):\(keyNode.mark?.line ?? line): keys must be plain words")
                }
                guard let existing = fields[key] else {
                    throw unknownKey(key, under: dotted, valid: fields.keys.sorted(), at: "\(source):\(keyNode.mark?.line ?? line)")
                }
                fields[key] = try merge(valueNode, onto: existing, path: path + [key], source: source, lines: &lines)
            }
            return .object(fields)
        case (_, .object):
            throw ConfigurationError("config \(source):\(line): '\(dotted)' is a section: expected a mapping of keys under it")
        case (.scalar(let scalar), _):
            return scalarValue(scalar)
        case (.sequence(let sequence), .array):
            guard let prototype = try TrainingConfiguration.listElements[dotted].map(encodeTree) else { return plainValue(node) }
            return .array(try sequence.enumerated().map { index, element in
                try merge(element, onto: prototype, path: path + ["\(index)"], source: source, lines: &lines)
            })
        case (.sequence, _):
            throw ConfigurationError("config \(source):\(line): '\(dotted)' expects a single value, not a list")
        default:
            throw ConfigurationError("config \(source):\(line): '\(dotted)' expects a single value")
        }
    }

    /// A YAML subtree as a value, without checking keys (list elements; decoding checks them).
    static func plainValue(_ node: Node) -> Value {
        switch node {
        case .scalar(let scalar): return scalarValue(scalar)
        case .sequence(let sequence): return .array(sequence.map(plainValue))
        case .mapping(let mapping):
            var fields: [String: Value] = [:]
            for (key, value) in mapping { fields[key.scalar?.string ?? "\(key)"] = plainValue(value) }
            return .object(fields)
        case .alias: return .null
        }
    }

    /// A YAML scalar as the type YAML's core schema gives it (quoted scalars stay strings).
    static func scalarValue(_ scalar: Node.Scalar) -> Value {
        if scalar.style == .singleQuoted || scalar.style == .doubleQuoted { return .string(scalar.string) }
        if let value = Bool.construct(from: scalar) { return .bool(value) }
        if let value = Int.construct(from: scalar) { return .int(value) }
        if let value = Double.construct(from: scalar) { return .double(value) }
        return .string(scalar.string)
    }

    static func set(_ value: Node, at keys: [String], in tree: Value, source: String,
                    lines: inout [String: Int]) throws -> Value {
        guard let key = keys.first else { return try merge(value, onto: tree, path: [], source: source, lines: &lines) }
        guard case .object(var fields) = tree else {
            throw ConfigurationError("\(source): '\(key)' is below a value, not a section")
        }
        guard let existing = fields[key] else {
            throw unknownKey(key, under: "", valid: fields.keys.sorted(), at: source)
        }
        fields[key] = try set(value, at: Array(keys.dropFirst()), in: existing, source: source, lines: &lines)
        return .object(fields)
    }

    static func unknownKey(_ key: String, under section: String, valid: [String], at location: String) -> ConfigurationError {
        let nearest = valid.min { editDistance(key, $0) < editDistance(key, $1) }
        let hint = nearest.flatMap { editDistance(key, $0) <= max(2, key.count / 3) ? " (did you mean '\($0)'?)" : nil } ?? ""
        let place = section.isEmpty ? "" : " under '\(section)'"
        return ConfigurationError("config \(location): unknown key '\(key)'\(place)\(hint); valid keys: \(valid.joined(separator: ", "))")
    }

    static func decode(_ tree: Value, source: String, lines: [String: Int]) throws -> TrainingConfiguration {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(TrainingConfiguration.self, from: JSONEncoder().encode(tree))
        } catch let error as DecodingError {
            throw describe(error, source: source, lines: lines)
        }
    }

    static func describe(_ error: DecodingError, source: String, lines: [String: Int]) -> ConfigurationError {
        func location(_ path: [CodingKey]) -> (String, String) {
            let key = path.map { snakeCase($0.stringValue) }.joined(separator: ".")
            return (key, lines[key].map { "\(source):\($0)" } ?? source)
        }
        switch error {
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            let (key, place) = location(context.codingPath)
            return ConfigurationError("config \(place): key '\(key)' expects \(describe(type))")
        case .dataCorrupted(let context):
            let (key, place) = location(context.codingPath)
            if let allowed = TrainingConfiguration.choices[key] {
                return ConfigurationError("config \(place): key '\(key)' must be one of \(allowed.joined(separator: ", "))")
            }
            return ConfigurationError("config \(place): key '\(key)': \(context.debugDescription)")
        case .keyNotFound(let key, let context):
            let (path, place) = location(context.codingPath)
            return ConfigurationError("config \(place): '\(path)' is missing '\(snakeCase(key.stringValue))'")
        @unknown default:
            return ConfigurationError("config \(source): \(error)")
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: return "a whole number"
        case is Float.Type, is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        default: return "a value of type \(type)"
        }
    }

    static func snakeCase(_ key: String) -> String {
        var result = ""
        for character in key {
            if character.isUppercase { result += "_" + character.lowercased() } else { result.append(character) }
        }
        return result
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }

    /// The resolved configuration as YAML-compatible JSON (saved beside checkpoints).
    public static func encode(_ configuration: TrainingConfiguration) throws -> String {
        String(decoding: try jsonEncoder().encode(configuration), as: UTF8.self)
    }

    /// `json` (a configuration from `encode`) without `output.directory`, as a checkpoint keeps it:
    /// a checkpoint never names the folder it was written to, so a run folder can move and two
    /// identical runs write identical files. Text that is not a JSON object comes back unchanged.
    public static func withoutRunFolder(_ json: String) throws -> String {
        guard case .object(var tree)? = try? JSONDecoder().decode(Value.self, from: Data(json.utf8)) else { return json }
        if case .object(var output)? = tree["output"] {
            output["directory"] = nil
            tree["output"] = .object(output)
        }
        return String(decoding: try jsonEncoder().encode(Value.object(tree)), as: UTF8.self)
    }

    /// Snake-case keys, sorted, pretty: the same configuration always gives the same text.
    static func jsonEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
