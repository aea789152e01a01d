import Foundation
import HearthEngine
import HearthEval
import HearthTemplate
import HearthTestSupport
import Testing

@Suite struct TaskFileTests {
    func write(_ dir: TemporaryDirectory, _ name: String, _ text: String) throws -> String {
        try dir.write(Array(text.utf8), to: name)
    }

    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "accepted" } catch let e as EvalError { return e.message } catch { return "\(error)" }
    }

    @Test func aYAMLTaskReadsItsDocsAndTemplates() throws {
        let dir = try TemporaryDirectory()
        _ = try write(dir, "data.jsonl", """
            {"q": "2+2?", "options": ["3", "4"], "answer": 1}

            {"q": "Sky?", "options": ["blue", "green"], "answer": "blue"}
            """)
        let path = try write(dir, "t.yaml", """
            task: tiny_mc
            dataset_path: data.jsonl
            output_type: multiple_choice
            doc_to_text: "Question: {{q}}\\nAnswer:"
            doc_to_choice: "{{options}}"
            doc_to_target: answer
            """)
        let task = try TaskLoader.load(path)
        #expect(task.name == "tiny_mc" && task.docs.count == 2)
        #expect(task.docs[1].location.hasSuffix("data.jsonl:3"), "blank lines count: the location is the file's line")
        #expect(task.metricNames == ["acc", "acc_norm"])
        #expect(task.fileDigest.hasPrefix("sha256:"))
    }

    @Test func lmEvalsLocalDatasetFormIsRead() throws {
        let dir = try TemporaryDirectory()
        let data = try write(dir, "d.jsonl", #"{"input": "x", "choices": ["a", "b"], "gold": 0}"#)
        let path = try write(dir, "t.yaml", """
            task: local
            dataset_path: json
            dataset_kwargs: {data_files: {test: \(data)}}
            test_split: test
            output_type: multiple_choice
            doc_to_text: "{{input}}"
            doc_to_choice: "{{choices}}"
            doc_to_target: "{{gold}}"
            target_delimiter: ""
            metric_list: [{metric: acc, aggregation: mean, higher_is_better: true}]
            """)
        #expect(try TaskLoader.load(path).docs.count == 1)
    }

    @Test func badFilesAreRefusedWithTheirLine() throws {
        let dir = try TemporaryDirectory()
        _ = try write(dir, "data.jsonl", "{\"q\": \"a\", \"answer\": 0, \"options\": [\"x\"]}\n{\"q\": \"b\", \"answer\": 5, \"options\": [\"x\"]}\n{not json\n")
        let base = "dataset_path: data.jsonl\noutput_type: multiple_choice\ndoc_to_text: \"{{q}}\"\ndoc_to_choice: options\ndoc_to_target: answer\n"
        let typo = try write(dir, "typo.yaml", base + "num_fewshots: 3\n")
        #expect(message { _ = try TaskLoader.load(typo) }.contains("typo.yaml:6: unknown key 'num_fewshots'"))
        let broken = try write(dir, "broken.yaml", "task: x\ndoc_to_text: [unclosed\n")
        #expect(message { _ = try TaskLoader.load(broken) }.contains("broken.yaml:"))
        let good = try write(dir, "good.yaml", base)
        let m = message { _ = try TaskLoader.load(good) }
        #expect(m.contains("data.jsonl:3") && m.contains("not a JSON object"), "\(m)")
        _ = try write(dir, "data.jsonl", "{\"q\": \"a\", \"answer\": 0, \"options\": [\"x\"]}\n{\"q\": \"b\", \"answer\": 5, \"options\": [\"x\"]}\n")
        let m2 = message { _ = try TaskLoader.load(good) }
        #expect(m2.contains("data.jsonl:2") && m2.contains("doc_to_target"), "\(m2)")
        let type = try write(dir, "type.yaml", base.replacingOccurrences(of: "multiple_choice", with: "multiple_choise"))
        #expect(message { _ = try TaskLoader.load(type) }.contains("type.yaml:2: output_type 'multiple_choise'"))
        let field = try write(dir, "field.yaml", base.replacingOccurrences(of: "{{q}}", with: "{{question}}"))
        #expect(message { _ = try TaskLoader.load(field) }.contains("data.jsonl:1"))
    }

    /// BIG-bench's default prompt (bigbench/api/json_task.py): task prefix, "\nQ: " + input,
    /// the choices after "\n  choice: " (sorted here), "\nA: "; gold is the first best score.
    @Test func bigBenchTasksUseItsDefaultPrompt() throws {
        let dir = try TemporaryDirectory()
        let path = try write(dir, "task.json", """
            {"name": "toy", "task_prefix": "Answer well.", "examples": [
              {"input": "Is fire hot?", "target_scores": {"yes": 1, "no": 0}},
              {"input": "Pick", "target_scores": {"b": 0, "c": 1, "a": 1}}]}
            """)
        let task = try TaskLoader.load(path)
        #expect(task.description == "Answer well.")
        #expect(task.docs[0].fields["input"] == .string("\nQ: Is fire hot?\n  choice: no\n  choice: yes\nA: "))
        #expect(task.docs[1].fields["gold"] == .int(1), "the first of the best scores")
        let plain = try write(dir, "plain.json", """
            {"name": "p", "append_choices_to_input": false, "example_input_prefix": "In: ", "examples": [{"input": "x", "target_scores": {"y": 1}}]}
            """)
        #expect(try TaskLoader.load(plain).docs[0].fields["input"] == .string("In: x\nA: "))
        let bad = try write(dir, "bad.json", #"{"examples": [{"input": "x", "target": "y"}]}"#)
        #expect(message { _ = try TaskLoader.load(bad) }.contains("example 0"))
    }
}

@Suite struct ScorerTests {
    /// The log-likelihood of a continuation, computed the plain way: the whole sequence from
    /// an empty session, every row's log-softmax summed in double precision.
    func reference(_ model: Model, context: [Int32], continuation: [Int32]) throws -> Double {
        let session = try model.makeSession(contextSize: 256, threads: 1)
        let logits = try session.evaluate(context + continuation, rows: .all)
        let vocab = session.vocabularySize
        var sum = 0.0
        for (i, token) in continuation.enumerated() {
            let row = Array(logits[((context.count - 1 + i) * vocab)..<((context.count + i) * vocab)])
            let m = row.max()!
            let z = row.reduce(0.0) { $0 + exp(Double($1 - m)) }
            sum += Double(row[Int(token)] - m) - log(z)
        }
        return sum
    }

    @Test func loglikelihoodsWithTheSharedPrefixEqualTheWholeSequence() throws {
        let dir = try TemporaryDirectory()
        let model = try Model(path: try TinyModel().write(in: dir))
        let scorer = try Scorer(model: model, contextSize: 256, threads: 1)
        let context = "the cat sat on", choices = [" the mat", " a hat", " the"]
        // Twice: the second time the context is already cached.
        for _ in 0..<2 {
            let got = try scorer.loglikelihoods(context: context, continuations: choices)
            for (choice, result) in zip(choices, got) {
                let whole = model.tokenize(context + choice), ctx = model.tokenize(context)
                let expected = try reference(model, context: ctx, continuation: Array(whole.dropFirst(ctx.count)))
                #expect(abs(result.logprob - expected) < 1e-3, "\(choice): \(result.logprob) vs \(expected)")
            }
        }
        // A context ending in a space gives it to the continuation, as lm-eval does.
        let spaced = try scorer.loglikelihoods(context: context + " ", continuations: ["the mat"])[0].logprob
        let plain = try scorer.loglikelihoods(context: context, continuations: [" the mat"])[0].logprob
        #expect(abs(spaced - plain) < 1e-9)
    }

    /// A generate_until doc whose prompt is empty generates after the prefix token.
    @Test func anEmptyPromptGeneratesAfterThePrefixToken() throws {
        let dir = try TemporaryDirectory()
        let model = try Model(path: try TinyModel().write(in: dir))
        let scorer = try Scorer(model: model, contextSize: 64, threads: 1)
        let text = try scorer.generate(context: "", until: [], maxTokens: 4)
        let reference = try model.generate(in: try model.makeSession(contextSize: 64, threads: 1),
                                           promptTokens: [model.tokenizer.bosID ?? model.tokenizer.eosID ?? 0],
                                           options: GenerationOptions(maxTokens: 4, sampling: .greedy)).text
        #expect(text == reference)
    }

    @Test func aRequestLongerThanTheContextIsRefused() throws {
        let dir = try TemporaryDirectory()
        let model = try Model(path: try TinyModel().write(in: dir))
        let scorer = try Scorer(model: model, contextSize: 16, threads: 1)
        do {
            _ = try scorer.loglikelihoods(context: String(repeating: "the cat ", count: 20), continuations: [" sat"])
            Issue.record("accepted a request longer than the context")
        } catch { #expect(error.message.contains("raise --ctx")) }
    }

    @Test func anInterruptedRunResumesFromTheCache() throws {
        let dir = try TemporaryDirectory()
        let model = try Model(path: try TinyModel().write(in: dir))
        let rows = (0..<6).map { #"{"input": "the cat \#($0)", "choices": [" sat", " the"], "gold": \#($0 % 2)}"# }
        _ = try dir.write(Array(rows.joined(separator: "\n").utf8), to: "d.jsonl")
        let yaml = try dir.write(Array("dataset_path: d.jsonl\ndoc_to_text: input\ndoc_to_choice: choices\ndoc_to_target: gold\n".utf8), to: "t.yaml")
        let task = try TaskLoader.load(yaml)
        let out = dir.file("out")
        var settings = EvalSettings()
        settings.limit = 4
        let first = try EvalRunner(scorer: try Scorer(model: model, contextSize: 64, threads: 1), modelDigest: "m", settings: settings, outputDirectory: out).run(task)
        #expect(first.cachedSamples == 0 && first.samples == 4)
        // A kill in the middle of a write leaves half a line: it is ignored, not fatal.
        let cache = out + "/cache.jsonl"
        let handle = try #require(FileHandle(forWritingAtPath: cache))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"key": "abc", "val"#.utf8))
        try handle.close()
        settings.limit = 6
        let second = try EvalRunner(scorer: try Scorer(model: model, contextSize: 64, threads: 1), modelDigest: "m", settings: settings, outputDirectory: out).run(task)
        #expect(second.cachedSamples == 4 && second.samples == 6, "the four finished docs come from the cache")
        let fresh = try EvalRunner(scorer: try Scorer(model: model, contextSize: 64, threads: 1), modelDigest: "m", settings: settings,
                                   outputDirectory: dir.file("fresh")).run(task)
        #expect(fresh.metrics["acc"]?.value == second.metrics["acc"]?.value && fresh.metrics["acc_norm"]?.value == second.metrics["acc_norm"]?.value)
        let samples = try String(contentsOfFile: out + "/samples_t.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(samples.count == 6)
    }
}
