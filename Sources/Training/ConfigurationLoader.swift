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
        let source = path.map { ($0 as NSString).lastPathComponent } ?? "defaults"
        var builder = TreeBuilder(source: source)
        var tree = try defaultsTree()
        if let path {
            guard let text = FileManager.default.contents(atPath: path).flatMap({ String(data: $0, encoding: .utf8) }) else {
                throw ConfigurationError("config \(path): cannot read the file (missing, unreadable or not UTF-8)")
            }
            let node: Node?
            do { node = try Yams.compose(yaml: text, .basic) } catch {
                throw ConfigurationError("config \(source): not valid YAML: \(error)")
            }
            if let node {
                guard case .mapping = node else {
                    throw ConfigurationError("config \(source):\(node.mark?.line ?? 1): expected a mapping of sections at the top level")
                }
                tree = try builder.merge(node, onto: tree, kind: TrainingConfiguration.schema, path: [])
            }
        }
        for override in overrides {
            guard let equals = override.firstIndex(of: "="), equals != override.startIndex else {
                throw ConfigurationError("--set '\(override)': expected key.path=value")
            }
            let keys = override[..<equals].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            let valueText = String(override[override.index(after: equals)...])
            let value: Node
            do { value = try Yams.compose(yaml: valueText, .basic) ?? Node.scalar(.init("")) } catch {
                throw ConfigurationError("--set \(override): the value is not valid YAML: \(error)")
            }
            builder.source = "--set \(override)"
            tree = try builder.set(value, at: keys, in: tree, kind: TrainingConfiguration.schema, path: [])
        }
        let decoded = try decode(tree, source: source, lines: builder.lines)
        guard resolvingTask else { return decoded }
        do { try decoded.validate() } catch let error as ConfigurationError {
            throw error.located(builder.locations[error.key ?? ""] ?? source)
        }
        return try decoded.resolvingTaskFacts()
    }

    /// Values a config may expand to, aliases included: a YAML alias repeats its anchor's
    /// subtree, so a few hundred bytes of nested aliases can stand for billions of values.
    public static let maximumValues = 100_000

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

    /// Lays YAML over the defaults, checking every key against the schema and every value
    /// against its key's kind, and remembering where each key was set.
    struct TreeBuilder {
        /// The file name, or the `--set` being applied.
        var source: String
        /// The line of each dotted key set by the file.
        var lines: [String: Int] = [:]
        /// Where each dotted key was set: "file:line" or "--set key=value".
        var locations: [String: String] = [:]
        var visited = 0

        init(source: String) { self.source = source }

        mutating func merge(_ node: Node, onto base: Value, kind: SettingKind, path: [String]) throws -> Value {
            let line = node.mark?.line ?? 0
            let dotted = path.joined(separator: ".")
            let place = source.hasPrefix("--set") ? source : "\(source):\(line)"
            visited += 1
            guard visited <= ConfigurationLoader.maximumValues else {
                throw ConfigurationError("config \(place): the config holds more than \(ConfigurationLoader.maximumValues) values "
                                         + "(YAML aliases expanding?); a config is a few hundred")
            }
            if !source.hasPrefix("--set") { lines[dotted] = line }
            locations[dotted] = place
            switch (node, kind) {
            case (.mapping(let mapping), .section(let fields)):
                guard case .object(var values) = base else { preconditionFailure("defaults and schema disagree at \(dotted)") }
                for (keyNode, valueNode) in mapping {
                    let keyPlace = source.hasPrefix("--set") ? source : "\(source):\(keyNode.mark?.line ?? line)"
                    guard let key = keyNode.scalar?.string else {
                        throw ConfigurationError("config \(keyPlace): keys must be plain words")
                    }
                    guard let fieldKind = fields[key], let existing = values[key] else {
                        throw unknownKey(key, under: dotted, valid: fields.keys.sorted(), at: keyPlace)
                    }
                    values[key] = try merge(valueNode, onto: existing, kind: fieldKind, path: path + [key])
                }
                return .object(values)
            case (_, .section):
                throw ConfigurationError("config \(place): '\(dotted)' is a section: expected a mapping of keys under it")
            case (.sequence(let sequence), .list(let element)):
                let prototype: Value?
                if case .section = element {
                    prototype = try TrainingConfiguration.listElements[dotted].map(encodeTree)
                } else {
                    prototype = .null
                }
                return .array(try sequence.enumerated().map { index, item in
                    try merge(item, onto: prototype ?? .null, kind: element, path: path + ["\(index)"])
                })
            case (.sequence, _):
                throw ConfigurationError("config \(place): '\(dotted)' expects a single value, not a list")
            case (.mapping, _):
                throw ConfigurationError("config \(place): key '\(dotted)' expects \(kind.expectation), not a mapping")
            case (.alias, _):
                throw ConfigurationError("config \(place): key '\(dotted)': an unresolved YAML alias")
            case (.scalar(let scalar), _):
                return try ConfigurationLoader.value(of: scalar, as: kind, key: dotted, at: place)
            }
        }

        mutating func set(_ value: Node, at keys: [String], in tree: Value, kind: SettingKind, path: [String]) throws -> Value {
            guard let key = keys.first else { return try merge(value, onto: tree, kind: kind, path: path) }
            guard case .section(let fields) = kind, case .object(var values) = tree else {
                throw ConfigurationError("\(source): '\(key)' is below a value, not a section")
            }
            guard let fieldKind = fields[key], let existing = values[key] else {
                throw unknownKey(key, under: path.joined(separator: "."), valid: fields.keys.sorted(), at: source)
            }
            values[key] = try set(value, at: Array(keys.dropFirst()), in: existing, kind: fieldKind, path: path + [key])
            return .object(values)
        }
    }

    /// A YAML scalar read as YAML 1.2's core schema reads it, checked against `kind`: quoted
    /// scalars are strings; `1:30` is a string (YAML 1.1 read it as 90, base 60); `yes`, `on`
    /// are strings; integers are decimal, 0o octal or 0x hex; `.inf` and `.nan` are refused
    /// for numbers. A string key takes a plain scalar's text as written (`directory: 2024`).
    static func value(of scalar: Node.Scalar, as kind: SettingKind, key: String, at place: String) throws -> Value {
        let text = scalar.string
        let quoted = scalar.style == .singleQuoted || scalar.style == .doubleQuoted
        let shown = text.count > 60 ? "'\(text.prefix(60))…'" : "'\(text)'"
        func refuse(_ detail: String = "") -> ConfigurationError {
            if case .choice(let names) = kind {
                return ConfigurationError("config \(place): key '\(key)' must be one of \(names.joined(separator: ", ")), got \(shown)")
            }
            return ConfigurationError("config \(place): key '\(key)' expects \(kind.expectation), got \(shown)\(detail)")
        }
        let core = quoted ? Value.string(text) : coreSchemaValue(text)
        switch kind {
        case .string:
            if !quoted, case .null = core { throw refuse() }
            return .string(text)
        case .choice(let names):
            guard names.contains(text) else { throw refuse() }
            return .string(text)
        case .boolean:
            guard case .bool = core else { throw refuse() }
            return core
        case .integer:
            switch core {
            case .int: return core
            case .double(let number) where number.rounded() == number && abs(number) < 9.2e18: return .int(Int(number))
            case .double(let number) where number.rounded() == number || !number.isFinite: throw refuse(" (out of range)")
            default:
                if !quoted, isDecimalInteger(text) { throw refuse(" (out of range: whole numbers reach ±9223372036854775807)") }
                throw refuse()
            }
        case .float, .double:
            let number: Double
            switch core {
            case .int(let value): number = Double(value)
            case .double(let value): number = value
            default: throw refuse()
            }
            guard number.isFinite else { throw refuse() }
            if kind == .float && abs(number) > Double(Float.greatestFiniteMagnitude) { throw refuse(" (out of range)") }
            return .double(number)
        case .list, .section:
            throw refuse()
        }
    }

    /// A plain scalar under YAML 1.2's core schema (null, bool, int, float, else string).
    static func coreSchemaValue(_ text: String) -> Value {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .double(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
        case ".nan", ".NaN", ".NAN": return .double(.nan)
        default: break
        }
        if isDecimalInteger(text) {
            return Int(text.hasPrefix("+") ? String(text.dropFirst()) : text).map(Value.int) ?? .string(text)
        }
        for (prefix, radix, digits) in [("0o", 8, "01234567"), ("0x", 16, "0123456789abcdefABCDEF")]
        where text.hasPrefix(prefix) && text.count > 2 && text.dropFirst(2).allSatisfy(digits.contains) {
            return Int(text.dropFirst(2), radix: radix).map(Value.int) ?? .string(text)
        }
        // [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
        var rest = Substring(text)
        if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
        let mantissa = rest.prefix { $0 != "e" && $0 != "E" }
        let exponent = rest.dropFirst(mantissa.count)
        let parts = mantissa.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let digitsOnly = { (part: Substring) in part.allSatisfy { $0.isASCII && $0.isNumber } }
        let mantissaOK = parts.count == 1 ? (!parts[0].isEmpty && digitsOnly(parts[0]))
            : (digitsOnly(parts[0]) && digitsOnly(parts[1]) && !(parts[0].isEmpty && parts[1].isEmpty))
        var exponentOK = true
        if !exponent.isEmpty {
            var digits = exponent.dropFirst()
            if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
            exponentOK = !digits.isEmpty && digitsOnly(digits)
        }
        if mantissaOK && exponentOK, let number = Double(text) { return .double(number) }
        return .string(text)
    }

    /// `[-+]?[0-9]+`.
    static func isDecimalInteger(_ text: String) -> Bool {
        let digits = text.first == "-" || text.first == "+" ? text.dropFirst() : Substring(text)
        return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
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
