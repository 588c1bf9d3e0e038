import Datasets
import Layers
import Models
import TensorCore

/// A configuration key whose value comes from a fixed set: its valid names, for the schema and
/// for error messages. Every `String` enum of the configuration conforms (the list below).
public protocol ConfigurationChoice {
    static var choiceNames: [String] { get }
}

extension ConfigurationChoice where Self: CaseIterable & RawRepresentable, RawValue == String {
    public static var choiceNames: [String] { allCases.map(\.rawValue) }
}

extension MixerKind: ConfigurationChoice {}
extension BlockKind: ConfigurationChoice {}
extension Pooling.Kind: ConfigurationChoice {}
extension EmbeddingKind: ConfigurationChoice {}
extension PositionKind: ConfigurationChoice {}
extension HeadKind: ConfigurationChoice {}
extension TaskKind: ConfigurationChoice {}
extension OptimizerKind: ConfigurationChoice {}
extension ScheduleKind: ConfigurationChoice {}
extension NonFinitePolicy: ConfigurationChoice {}
extension FFTPlanningEffort: ConfigurationChoice {}
extension PathfinderDataset.Difficulty: ConfigurationChoice {}
extension MatmulPrecision: ConfigurationChoice {}

/// What a configuration key holds, read from the Swift types of `TrainingConfiguration` by
/// reflection: the loader checks every value in a file or `--set` against it (key, line, value
/// and what is allowed in the message) before anything is decoded, so no value reaches the
/// decoder that it would refuse with a message naming no key.
public indirect enum SettingKind: Equatable, Sendable {
    /// A whole number within Int64.
    case integer
    /// A finite number within Float's range (±3.4e38).
    case float
    /// A finite number.
    case double
    case boolean
    case string
    case choice([String])
    case list(SettingKind)
    case section([String: SettingKind])

    /// "a whole number", for messages.
    public var expectation: String {
        switch self {
        case .integer: return "a whole number"
        case .float: return "a finite number (within ±3.4e38)"
        case .double: return "a finite number"
        case .boolean: return "true or false"
        case .string: return "a string"
        case .choice(let names): return "one of: \(names.joined(separator: ", "))"
        case .list(let element): return "a list, each element \(element.expectation)"
        case .section: return "a mapping of keys"
        }
    }

    /// The kind of a configuration value (a struct of settings becomes a section of its
    /// snake_case keys). `listElements` gives the element prototype of keys that hold lists of
    /// mappings; `path` is the dotted key of `value`.
    static func of(_ value: Any, path: String = "", listElements: [String: any Encodable & Sendable]) -> SettingKind {
        switch value {
        case is Int: return .integer
        case is Float: return .float
        case is Double: return .double
        case is Bool: return .boolean
        case is String: return .string
        case let choice as any ConfigurationChoice: return .choice(type(of: choice).choiceNames)
        case is [Float] where type(of: value) == [Float].self: return .list(.float)
        case is [Any]:
            guard let prototype = listElements[path] else { return .list(.string) }
            return .list(.of(prototype, path: path, listElements: listElements))
        default:
            var fields: [String: SettingKind] = [:]
            for child in Mirror(reflecting: value).children {
                guard let label = child.label else { continue }
                let key = ConfigurationLoader.snakeCase(label)
                fields[key] = .of(child.value, path: path.isEmpty ? key : "\(path).\(key)", listElements: listElements)
            }
            return .section(fields)
        }
    }
}

extension TrainingConfiguration {
    /// Every key's kind, from the types of the defaults.
    public static let schema = SettingKind.of(TrainingConfiguration(), listElements: listElements)

    /// The kind of the dotted `key` (nil: no such key; list elements are addressed by index).
    public static func kind(of key: String) -> SettingKind? {
        var kind = schema
        for part in key.split(separator: ".") {
            switch kind {
            case .section(let fields): guard let next = fields[String(part)] else { return nil }; kind = next
            case .list(let element) where Int(part) != nil: kind = element
            default: return nil
            }
        }
        return kind
    }
}
