import Foundation

/// A model's default generation parameters (the `params` layer, as Ollama's Modelfile
/// `PARAMETER` lines set them). A request's own options override them.
public struct ModelParameters: Codable, Hashable, Sendable {
    public var temperature: Double?
    public var top_k: Int?
    public var top_p: Double?
    public var min_p: Double?
    public var seed: Int?
    public var num_ctx: Int?
    public var num_predict: Int?
    public var stop: [String]?
    public var repeat_penalty: Double?
    public var repeat_last_n: Int?
    public var presence_penalty: Double?
    public var frequency_penalty: Double?

    public init() {}

    public var isEmpty: Bool { self == ModelParameters() }

    /// The names `PARAMETER` takes, in the order `hearth show` prints them.
    public static let names = ["temperature", "top_k", "top_p", "min_p", "seed", "num_ctx", "num_predict", "stop",
                               "repeat_penalty", "repeat_last_n", "presence_penalty", "frequency_penalty"]

    /// Ollama parameters that Hearth does not implement: refused by name, not ignored.
    static let unsupported = ["mirostat", "mirostat_eta", "mirostat_tau", "tfs_z", "typical_p", "num_gpu", "num_thread",
                              "num_keep", "penalize_newline", "numa", "num_batch", "main_gpu", "use_mmap", "use_mlock"]

    /// Sets `name` from its text in a Modelfile; `stop` adds one more stop string.
    public mutating func set(_ name: String, _ value: String) throws(HubError) {
        func double(_ range: ClosedRange<Double>) throws(HubError) -> Double {
            guard let v = Double(value), v.isFinite, range.contains(v) else {
                throw HubError("PARAMETER \(name) takes a number from \(range.lowerBound) to \(range.upperBound), not '\(value)'")
            }
            return v
        }
        func int(_ range: ClosedRange<Int>) throws(HubError) -> Int {
            guard let v = Int(value), range.contains(v) else {
                throw HubError("PARAMETER \(name) takes a whole number from \(range.lowerBound) to \(range.upperBound), not '\(value)'")
            }
            return v
        }
        switch name {
        case "temperature": temperature = try double(0...100)
        case "top_k": top_k = try int(0...1_000_000)
        case "top_p": top_p = try double(0...1)
        case "min_p": min_p = try double(0...1)
        case "seed": seed = try int(Int(Int32.min)...Int.max)
        case "num_ctx": num_ctx = try int(8...(1 << 20))
        case "num_predict": num_predict = try int(-2...Int(Int32.max))
        case "stop":
            guard !value.isEmpty else { throw HubError("PARAMETER stop needs a non-empty string") }
            stop = (stop ?? []) + [value]
        case "repeat_penalty": repeat_penalty = try double(0...100)
        case "repeat_last_n": repeat_last_n = try int(-1...(1 << 20))
        case "presence_penalty": presence_penalty = try double(-100...100)
        case "frequency_penalty": frequency_penalty = try double(-100...100)
        default:
            if Self.unsupported.contains(name) { throw HubError("PARAMETER \(name) is not implemented by Hearth") }
            throw HubError("unknown PARAMETER '\(name)'; Hearth takes \(Self.names.joined(separator: ", "))")
        }
    }

    /// Every set parameter as `(name, value text)`, `stop` once per string, for `hearth show`
    /// and the Modelfile it prints.
    public var lines: [(name: String, value: String)] {
        var out: [(String, String)] = []
        func add(_ name: String, _ v: (any CustomStringConvertible)?) { if let v { out.append((name, "\(v)")) } }
        add("temperature", temperature); add("top_k", top_k); add("top_p", top_p); add("min_p", min_p)
        add("seed", seed); add("num_ctx", num_ctx); add("num_predict", num_predict)
        for s in stop ?? [] { out.append(("stop", s)) }
        add("repeat_penalty", repeat_penalty); add("repeat_last_n", repeat_last_n)
        add("presence_penalty", presence_penalty); add("frequency_penalty", frequency_penalty)
        return out
    }

    /// `self` with `other`'s set values on top (a derived model's parameters over its base's).
    public func overlaid(with other: ModelParameters) -> ModelParameters {
        var r = self
        r.temperature = other.temperature ?? temperature
        r.top_k = other.top_k ?? top_k
        r.top_p = other.top_p ?? top_p
        r.min_p = other.min_p ?? min_p
        r.seed = other.seed ?? seed
        r.num_ctx = other.num_ctx ?? num_ctx
        r.num_predict = other.num_predict ?? num_predict
        r.stop = other.stop ?? stop
        r.repeat_penalty = other.repeat_penalty ?? repeat_penalty
        r.repeat_last_n = other.repeat_last_n ?? repeat_last_n
        r.presence_penalty = other.presence_penalty ?? presence_penalty
        r.frequency_penalty = other.frequency_penalty ?? frequency_penalty
        return r
    }
}
