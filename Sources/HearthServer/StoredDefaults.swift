import HearthAPI
import HearthEngine
import HearthHub

/// What a stored model adds to the requests made of it: its Modelfile's SYSTEM, MESSAGE and
/// PARAMETER lines, as defaults that a request's own values override.
extension ServedModel {
    /// The store's parameters (empty for a model served from a file).
    var defaults: ModelParameters { file.stored?.parameters ?? ModelParameters() }

    /// The conversation with the stored system message (unless it has its own) and the stored
    /// opening messages in front.
    func withStoredOpening(_ conversation: [ChatMessage]) -> [ChatMessage] {
        guard let stored = file.stored, stored.system != nil || !stored.messages.isEmpty else { return conversation }
        var rest = conversation[...]
        var out: [ChatMessage] = []
        if let first = rest.first, first.role == "system" {
            out.append(first)
            rest = rest.dropFirst()
        } else if let system = stored.system {
            out.append(.system(system))
        }
        out += stored.messages.map { ChatMessage(role: $0.role, content: $0.content) }
        return out + rest
    }

    /// A request's Ollama options over the stored parameters.
    func options(overlaying request: Ollama.Options?) -> Ollama.Options {
        let d = defaults, r = request ?? Ollama.Options()
        var o = Ollama.Options()
        o.temperature = r.temperature ?? d.temperature
        o.top_p = r.top_p ?? d.top_p
        o.top_k = r.top_k ?? d.top_k
        o.min_p = r.min_p ?? d.min_p
        o.seed = r.seed ?? d.seed
        o.num_predict = r.num_predict ?? d.num_predict
        o.num_ctx = r.num_ctx
        o.stop = r.stop ?? d.stop
        o.repeat_penalty = r.repeat_penalty ?? d.repeat_penalty
        o.repeat_last_n = r.repeat_last_n ?? d.repeat_last_n
        o.presence_penalty = r.presence_penalty ?? d.presence_penalty
        o.frequency_penalty = r.frequency_penalty ?? d.frequency_penalty
        return o
    }
}
