/// The one error type of HearthHub: what went wrong, naming the model, file or digest.
public struct HubError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
