import Foundation
import HearthTemplate

/// The one error type of HearthEval: what went wrong, naming the file and line where there is one.
public struct EvalError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One example of a task: its fields, and where it came from (`file:line`) for errors.
public struct EvalDoc: Sendable {
    public let fields: [String: TemplateValue]
    public let location: String
}

/// What a task asks of the model, with lm-evaluation-harness's meaning:
/// - `multipleChoice`: the log-likelihood of each choice after the context; acc (the most
///   likely choice is the gold one) and acc_norm (likelihood divided by the choice's length);
/// - `loglikelihoodRolling`: the log-likelihood of a whole document in windows of the
///   context; word and byte perplexity, bits per byte;
/// - `generateUntil`: greedy text until a stop sequence; exact match after the filters;
/// - `perplexity`: llama.cpp's perplexity of a text file (chunks of the context, the second
///   half of each scored), as `hearth perplexity` and `llama-perplexity` compute it.
public enum OutputType: String, Sendable, CaseIterable {
    case multipleChoice = "multiple_choice"
    case loglikelihoodRolling = "loglikelihood_rolling"
    case generateUntil = "generate_until"
    case perplexity
}

/// A Jinja template over a doc's fields, compiled once with what rendering needs to know.
public struct DocTemplate: Sendable {
    /// As the task file gives it.
    public let source: String
    let compiled: ChatTemplate
    /// The names its `{{ ... }}` expressions start with: each must be a field of the doc.
    let names: [String]
    /// A single expression (`{{ choices }}`), compiled through `tojson` so that its value, not
    /// its text, comes back (a list stays a list).
    let yieldsValue: Bool
}

/// A template over a doc's fields, or the name of a field (lm-eval takes a bare field name as
/// the field's value), or a fixed value.
public enum DocField: Sendable {
    case template(DocTemplate)
    case field(String)
    case fixed(TemplateValue)

    /// The value for `doc`: a single-expression template (`{{ choices }}`) gives the
    /// expression's value (a list stays a list), a longer one its rendered text.
    func value(for doc: EvalDoc, _ what: String) throws(EvalError) -> TemplateValue {
        switch self {
        case .fixed(let v): return v
        case .field(let name):
            guard let v = doc.fields[name] else { throw EvalError("\(doc.location): the doc has no field '\(name)' for \(what)") }
            return v
        case .template(let t):
            // A name the doc lacks renders as "" in Jinja: a typo would quietly empty the prompt.
            for name in t.names where doc.fields[name] == nil {
                throw EvalError("\(doc.location): \(what) uses '\(name)', which the doc does not have (it has \(doc.fields.keys.sorted().joined(separator: ", ")))")
            }
            do {
                let rendered = try t.compiled.render(doc.fields)
                return t.yieldsValue ? try TemplateValue.parseJSON(rendered) : .string(rendered)
            } catch {
                throw EvalError("\(doc.location): \(what) template '\(t.source)': \(error)")
            }
        }
    }

    func text(for doc: EvalDoc, _ what: String) throws(EvalError) -> String {
        let v = try value(for: doc, what)
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .bool(let b): return b ? "True" : "False"
        default: throw EvalError("\(doc.location): \(what) is not text: \((try? v.jsonString()) ?? "\(v)")")
        }
    }

    /// The names a template's `{{ ... }}` expressions start with (`{{ q }}`, `{{ choices[0] }}`).
    static func names(in source: String) -> [String] {
        guard let regex = try? NSRegularExpression(pattern: #"\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)"#) else { return [] }
        let range = NSRange(source.startIndex..., in: source)
        return regex.matches(in: source, range: range).compactMap { m in Range(m.range(at: 1), in: source).map { String(source[$0]) } }
            .filter { !["loop", "range", "true", "false", "none", "True", "False", "None", "namespace"].contains($0) }
    }

    static func isSingleExpression(_ source: String) -> Bool {
        let s = source.trimmingCharacters(in: .whitespaces)
        guard s.hasPrefix("{{"), s.hasSuffix("}}") else { return false }
        let inner = s.dropFirst(2).dropLast(2)
        return !inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%")
    }

    /// A field from a task file's value: a string naming a field of the first doc, a template
    /// (anything with `{{` or `{%`), or a fixed value.
    static func make(_ value: TemplateValue, knownFields: Set<String>, what: String) throws(EvalError) -> DocField {
        guard case .string(let s) = value else { return .fixed(value) }
        if knownFields.contains(s) { return .field(s) }
        guard s.contains("{{") || s.contains("{%") else { return .fixed(value) }
        let single = isSingleExpression(s)
        let source = single ? "{{ (" + String(s.trimmingCharacters(in: .whitespaces).dropFirst(2).dropLast(2)) + ") | tojson }}" : s
        do {
            return .template(DocTemplate(source: s, compiled: try ChatTemplate(source, options: .jinja2Defaults), names: names(in: s), yieldsValue: single))
        } catch {
            throw EvalError("\(what) template '\(s)': \(error)")
        }
    }
}

