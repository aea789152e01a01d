/// Why a vocabulary could not be turned into a `Tokenizer`.
///
/// The one error type of this module. `description` names the offending key, token or merge,
/// e.g. `merge #17 'Ġ t' names 'Ġ', which is not a token`.
public struct TokenizerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of problem it is, for code that wants to branch on it.
    public enum Kind: Sendable, Equatable {
        /// `tokenizer.ggml.model` is not one this module implements.
        case unsupportedModel
        /// `tokenizer.ggml.pre` is not one this module implements.
        case unsupportedPreTokenizer
        /// The arrays or ids of the vocabulary contradict each other.
        case invalidVocabulary
    }

    /// What kind of problem it is.
    public var kind: Kind
    /// A sentence naming the problem and the offending value.
    public var message: String

    /// Makes an error of the given kind with a message naming the offender.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "tokenizer: \(message)" }

    static func invalid(_ message: String) -> TokenizerError {
        TokenizerError(.invalidVocabulary, message)
    }
}

/// Quotes a token text for an error message, with control characters escaped and long texts
/// shortened, so a message stays on one readable line.
func quoted(_ text: String, limit: Int = 40) -> String {
    var out = ""
    var count = 0
    for scalar in text.unicodeScalars {
        if count == limit { out += "…"; break }
        switch scalar {
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        count += 1
    }
    return "'\(out)'"
}
