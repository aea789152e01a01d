import Foundation
import HearthServer
import Testing

/// The card renderer against HTML written here by hand from CommonMark's rules, the injection
/// cases of the security review, and inputs that make backtracking parsers take for ever.
@Suite("Model card Markdown")
struct MarkdownTests {
    @Test("blocks and inline elements, as CommonMark renders them")
    func rendering() {
        let card = """
            # Title *here*

            A **small** model with `code` and a [link](https://example.com/a?b=1&c=2).
            Second line, snake_case_name stays.

            - one
            - two _em_

            1. first
            2. second

            > quoted

            ```
            <b>raw</b> *not emphasis*
            ```

            | a | b |
            |---|---|
            | 1 | **2** |

            ---
            ![logo](/logo.png) <https://example.org>
            """
        let expected = """
            <h1>Title <em>here</em></h1>
            <p>A <strong>small</strong> model with <code>code</code> and a <a href="https://example.com/a?b=1&amp;c=2" rel="nofollow noopener">link</a>.
            Second line, snake_case_name stays.</p>
            <ul>
            <li>one</li>
            <li>two <em>em</em></li>
            </ul>
            <ol>
            <li>first</li>
            <li>second</li>
            </ol>
            <blockquote><p>quoted</p></blockquote>
            <pre><code>&lt;b&gt;raw&lt;/b&gt; *not emphasis*</code></pre>
            <table>
            <tr><th>a</th><th>b</th></tr>
            <tr><td>1</td><td><strong>2</strong></td></tr>
            </table>
            <hr>
            <p><img src="/logo.png" alt="logo"> <a href="https://example.org" rel="nofollow noopener">https://example.org</a></p>

            """
        #expect(Markdown.html(card) == expected)
    }

    @Test("raw HTML is text; script URLs in any spelling are not links; attributes cannot be closed")
    func injection() {
        #expect(Markdown.html("<script>alert(1)</script>") == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n")
        for url in ["javascript:alert(1)", "&#106;avascript:alert(1)", "java\tscript:alert(1)", "javascript&colon;alert(1)",
                    "JaVaScRiPt:alert(1)", "&#x6A;avascript:alert(1)", "%6Aavascript:alert(1)", "data:text/html,x", "vbscript:x"] {
            let html = Markdown.html("[click](\(url)) ![img](\(url))")
            #expect(!html.contains("href") && !html.contains("src="), "\(url): \(html)")
        }
        let html = Markdown.html("[x](http://a\"style=\"position:fixed;top:0)")
        #expect(!html.contains("\"style=") && html.contains("&quot;style=&quot;"), "\(html)")
        let alt = Markdown.html("![a\" onerror=\"x](/i.png)")
        #expect(alt.contains("alt=\"a&quot; onerror=&quot;x\""), "\(alt)")
    }

    @Test("pathological inputs render in time linear in their size")
    func linear() {
        let started = Date()
        for unit in ["[", "<", "[a](", "*", "**", "_", "![", "`", "*a ", "[](", "**a *b ", "_a "] {
            // After an "x", so that no line is a rule or a fence: all of it is inline text.
            let text = "x" + String(repeating: unit, count: 100_000)
            let html = Markdown.html(text)
            #expect(html.count >= text.count, "\(unit): \(html.prefix(80))")
        }
        // 1.2 million characters: linear rendering takes well under a second each, a
        // quadratic parser hours. The bound only catches the latter, even on a loaded machine.
        #expect(Date().timeIntervalSince(started) < 60)
    }
}
