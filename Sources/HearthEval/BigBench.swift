import Foundation
import HearthTemplate

/// BIG-bench's JSON task format (`task.json`: `examples` with `input` and `target_scores`),
/// read as a multiple-choice task with BIG-bench's default prompt: the task prefix, then for
/// each example `example_input_prefix` ("\nQ: ") + input, the choices each after
/// `choice_prefix` ("\n  choice: ") unless `append_choices_to_input` is false, then
/// `example_output_prefix` ("\nA: "); the choices are scored as its continuation. Few-shot
/// examples are joined by `few_shot_example_separator` ("\n").
///
/// One difference from BIG-bench's own harness: it appends the choices in an order shuffled
/// by numpy's seeded generator; Hearth appends them sorted (the set BIG-bench shuffles).
/// The gold answer is the first choice with the highest score, as BIG-bench takes it.
public enum BigBench {
    /// - name: the task's name in reports (default: task.json's `name`, else its folder's);
    ///   a subtask is best named `task:subtask`.
    public static func load(_ path: String, name given: String? = nil) throws(EvalError) -> EvalTask {
        let (text, data) = try TaskLoader.read(path)
        let root: TemplateValue
        do { root = try TemplateValue.parseJSON(text) } catch { throw EvalError("\(path): not JSON: \(error)") }
        guard case .array(let examples)? = root["examples"] else {
            throw EvalError("\(path): not a BIG-bench task: no \"examples\" list")
        }
        func setting(_ key: String, _ fallback: String) throws(EvalError) -> String {
            guard let v = root[key] else { return fallback }
            guard case .string(let s) = v else { throw EvalError("\(path): \(key) is not text") }
            return s
        }
        let inputPrefix = try setting("example_input_prefix", "\nQ: ")
        let outputPrefix = try setting("example_output_prefix", "\nA: ")
        let choicePrefix = try setting("choice_prefix", "\n  choice: ")
        let separator = try setting("few_shot_example_separator", "\n")
        let appendChoices = root["append_choices_to_input"] != .bool(false)
        let name = if let given { given } else { try setting("name", ((path as NSString).deletingLastPathComponent as NSString).lastPathComponent) }
        var docs: [EvalDoc] = []
        for (i, example) in examples.enumerated() {
            let location = "\(path), example \(i)"
            guard case .string(let input)? = example["input"] else { throw EvalError("\(location): no \"input\" text") }
            guard case .object(let scores)? = example["target_scores"], !scores.isEmpty else {
                throw EvalError("\(location): no \"target_scores\"; hearth eval reads BIG-bench's multiple-choice examples")
            }
            var best = -Double.infinity, gold = 0
            for (j, (_, score)) in scores.enumerated() {
                let value: Double
                switch score {
                case .int(let v): value = Double(v)
                case .double(let v): value = v
                default: throw EvalError("\(location): a target score is not a number")
                }
                if value > best { best = value; gold = j }
            }
            let choices = scores.map(\.0)
            var prompt = input
            if appendChoices { prompt += choicePrefix + choices.sorted().joined(separator: choicePrefix) }
            prompt = inputPrefix + prompt + outputPrefix
            docs.append(EvalDoc(fields: ["input": .string(prompt), "choices": .array(choices.map { .string($0) }), "gold": .int(gold)],
                                location: location))
        }
        guard !docs.isEmpty else { throw EvalError("\(path): no examples") }
        return EvalTask(name: name, file: path, fileDigest: TaskLoader.digest([data]), outputType: .multipleChoice, docs: docs,
                        description: try setting("task_prefix", ""), docToText: .field("input"), docToTarget: .field("gold"),
                        docToChoice: .field("choices"), targetDelimiter: "", fewshotDelimiter: separator)
    }
}
