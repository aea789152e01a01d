import Crypto
import Foundation
import HearthTemplate
import Yams

/// Reads task definitions: a YAML file in a documented subset of lm-evaluation-harness's task
/// format, a BIG-bench `task.json`, or a plain text file (perplexity). Every error names the
/// file and, where there is one, the line.
///
/// The YAML keys (anything else is refused by name, so a typo is not silently ignored):
///
///     task: name                     # default: the file's name
///     dataset_path: data.jsonl       # relative to the YAML file: .jsonl (one object per line),
///                                    # .json (a list of objects), .txt (perplexity); or lm-eval's
///                                    # local form: dataset_path: json with
///                                    # dataset_kwargs: {data_files: {test: data.jsonl}}, test_split: test
///     output_type: multiple_choice   # or loglikelihood_rolling, generate_until, perplexity
///     description: "..."             # before the few-shot examples
///     doc_to_text: "{{question}}"    # a Jinja template, or a field name
///     doc_to_target: "{{answer}}"    # a template, a field name, or a fixed value
///     doc_to_choice: ["yes", "no"]   # a list, a field name, or a template giving a list
///     target_delimiter: " "
///     fewshot_delimiter: "\n\n"
///     num_fewshot: 0
///     generation_kwargs: {until: ["\n"], max_gen_toks: 32}
///     filter_list: [{filter: [{function: regex, regex_pattern: "(\\d+)", group_select: 1}, {function: lowercase}]}]
///     metric_list: [{metric: acc}, {metric: exact_match, ignore_case: true, ignore_punctuation: true}]
public enum TaskLoader {
    static let keys: Set<String> = ["task", "dataset_path", "dataset_kwargs", "test_split", "output_type", "description", "doc_to_text", "doc_to_target",
                                    "doc_to_choice", "target_delimiter", "fewshot_delimiter", "num_fewshot",
                                    "generation_kwargs", "filter_list", "metric_list", "tag", "metadata"]

    /// Loads `path`: YAML by its extension (.yaml, .yml), BIG-bench by its `examples`.
    /// `name` is the task's name in reports (default: its own: YAML's `task`, BIG-bench's
    /// `name`, a text file's stem).
    public static func load(_ path: String, name: String? = nil) throws(EvalError) -> EvalTask {
        let ext = (path as NSString).pathExtension.lowercased()
        switch ext {
        case "yaml", "yml": return try loadYAML(path).named(name)
        case "json": return try BigBench.load(path, name: name)
        case "txt": return try perplexityTask(text: path, name: name ?? ((path as NSString).lastPathComponent as NSString).deletingPathExtension)
        default: throw EvalError("\(path): a task is a .yaml file, a BIG-bench task.json, or a .txt file for perplexity")
        }
    }

    static func read(_ path: String) throws(EvalError) -> (text: String, data: Data) {
        guard let data = FileManager.default.contents(atPath: path) else { throw EvalError("cannot read '\(path)'") }
        guard let text = String(data: data, encoding: .utf8) else { throw EvalError("\(path) is not UTF-8 text") }
        return (text, data)
    }

