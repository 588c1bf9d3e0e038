extension KernelWisdom {
    /// The committed kernel choices, one table per CPU model seen, measured with
    /// `parseval bench step --tune` (docs/benchmarks.md, "Measured kernel choices", says on
    /// which machine and with which commands). Runs read these first, then the user's file.
    public static let defaults: KernelWisdom = {
        do { return try KernelWisdom(parsing: defaultsText, source: "KernelChoices+Defaults.swift") } catch {
            preconditionFailure("the committed kernel choices do not parse: \(error)")
        }
    }()

    static let defaultsText = """
        # Parseval kernel choices (`parseval bench step --tune`): cpu, operation, precision, shape, choice, timings (s)

        """
}
