import Foundation
import HearthEval
import Testing

/// The built-in suite as the build installs it beside the test binary: every task loads
/// through `TaskLoader` (every doc renders), has the documented size and kind, and names are
/// resolved the way `hearth eval --tasks` resolves them.
@Suite struct BuiltinSuiteTests {
    /// Sizes and kinds as the suite's READMEs give them (scripts/make-suite.py makes them).
    static let expected: [String: (count: Int, type: OutputType)] = [
        "antonyms": (400, .generateUntil), "arithmetic": (400, .generateUntil), "definitions": (500, .multipleChoice),
        "devils_dictionary": (798, .loglikelihoodRolling), "elements": (206, .multipleChoice), "hypernyms": (500, .multipleChoice),
        "synonyms": (500, .multipleChoice),
    ]

    @Test func theCoreSuiteIsInstalledBesideTheBinaryAndEveryTaskLoads() throws {
        let suite = try BuiltinSuite.installed(environment: [:])
        #expect(suite.suites == ["core"])
        let tasks = suite.tasks(in: "core")
        #expect(tasks.map(\.name) == Self.expected.keys.sorted())
        for (name, path) in tasks {
            let task = try TaskLoader.load(path)
            #expect(task.name == name)
            #expect(task.docs.count == Self.expected[name]?.count, "\(name)")
            #expect(task.outputType == Self.expected[name]?.type, "\(name)")
            if task.outputType == .multipleChoice {
                // Four choices each, the gold one among them: chance is 25%.
                for doc in task.docs {
                    let choices = try task.choices(doc)
                    #expect(choices.count == 4, "\(doc.location)")
                    #expect((0..<4).contains(try task.gold(doc, choices: choices)), "\(doc.location)")
                }
            }
        }
    }

    @Test func aTaskIsFoundByNameAndAnUnknownOneIsNot() throws {
        let suite = try BuiltinSuite.installed(environment: [:])
        #expect(suite.task(named: "antonyms")?.hasSuffix("/core/antonyms/task.yaml") == true)
        #expect(suite.task(named: "core") == nil)
        #expect(suite.task(named: "antonym") == nil)
    }

    @Test func aSuitesFolderThatIsNotThereIsAnErrorNamingIt() {
        do {
            _ = try BuiltinSuite.installed(environment: ["HEARTH_SUITES": "/no/such/folder"])
            Issue.record("accepted a missing folder")
        } catch {
            #expect(error.message.contains("/no/such/folder"), "\(error.message)")
        }
    }
}
