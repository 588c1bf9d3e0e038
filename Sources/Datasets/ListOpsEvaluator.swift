/// Evaluates a ListOps source string by parsing it, independently of the generator's tree.
///
/// Accepts LRA's text with or without parentheses and with `]` or `X` as the closing token:
/// `( ( ( [MAX 2 ) 9 ) ] )` and `[MAX 2 9 X` both evaluate to 9.
public enum ListOpsEvaluator {
    /// A source string that is not a well-formed expression.
    public struct MalformedExpression: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// The value of `source`, or an error saying what is wrong with it.
    public static func evaluate(_ source: String) throws -> Int {
        var stack: [(operation: String, arguments: [Int])] = []
        var result: Int?
        for token in source.split(whereSeparator: { $0 == " " || $0 == "\t" }) where token != "(" && token != ")" {
            if token.hasPrefix("[") {
                guard ["[MIN", "[MAX", "[MED", "[SM"].contains(token) else {
                    throw MalformedExpression(description: "unknown operator '\(token)'")
                }
                stack.append((String(token), []))
            } else if token == "]" || token == "X" {
                guard let frame = stack.popLast() else { throw MalformedExpression(description: "unmatched '\(token)'") }
                guard !frame.arguments.isEmpty else {
                    throw MalformedExpression(description: "\(frame.operation) has no arguments")
                }
                try deliver(value(of: frame.operation, frame.arguments), stack: &stack, result: &result)
            } else if let digit = Int(token), (0...9).contains(digit), token.count == 1 {
                try deliver(digit, stack: &stack, result: &result)
            } else {
                throw MalformedExpression(description: "unexpected token '\(token)'")
            }
        }
        guard stack.isEmpty else { throw MalformedExpression(description: "\(stack.count) operator(s) not closed") }
        guard let result else { throw MalformedExpression(description: "empty expression") }
        return result
    }

    private static func deliver(_ value: Int, stack: inout [(operation: String, arguments: [Int])], result: inout Int?) throws {
        if stack.isEmpty {
            guard result == nil else { throw MalformedExpression(description: "more than one top-level expression") }
            result = value
        } else {
            stack[stack.count - 1].arguments.append(value)
        }
    }

    private static func value(of operation: String, _ arguments: [Int]) -> Int {
        switch operation {
        case "[MIN": return arguments.min()!
        case "[MAX": return arguments.max()!
        case "[SM": return arguments.reduce(0, +) % 10
        default:
            let sorted = arguments.sorted()
            let count = sorted.count
            // The median as a real number, then its integer part (values are non-negative).
            let doubled = count % 2 == 1 ? 2 * sorted[count / 2] : sorted[count / 2 - 1] + sorted[count / 2]
            return doubled / 2
        }
    }
}
