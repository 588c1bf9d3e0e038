/// A problem with a config file or an override, phrased for the person who wrote it:
/// `config listops.yaml:7: unknown key 'lerning_rate' under 'optimizer' (did you mean 'learning_rate'?)`.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