    static func digest(_ parts: [Data]) -> String {
        var h = SHA256()
        for p in parts { h.update(data: p) }
        return "sha256:" + h.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// A perplexity task over the text file `path`, defined by `definition` (the text file
    /// itself, or a YAML file naming it, whose bytes `definitionData` join the digest).
    static func perplexityTask(text path: String, name: String, definition: String? = nil, definitionData: Data? = nil) throws(EvalError) -> EvalTask {
        let (text, data) = try read(path)
        return EvalTask(name: name, file: definition ?? path, fileDigest: digest((definitionData.map { [$0] } ?? []) + [data]),
                        outputType: .perplexity, text: text)
    }

    static func loadYAML(_ path: String) throws(EvalError) -> EvalTask {
        let (source, data) = try read(path)
        let root: Node?
        do { root = try Yams.compose(yaml: source) } catch {
            if case let YamlError.parser(_, problem, mark, _) = error { throw EvalError("\(path):\(mark.line): \(problem)") }
            if case let YamlError.scanner(_, problem, mark, _) = error { throw EvalError("\(path):\(mark.line): \(problem)") }
            throw EvalError("\(path): not YAML: \(error)")
        }
        guard let root, let mapping = root.mapping else { throw EvalError("\(path): a task file is a YAML mapping (task:, dataset_path:, ...)") }
        func at(_ node: Node) -> String { "\(path):\(node.mark?.line ?? 1)" }
        var values: [String: Node] = [:]
        for (k, v) in mapping {
            guard let key = k.string else { throw EvalError("\(at(k)): keys are strings") }
            guard keys.contains(key) else {
                throw EvalError("\(at(k)): unknown key '\(key)'; a task file takes \(keys.sorted().joined(separator: ", "))")
            }
            values[key] = v
        }
        func string(_ key: String, default value: String? = nil) throws(EvalError) -> String? {
            guard let node = values[key] else { return value }
            guard let s = node.string, node.scalar != nil else { throw EvalError("\(at(node)): \(key) must be text") }
            return s
        }
        func integer(_ key: String, default value: Int) throws(EvalError) -> Int {
            guard let node = values[key] else { return value }
            guard let i = node.int, i >= 0 else { throw EvalError("\(at(node)): \(key) must be a whole number of 0 or more") }
            return i
        }
        let name = try string("task") ?? ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        let typeName = try string("output_type", default: "multiple_choice")!
        guard let outputType = OutputType(rawValue: typeName) else {
            throw EvalError("\(at(values["output_type"]!)): output_type '\(typeName)' is not one of \(OutputType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let datasetNode = values["dataset_path"], var dataset = datasetNode.string else {
            throw EvalError("\(path): dataset_path is missing: the file of examples, relative to the task file")
        }
        if dataset == "json" {
            // lm-eval's local files: dataset_kwargs.data_files, a path or {split: path}.
            let split = try string("test_split", default: "test")!
            let files = values["dataset_kwargs"]?.mapping?["data_files"]
            guard let file = files?.string ?? files?.mapping?[split]?.string else {
                throw EvalError("\(at(datasetNode)): dataset_path: json needs dataset_kwargs: {data_files: {\(split): FILE}}")
            }
            dataset = file
        } else if values["dataset_kwargs"] != nil {
            throw EvalError("\(at(values["dataset_kwargs"]!)): dataset_kwargs goes with dataset_path: json (Hugging Face datasets are not fetched)")
        }
        let datasetPath = dataset.hasPrefix("/") ? dataset : ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(dataset)
        if outputType == .perplexity {
            return try perplexityTask(text: datasetPath, name: name, definition: path, definitionData: data)
        }
        let (docs, datasetData) = try loadDocs(datasetPath)
        guard !docs.isEmpty else { throw EvalError("\(datasetPath): no examples") }
        let fields = Set(docs[0].fields.keys)
        func field(_ key: String, required: Bool) throws(EvalError) -> DocField? {
            guard let node = values[key] else {
                if required { throw EvalError("\(path): \(key) is missing") }
                return nil
            }
            do {
                return try DocField.make(try templateValue(node), knownFields: fields, what: key)
            } catch { throw EvalError("\(at(node)): \(error.message)") }
        }
        var until: [String] = ["\n\n"], maxTokens = 256
        if let node = values["generation_kwargs"] {
            guard let m = node.mapping else { throw EvalError("\(at(node)): generation_kwargs is a mapping (until:, max_gen_toks:)") }
            for (k, v) in m {
                switch k.string {
                case "until":
                    if let s = v.string, v.scalar != nil { until = [s] } else if let seq = v.sequence, seq.allSatisfy({ $0.string != nil }) {
                        until = seq.compactMap(\.string)
                    } else { throw EvalError("\(at(v)): until is a string or a list of strings") }
                case "max_gen_toks":
                    guard let i = v.int, i > 0 else { throw EvalError("\(at(v)): max_gen_toks must be a positive whole number") }
                    maxTokens = i
                case "do_sample", "temperature":
                    if v.bool == true || (v.float ?? 0) > 0 { throw EvalError("\(at(v)): hearth eval generates greedily; sampling is not supported") }
                default: throw EvalError("\(at(k)): generation_kwargs takes until and max_gen_toks (and do_sample: false)")
                }
            }
        }
        var filters: [TextFilter] = []
        if let node = values["filter_list"] {
            guard let list = node.sequence, list.count == 1, let steps = list[0].mapping?["filter"]?.sequence else {
                throw EvalError("\(at(node)): filter_list is a list of one {name: ..., filter: [steps]} (one pipeline)")
            }
            for step in steps {
                switch step.mapping?["function"]?.string {
                case "regex":
                    let pattern = step.mapping?["regex_pattern"]?.string ?? #"#### (\-?[0-9\.\,]+)"#
                    do {
                        filters.append(.regex(try NSRegularExpression(pattern: pattern), select: step.mapping?["group_select"]?.int ?? 0))
                    } catch { throw EvalError("\(at(step)): regex_pattern '\(pattern)' is not a regular expression") }
                case "lowercase": filters.append(.lowercase)
                case "uppercase": filters.append(.uppercase)
                case "strip", "remove_whitespace": filters.append(.strip)   // lm-eval 0.4.13's remove_whitespace strips both ends
                case "take_first": break
                case let other: throw EvalError("\(at(step)): filter function '\(other ?? "?")' is not one of regex, lowercase, uppercase, remove_whitespace, strip, take_first")
                }
            }
        }
        var ignoreCase = false, ignorePunctuation = false
        if let node = values["metric_list"] {
            guard let list = node.sequence else { throw EvalError("\(at(node)): metric_list is a list of {metric: name}") }
            let allowed = Set(EvalTask.metrics(for: outputType))
            for m in list {
                guard let metric = m.mapping?["metric"]?.string else { throw EvalError("\(at(m)): each metric_list entry needs metric: name") }
                guard allowed.contains(metric) else {
                    throw EvalError("\(at(m)): metric '\(metric)' does not apply to \(outputType.rawValue); it reports \(allowed.sorted().joined(separator: ", "))")
                }
                if m.mapping?["ignore_case"]?.bool == true { ignoreCase = true }
                if m.mapping?["ignore_punctuation"]?.bool == true { ignorePunctuation = true }
            }
        }
        let task = EvalTask(
            name: name, file: path, fileDigest: digest([data, datasetData]), outputType: outputType, docs: docs,
            description: try string("description", default: "")!,
            docToText: try field("doc_to_text", required: outputType != .loglikelihoodRolling) ?? .fixed(.string("")),
            docToTarget: try field("doc_to_target", required: true)!,
            docToChoice: try field("doc_to_choice", required: outputType == .multipleChoice),
            targetDelimiter: try string("target_delimiter", default: " ")!,
            fewshotDelimiter: try string("fewshot_delimiter", default: "\n\n")!,
            numFewshot: try integer("num_fewshot", default: 0), until: until, maxGenerationTokens: maxTokens,
            filters: filters, ignoreCase: ignoreCase, ignorePunctuation: ignorePunctuation, text: nil)
        // Every doc must render: a bad row is found now, with its line, not halfway through a run.
        for doc in docs { try task.check(doc) }
        return task
    }

    /// A YAML value as a template value (scalars as YAML resolves them, lists, mappings).
    static func templateValue(_ node: Node) throws(EvalError) -> TemplateValue {
        switch node {
        case .scalar:
            if node.tag.description.hasSuffix(":int"), let i = node.int { return .int(i) }
            if node.tag.description.hasSuffix(":bool"), let b = node.bool { return .bool(b) }
            return .string(node.string ?? "")
        case .sequence(let s): return .array(try s.map { n throws(EvalError) in try templateValue(n) })
        case .mapping(let m):
            var pairs: [(String, TemplateValue)] = []
            for (k, v) in m { pairs.append((k.string ?? "", try templateValue(v))) }
            return .object(pairs)
        case .alias: throw EvalError("YAML aliases are not supported in task files")
        }
    }

    /// Docs from a .jsonl file (one JSON object per line) or a .json list of objects.
    static func loadDocs(_ path: String) throws(EvalError) -> ([EvalDoc], Data) {
        let (text, data) = try read(path)
        var docs: [EvalDoc] = []
        if path.lowercased().hasSuffix(".jsonl") {
            for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
                if trimmed.isEmpty { continue }
                let location = "\(path):\(i + 1)"
                let value: TemplateValue
                do { value = try TemplateValue.parseJSON(trimmed) } catch { throw EvalError("\(location): not a JSON object: \(error.message)") }
                guard case .object(let pairs) = value else { throw EvalError("\(location): each line is a JSON object") }
                docs.append(EvalDoc(fields: Dictionary(pairs, uniquingKeysWith: { _, b in b }), location: location))
            }
        } else if path.lowercased().hasSuffix(".json") {
            let value: TemplateValue
            do { value = try TemplateValue.parseJSON(text) } catch { throw EvalError("\(path): not JSON: \(error)") }
            guard case .array(let items) = value else { throw EvalError("\(path): a .json dataset is a list of objects") }
            for (i, item) in items.enumerated() {
                guard case .object(let pairs) = item else { throw EvalError("\(path): item \(i) is not an object") }
                docs.append(EvalDoc(fields: Dictionary(pairs, uniquingKeysWith: { _, b in b }), location: "\(path), item \(i)"))
            }
        } else {
            throw EvalError("\(path): a dataset is a .jsonl or .json file")
        }
        return (docs, data)
    }
}

extension EvalTask {
    static func metrics(for type: OutputType) -> [String] {
        switch type {
        case .multipleChoice: return ["acc", "acc_norm"]
        case .loglikelihoodRolling: return ["word_perplexity", "byte_perplexity", "bits_per_byte"]
        case .generateUntil: return ["exact_match"]
        case .perplexity: return ["perplexity"]
        }
    }

    /// Renders what the run will need of `doc`, so that a bad row fails before the run.
    func check(_ doc: EvalDoc) throws(EvalError) {
        if outputType != .loglikelihoodRolling { _ = try docToText.text(for: doc, "doc_to_text") }
        _ = try target(doc)
    }
}
