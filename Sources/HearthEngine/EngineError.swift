/// The one error type of HearthEngine: what could not be done and why, naming the offender
/// (the tensor, key, token or number involved).
public struct EngineError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
