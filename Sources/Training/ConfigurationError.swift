/// A problem with a config file or an override, phrased for the person who wrote it:
/// `config listops.yaml:7: unknown key 'lerning_rate' under 'optimizer' (did you mean 'learning_rate'?)`.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    /// The dotted key at fault, where there is one: the loader prefixes the file and line that
    /// set it (`located`).
    public let key: String?

    public init(_ description: String, key: String? = nil) {
        self.description = description
        self.key = key
    }

    /// The error with the place that set its key in front: "config run.yaml:4: …".
    public func located(_ place: String) -> ConfigurationError {
        ConfigurationError("config \(place): \(description)", key: key)
    }
}
