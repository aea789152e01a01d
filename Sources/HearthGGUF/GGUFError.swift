/// The one error type of HearthGGUF: what is wrong, naming the offending key, tensor or offset.
public struct GGUFError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
