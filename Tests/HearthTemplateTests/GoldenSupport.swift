import Foundation
import Testing

import HearthTemplate

/// Loads the files in Golden/, written by scripts/make-template-goldens.py with Python's jinja2.
enum Golden {
    static func url(_ name: String) -> URL? {
        Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Golden")
    }

    static func text(_ name: String) -> String {
        guard let url = url(name), let data = try? Data(contentsOf: url) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    /// A JSON golden file, parsed with HearthTemplate's order-preserving reader.
    static func json(_ name: String) -> TemplateValue {
        (try? TemplateValue.parseJSON(text(name))) ?? .none
    }

    /// What `strftime_now` returned when the goldens were made, as a date in the local time zone.
    static let fixedNow: Date = {
        guard case .string(let iso)? = json("cases.json")["strftime_now"] else { return Date(timeIntervalSince1970: 0) }
        let numbers = iso.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        guard numbers.count >= 6 else { return Date(timeIntervalSince1970: 0) }
        var c = DateComponents()
        (c.year, c.month, c.day, c.hour, c.minute, c.second) = (numbers[0], numbers[1], numbers[2], numbers[3], numbers[4], numbers[5])
        return Calendar.current.date(from: c) ?? Date(timeIntervalSince1970: 0)
    }()

    static func options(_ env: TemplateValue?) -> ChatTemplate.Options {
        func flag(_ key: String, _ fallback: Bool) -> Bool {
            if case .bool(let b)? = env?[key] { return b }
            return fallback
        }
        let now = fixedNow
        return ChatTemplate.Options(
            trimBlocks: flag("trim_blocks", true), lstripBlocks: flag("lstrip_blocks", true),
            keepTrailingNewline: flag("keep_trailing_newline", false),
            tojson: env?["tojson"] == .string("jinja2") ? .jinja2 : .huggingFace, now: { now })
    }
}

/// One rendering that jinja2 performed, with its outcome.
struct GoldenCase: Sendable, CustomTestStringConvertible {
    var name: String
    var source: String
    var context: [String: TemplateValue]
    var options: ChatTemplate.Options
    /// The exact output, when jinja2 rendered the case.
    var expected: String?
    /// jinja2's error text, when it failed.
    var error: String?
    /// For `raise_exception` failures: the message the template raised.
    var errorContains: String?

    var testDescription: String { name }

    static func load(_ file: String) -> [GoldenCase] {
        guard case .array(let cases)? = Golden.json(file)["cases"] else { return [] }
        return cases.compactMap { c -> GoldenCase? in
            guard case .string(let name)? = c["name"] else { return nil }
            var source = ""
            if case .string(let s)? = c["source"] { source = s }
            if case .string(let file)? = c["template"] { source = Golden.text(file) }
            var context: [String: TemplateValue] = [:]
            if case .object(let pairs)? = c["context"] { for (k, v) in pairs { context[k] = v } }
            func string(_ key: String) -> String? {
                if case .string(let s)? = c[key] { return s }
                return nil
            }
            return GoldenCase(name: name, source: source, context: context, options: Golden.options(c["environment"]),
                              expected: string("expected"), error: string("error"), errorContains: string("error_contains"))
        }
    }
}

/// Compares byte for byte (Swift's `==` on strings ignores Unicode normalisation differences).
func expectSameBytes(_ actual: String, _ expected: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    if Array(actual.utf8) != Array(expected.utf8) {
        Issue.record("\(what): output differs from jinja2\n--- expected ---\n\(expected.debugDescription)\n--- actual ---\n\(actual.debugDescription)",
                     sourceLocation: sourceLocation)
    }
}

/// Checks one golden case: the same bytes as jinja2, or a failure where jinja2 failed (with the
/// same message for `raise_exception`).
func check(_ c: GoldenCase, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        let template = try ChatTemplate(c.source, options: c.options)
        let output = try template.render(c.context)
        if let expected = c.expected {
            expectSameBytes(output, expected, c.name, sourceLocation: sourceLocation)
        } else {
            Issue.record("\(c.name): rendered \(output.debugDescription) but jinja2 failed with \(c.error ?? "?")",
                         sourceLocation: sourceLocation)
        }
    } catch {
        if c.expected != nil {
            Issue.record("\(c.name): jinja2 rendered it but HearthTemplate failed: \(error)", sourceLocation: sourceLocation)
        } else if let message = c.errorContains {
            #expect(error.kind == .raised, "\(c.name): \(error)", sourceLocation: sourceLocation)
            #expect(error.message.contains(message), "\(c.name): \(error)", sourceLocation: sourceLocation)
        }
    }
}