/// The filters lm-eval applies to generated text before scoring, in order.
public enum TextFilter: Sendable {
    /// lm-eval's regex filter: of all matches, the `select`-th (negative counts from the end),
    /// as its first non-empty capture group (or the whole match when there is none), stripped;
    /// no match gives "[invalid]".
    case regex(NSRegularExpression, select: Int)
    case lowercase
    case uppercase
    case strip
}

/// A task, ready to run: its docs and how to turn each into requests and scores.
public struct EvalTask: Sendable {
    public internal(set) var name: String
    /// The definition file (YAML or BIG-bench task.json) and the sha256 of it and its data.
    public let file: String
    public let fileDigest: String
    public let outputType: OutputType
    public let docs: [EvalDoc]
    /// Text before the few-shot examples (lm-eval's `description`).
    public let description: String
    public let docToText: DocField
    public let docToTarget: DocField
    public let docToChoice: DocField?
    public let targetDelimiter: String
    public let fewshotDelimiter: String
    public let numFewshot: Int
    public let until: [String]
    public let maxGenerationTokens: Int
    public let filters: [TextFilter]
    public let ignoreCase: Bool
    public let ignorePunctuation: Bool
    /// For `perplexity`: the whole text.
    public let text: String?

    /// A task; what a task type does not use keeps lm-eval's defaults.
    init(name: String, file: String, fileDigest: String, outputType: OutputType, docs: [EvalDoc] = [], description: String = "",
         docToText: DocField = .fixed(.string("")), docToTarget: DocField = .fixed(.string("")), docToChoice: DocField? = nil,
         targetDelimiter: String = " ", fewshotDelimiter: String = "\n\n", numFewshot: Int = 0, until: [String] = [],
         maxGenerationTokens: Int = 0, filters: [TextFilter] = [], ignoreCase: Bool = false, ignorePunctuation: Bool = false,
         text: String? = nil) {
        self.name = name
        self.file = file
        self.fileDigest = fileDigest
        self.outputType = outputType
        self.docs = docs
        self.description = description
        self.docToText = docToText
        self.docToTarget = docToTarget
        self.docToChoice = docToChoice
        self.targetDelimiter = targetDelimiter
        self.fewshotDelimiter = fewshotDelimiter
        self.numFewshot = numFewshot
        self.until = until
        self.maxGenerationTokens = maxGenerationTokens
        self.filters = filters
        self.ignoreCase = ignoreCase
        self.ignorePunctuation = ignorePunctuation
        self.text = text
    }

    /// The task under another name, or as it is for nil.
    func named(_ other: String?) -> EvalTask {
        var task = self
        if let other { task.name = other }
        return task
    }

    /// The metrics this task reports, in order.
    public var metricNames: [String] { Self.metrics(for: outputType) }

    /// The choices of a multiple-choice doc.
    public func choices(_ doc: EvalDoc) throws(EvalError) -> [String] {
        guard let docToChoice else { throw EvalError("task \(name): multiple_choice needs doc_to_choice") }
        let v = try docToChoice.value(for: doc, "doc_to_choice")
        guard case .array(let items) = v, !items.isEmpty else {
            throw EvalError("\(doc.location): doc_to_choice gives \((try? v.jsonString()) ?? "nothing"), not a list of choices")
        }
        return try items.map { item throws(EvalError) -> String in
            switch item {
            case .string(let s): return s
            case .int(let i): return String(i)
            default: throw EvalError("\(doc.location): a choice is not text: \((try? item.jsonString()) ?? "?")")
            }
        }
    }

    /// The gold answer of a multiple-choice doc: an index, or the text of one of the choices.
    public func gold(_ doc: EvalDoc, choices: [String]) throws(EvalError) -> Int {
        let v = try docToTarget.value(for: doc, "doc_to_target")
        switch v {
        case .int(let i) where choices.indices.contains(i): return i
        case .string(let s):
            if let i = Int(s.trimmingCharacters(in: .whitespaces)), choices.indices.contains(i) { return i }
            if let i = choices.firstIndex(of: s) { return i }
        default: break
        }
        throw EvalError("\(doc.location): doc_to_target gives \((try? v.jsonString()) ?? "?"), which is neither an index into the \(choices.count) choices nor one of them")
    }

    /// The target text of a doc (the answer shown in few-shot examples, the reference of
    /// exact match, the document of a rolling task).
    func target(_ doc: EvalDoc) throws(EvalError) -> String {
        if outputType == .multipleChoice {
            let c = try choices(doc)
            return c[try gold(doc, choices: c)]
        }
        let v = try docToTarget.value(for: doc, "doc_to_target")
        if case .array(let items) = v, case .string(let first)? = items.first { return first }
        return try docToTarget.text(for: doc, "doc_to_target")
    }
}
