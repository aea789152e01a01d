import Foundation
import HearthGGUF
import HearthHub
import HTTPTypes
import Hummingbird

/// The hub's web pages, rendered on the server: `/` lists the models (search, filters, sort),
/// `/{namespace}/{model}` shows one (card, files, versions, GGUF metadata and tensors,
/// lineage, evaluations), `/leaderboard` ranks evaluation results, sortable by any column.
/// Pages carry a Content-Security-Policy that allows no scripts, and a model card's raw HTML
/// is shown as text, so a card cannot run code in a visitor's browser.
struct HubPages {
    let registry: Registry

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/", use: page { request, _ in try list(request) })
        router.get("/leaderboard", use: page { request, _ in try leaderboard(request) })
        router.get("/:namespace/:model", use: page { try model($0, $1) })
    }

    private func page(_ body: @escaping @Sendable (Request, BasicRequestContext) throws -> (title: String, html: String)) -> @Sendable (Request, BasicRequestContext) async throws -> Response {
        { request, context in
            var status = HTTPResponse.Status.ok
            var content: (title: String, html: String)
            do { content = try body(request, context) } catch let e as RegistryError {
                status = .init(code: e.status)
                content = ("Not found", "<h1>\(status.code)</h1><p>\(escape(e.message))</p><p><a href=\"/\">All models</a></p>")
            }
            let html = Self.layout(title: content.title, body: content.html)
            var response = Response(status: status, headers: [.contentType: "text/html; charset=utf-8"],
                                    body: .init(byteBuffer: ByteBuffer(string: html)))
            response.headers[HTTPField.Name("Content-Security-Policy")!] = "default-src 'none'; style-src '\(Self.stylesheetHash)'; img-src 'self' data:; form-action 'self'"
            return response
        }
    }

    /// Pages show what the request may see; a bad token sees what anybody sees.
    private func access(_ request: Request) -> HubAccess { (try? registry.access(request)) ?? .anonymous }

    // MARK: the list

    func list(_ request: Request) throws -> (String, String) {
        let q = request.uri.queryParameters
        let search = q.get("q") ?? "", author = q.get("author") ?? "", tag = q.get("tag") ?? "", license = q.get("license") ?? ""
        let sort = q.get("sort") ?? "downloads"
        var repositories = try registry.repositories(visibleTo: access(request))
        let all = repositories
        if !search.isEmpty { repositories = repositories.filter { $0.id.localizedCaseInsensitiveContains(search) } }
        if !author.isEmpty { repositories = repositories.filter { $0.namespace == author } }
        if !tag.isEmpty { repositories = repositories.filter { tags(of: $0).contains(tag) } }
        if !license.isEmpty { repositories = repositories.filter { $0.card?.license == license } }
        repositories.sort {
            switch sort {
            case "likes": ($0.likes, $1.id) > ($1.likes, $0.id)
            case "updated": $0.lastModified > $1.lastModified
            case "created": $0.createdAt > $1.createdAt
            default: ($0.downloads, $1.id) > ($1.downloads, $0.id)
            }
        }
        func options(_ values: [String], _ selected: String, all label: String) -> String {
            "<option value=\"\">\(label)</option>" + values.map { "<option\($0 == selected ? " selected" : "")>\(escape($0))</option>" }.joined()
        }
        let authors = Set(all.map(\.namespace)).sorted()
        let allTags = Set(all.flatMap(tags)).sorted()
        let licenses = Set(all.compactMap { $0.card?.license }).sorted()
        let sorts = [("downloads", "Most downloads"), ("likes", "Most likes"), ("updated", "Recently updated"), ("created", "Newest")]
        var html = """
            <h1>Models <span class="count">\(repositories.count) of \(all.count)</span></h1>
            <form class="filters" method="get" action="/">
              <input type="search" name="q" value="\(escape(search))" placeholder="Search models">
              <select name="author">\(options(authors, author, all: "Any author"))</select>
              <select name="tag">\(options(allTags, tag, all: "Any tag"))</select>
              <select name="license">\(options(licenses, license, all: "Any license"))</select>
              <select name="sort">\(sorts.map { "<option value=\"\($0.0)\"\($0.0 == sort ? " selected" : "")>\($0.1)</option>" }.joined())</select>
              <button type="submit">Filter</button>
            </form>
            <ul class="models">
            """
        for r in repositories {
            html += """
                <li><a class="name" href="/\(escape(r.id))">\(escape(r.id))</a>\(r.isPrivate ? " <span class=\"badge private\">private</span>" : "")
                <div class="meta">\(tags(of: r).prefix(8).map { "<span class=\"badge\">\(escape($0))</span>" }.joined(separator: " "))</div>
                <div class="stats">⬇ \(r.downloads) · ♥ \(r.likes) · updated \(escape(day(r.lastModified))) · \(r.tags.count) version\(r.tags.count == 1 ? "" : "s")</div></li>
                """
        }
        if repositories.isEmpty { html += "<li class=\"empty\">No model matches.</li>" }
        return ("Models", html + "</ul>")
    }

    /// The words a repository can be filtered by: architecture, quantization, card tags.
    private func tags(of r: Registry.RepositorySummary) -> [String] {
        let config = try? JSONDecoder().decode(ModelConfig.self, from: registry.store.readBlob(r.head.manifest.config.digest))
        return [config?.model_family, config?.file_type, config?.model_type].compactMap { $0 } + (r.card?.tags ?? []) + (r.card?.languages ?? [])
    }

    // MARK: one model

    func model(_ request: Request, _ context: BasicRequestContext) throws -> (String, String) {
        let access = access(request)
        let name = try registry.readable(try context.parameters.require("namespace"), try context.parameters.require("model"), access)
        let visible = try registry.repositories(visibleTo: access)
        guard let r = visible.first(where: { $0.namespace == name.namespace && $0.model == name.model }) else {
            throw RegistryError(404, "NAME_UNKNOWN", "no repository \(name.repository) on this hub")
        }
        let tag = request.uri.queryParameters.get("tag") ?? r.head.name.tag
        let manifest = try registry.manifest(name, reference: tag)
        let revisions = (try? registry.database.revisions(namespace: name.namespace, name: name.model)) ?? []
        let revision = revisions.first { $0.tag == tag }
        let files = Registry.files(of: manifest.manifest)
        let modelFile = files.first { $0.name == "model.gguf" }
        let gguf = modelFile.flatMap { try? GGUFFile(path: registry.store.blobPath($0.blob.digest)) }
        let host = request.head.authority ?? "HUB"

        var html = "<h1>\(escape(r.id))\(r.isPrivate ? " <span class=\"badge private\">private</span>" : "")</h1>"
        html += "<div class=\"meta\">" + (tags(of: r) + (revision?.license.map { ["license: \($0)"] } ?? [])).map { "<span class=\"badge\">\(escape($0))</span>" }.joined(separator: " ") + "</div>"
        html += "<div class=\"stats\">⬇ \(r.downloads) downloads · ♥ \(r.likes) likes · updated \(escape(day(r.lastModified)))</div>"
        html += "<pre class=\"pull\">hearth pull \(escape(host))/\(escape(r.id)):\(escape(tag))</pre>"
        html += "<nav class=\"toc\"><a href=\"#card\">Model card</a> <a href=\"#files\">Files</a> <a href=\"#versions\">Versions</a> <a href=\"#lineage\">Lineage</a> <a href=\"#evals\">Evaluations</a> <a href=\"#gguf\">GGUF metadata</a> <a href=\"#tensors\">Tensors</a></nav>"

        // The card.
        html += "<section id=\"card\"><h2>Model card</h2>"
        if let readme = files.first(where: { $0.name == "README.md" }),
           let text = String(data: (try? registry.store.readBlob(readme.blob.digest)) ?? Data(), encoding: .utf8) {
            let card = try? ModelCard(parsing: text)
            html += "<article class=\"card\">\(Self.markdown(card?.body ?? text))</article>"
        } else {
            html += "<p class=\"empty\">This model has no card. Add one with a README line in its Modelfile.</p>"
        }
        html += "</section>"

        // Files and versions.
        html += "<section id=\"files\"><h2>Files <span class=\"count\">at \(escape(tag))</span></h2><table><tr><th>File</th><th>Size</th><th>sha256</th></tr>"
        for f in files {
            html += "<tr><td><a href=\"/\(escape(r.id))/resolve/\(escape(tag))/\(escape(f.name))\">\(escape(f.name))</a></td><td>\(bytes(f.blob.size))</td><td><code title=\"\(f.blob.digest.hex)\">\(f.blob.digest.short)</code></td></tr>"
        }
        html += "</table></section>"
        html += "<section id=\"versions\"><h2>Versions</h2><table><tr><th>Tag</th><th>Commit</th><th>Updated</th><th>Size</th></tr>"
        for t in r.tags {
            guard let m = try? registry.manifest(name, reference: t) else { continue }
            html += "<tr><td><a href=\"/\(escape(r.id))?tag=\(escape(t))\">\(escape(t))</a>\(t == tag ? " ◀" : "")</td><td><code>\(Registry.commit(of: m).prefix(12))</code></td><td>\(escape(day(m.modified)))</td><td>\(bytes(m.totalSize))</td></tr>"
        }
        html += "</table></section>"

        // Lineage, by digest.
        html += "<section id=\"lineage\"><h2>Lineage</h2>"
        if let digest = modelFile?.blob.digest.description {
            // Only relatives the viewer may read: a private child or parent is not named.
            let readable = Set(visible.map(\.id))
            let parents = (revision?.parentDigest.map { (try? registry.database.revisions(modelDigest: $0)) ?? [] } ?? []).filter { readable.contains($0.repository) }
            let children = ((try? registry.database.revisions(parentDigest: digest)) ?? []).filter { readable.contains($0.repository) }
            html += "<p>This model: <code>\(escape(digest))</code></p>"
            if let parentDigest = revision?.parentDigest {
                html += "<p>Made from <code>\(escape(parentDigest))</code>" + (parents.isEmpty ? " (not on this hub)" : ":") + "</p>"
                html += links(parents)
            } else if !(revision?.baseModels ?? []).isEmpty {
                html += "<p>Base model (from its card): " + (revision?.baseModels ?? []).map { "<code>\(escape($0))</code>" }.joined(separator: ", ") + "</p>"
            } else {
                html += "<p class=\"empty\">No parent is recorded.</p>"
            }
            html += children.isEmpty ? "<p class=\"empty\">No model on this hub is made from it.</p>" : "<p>Made from it:</p>" + links(children)
        }
        html += "</section>"

        // Evaluation results of this file.
        html += "<section id=\"evals\"><h2>Evaluations</h2>"
        let board = try modelFile.map { try EvalController.leaderboard(registry, access: access, modelDigest: $0.blob.digest.description) }
        if let board, !board.entries.isEmpty {
            html += "<table><tr><th>Result</th><th>Task</th><th>Metric</th><th>Value</th><th>Hub's run</th></tr>"
            for e in board.entries {
                let rows = e.scores.sorted { $0.key < $1.key }
                for (i, (task, score)) in rows.enumerated() {
                    html += "<tr>"
                    if i == 0 {
                        html += "<td rowspan=\"\(rows.count)\"><a href=\"/leaderboard#eval-\(e.id)\">#\(e.id)</a> \(Self.reproductionBadge(e))<div class=\"stats\">\(escape(e.setup))<br>by \(escape(e.submitter)) (<code>\(escape(e.key))</code>), \(escape(day(e.created)))</div></td>"
                    }
                    html += "<td>\(escape(task))</td><td>\(escape(score.metric))</td><td>\(score.formatted(score.value))\(score.stderr.map { " ± " + score.formatted($0) } ?? "")</td><td>\(score.reproduced.map { score.formatted($0) } ?? "")</td></tr>"
                }
            }
            html += "</table>"
        } else {
            html += "<p class=\"empty\">No evaluation of this file yet. Push one with hearth eval MODEL --tasks ... --push \(escape(host)).</p>"
        }
        html += "</section>"

        // The GGUF file.
        if let gguf {
            html += "<section id=\"gguf\"><h2>GGUF metadata</h2><p>GGUF v\(gguf.version), \(gguf.parameterSizeLabel) parameters (\(gguf.parameterCount)), \(escape(gguf.fileTypeName ?? gguf.predominantTypeName)), \(gguf.tensors.count) tensors, \(bytes(gguf.fileSize))</p><table><tr><th>Key</th><th>Type</th><th>Value</th></tr>"
            for key in gguf.metadataKeys {
                guard let value = gguf.metadata[key] else { continue }
                html += "<tr><td><code>\(escape(key))</code></td><td>\(escape(value.type.name))</td><td class=\"value\">\(escape(value.render(maxItems: 6, maxChars: 120)))</td></tr>"
            }
            html += "</table></section><section id=\"tensors\"><h2>Tensors</h2><details><summary>\(gguf.tensors.count) tensors</summary><table><tr><th>Name</th><th>Type</th><th>Shape</th><th>Size</th></tr>"
            for t in gguf.tensors {
                html += "<tr><td><code>\(escape(t.name))</code></td><td>\(escape(t.type.description))</td><td>[\(t.shape.map(String.init).joined(separator: ", "))]</td><td>\(bytes(t.byteCount))</td></tr>"
            }
            html += "</table></details></section>"
        }
        return (r.id, html)
    }

    // MARK: the leaderboard

    func leaderboard(_ request: Request) throws -> (String, String) {
        let board = try EvalController.leaderboard(registry, access: access(request))
        let sort: String = request.uri.queryParameters.get("sort") ?? "average"
        let entries = LeaderboardEntry.sorted(board.entries, by: sort)
        func header(_ key: String, _ label: String, _ detail: String) -> String {
            // Long task names may break after '_' and ':'.
            let breakable = escape(label).replacingOccurrences(of: "_", with: "_<wbr>").replacingOccurrences(of: ":", with: ":<wbr>")
            return "<th><a href=\"/leaderboard?sort=\(escape(key.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? key))\">\(breakable)</a>\(key == sort ? " ▼" : "")<div class=\"stats\">\(escape(detail))</div></th>"
        }
        var html = """
            <h1>Leaderboard <span class="count">\(entries.count) result\(entries.count == 1 ? "" : "s")</span></h1>
            <p class="stats">Each result names the exact model file it measured (sha256) and is signed with the Ed25519 key of the
            Hearth instance that ran it. \(Self.reproductionBadge(nil, "reproduced")) the hub ran it again and got the same scores;
            \(Self.reproductionBadge(nil, "differs")) it got others; \(Self.reproductionBadge(nil, "cannot")) it lacks a task file;
            \(Self.reproductionBadge(nil, "unchecked")) not tried. Click a column to sort by it.</p>
            """
        guard !entries.isEmpty else {
            return ("Leaderboard", html + "<p class=\"empty\">No results yet. Push one with hearth eval MODEL --tasks ... --push HUB.</p>")
        }
        html += "<div class=\"scroll\"><table class=\"board\"><tr><th>#</th><th>Model</th>" + header("average", "Average", "accuracy")
        for task in board.tasks {
            let metric = entries.compactMap { $0.scores[task]?.metric }.first ?? ""
            html += header(task, task, metric)
        }
        html += "<th>Setup</th><th>Checked</th><th>By</th></tr>"
        for (rank, e) in entries.enumerated() {
            let links: [String] = e.models.map { name in
                let repository = String(name.prefix { $0 != ":" }), tag = String(name.drop { $0 != ":" }.dropFirst())
                return "<a href=\"/\(escape(repository))?tag=\(escape(tag))#evals\">\(escape(name))</a>"
            }
            html += "<tr id=\"eval-\(e.id)\"><td>\(rank + 1)</td><td>" + links.joined(separator: "<br>")
            html += "<div class=\"stats\">\(escape(e.modelType)) · <code>\(escape(String(e.modelDigest.prefix(19))))…</code></div></td>"
            html += "<td class=\"num\">\(e.average.map { String(format: "%.1f", $0 * 100) } ?? "")</td>"
            for task in board.tasks {
                guard let s = e.scores[task] else { html += "<td></td>"; continue }
                html += "<td class=\"num\">\(s.formatted(s.value))\(s.reproduced.map { "<div class=\"stats\">hub: \(s.formatted($0))</div>" } ?? "")</td>"
            }
            html += "<td>\(escape(e.setup))</td><td title=\"\(escape(e.reproductionDetail ?? ""))\">\(Self.reproductionBadge(e))</td>"
            html += "<td>\(escape(e.submitter))<div class=\"stats\"><code>\(escape(e.key))</code><br>\(escape(day(e.created)))</div></td></tr>"
        }
        return ("Leaderboard", html + "</table></div>")
    }

    static func reproductionBadge(_ entry: LeaderboardEntry?, _ state: String? = nil) -> String {
        switch state ?? entry?.reproduction ?? "" {
        case "reproduced": "<span class=\"badge ok\">✓ reproduced</span>"
        case "differs": "<span class=\"badge private\">✗ differs</span>"
        case "cannot": "<span class=\"badge\">cannot reproduce</span>"
        default: "<span class=\"badge\">not checked</span>"
        }
    }

    private func links(_ revisions: [HubDatabase.Revision]) -> String {
        "<ul>" + revisions.map { "<li><a href=\"/\(escape($0.repository))?tag=\(escape($0.tag))\">\(escape($0.repository)):\(escape($0.tag))</a></li>" }.joined() + "</ul>"
    }

    /// A card's Markdown as HTML (Markdown.swift: linear, escaped, only http(s) and relative links).
    static func markdown(_ text: String) -> String { Markdown.html(text) }

    /// The pages' one style sheet. The Content-Security-Policy allows it by its sha256 and no
    /// other style: no `style` attribute a card might smuggle in takes effect.
    static let stylesheet = """
        body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
        header{background:#22283a;color:#fff;padding:12px 24px}header a{color:#fff;text-decoration:none;font-weight:600}
        main{max-width:1040px;margin:24px auto;padding:0 24px}
        h1{font-size:26px;margin:8px 0}h2{font-size:19px;border-bottom:1px solid #dde1e8;padding-bottom:4px;margin-top:32px}
        .count{color:#6b7385;font-size:15px;font-weight:400}
        .filters{display:flex;gap:8px;flex-wrap:wrap;margin:12px 0 20px}.filters input{flex:1;min-width:200px}
        input,select,button{font:inherit;padding:6px 8px;border:1px solid #c8cdd8;border-radius:6px;background:#fff}
        button{background:#2f6fde;color:#fff;border-color:#2f6fde}
        ul.models{list-style:none;padding:0}ul.models li{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:12px 16px;margin-bottom:10px}
        a{color:#2f6fde}.name{font-weight:600;font-size:17px}
        .badge{display:inline-block;background:#eef1f6;border-radius:10px;padding:1px 8px;font-size:12px;color:#3b4358;margin:2px 0}
        .badge.private{background:#fde8e8;color:#a32121}.stats{color:#6b7385;font-size:13px;margin-top:4px}
        .pull{background:#22283a;color:#e8ecf5;padding:10px 14px;border-radius:6px;overflow:auto}
        .toc a{margin-right:12px}table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
        td,th{border:1px solid #dde1e8;padding:4px 8px;text-align:left;vertical-align:top}td.value{word-break:break-all}
        .card{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:4px 20px}.empty{color:#6b7385}
        header a.nav{font-weight:400;margin-left:18px}.badge.ok{background:#e3f4e6;color:#1d6b30}td.num{text-align:right}
        .board th a{color:#1d2330}.scroll{overflow-x:auto}
        code{font-size:12px}.card pre{background:#f0f2f6;padding:8px 12px;border-radius:6px;overflow:auto}
        """
    static let stylesheetHash = "sha256-" + Data(Digest.of(Data(stylesheet.utf8)).bytes).base64EncodedString()

    static func layout(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title)) · Hearth Hub</title>
        <style>\(stylesheet)</style></head>
        <body><header><a href="/">Hearth Hub</a> <a class="nav" href="/">Models</a> <a class="nav" href="/leaderboard">Leaderboard</a></header><main>
        \(body)
        </main></body></html>
        """
    }
}

/// Text made safe for HTML, in an element or a quoted attribute.
func escape(_ s: String) -> String { Markdown.escape(s) }

private func day(_ date: Date) -> String { String(date.formatted(.iso8601).prefix(10)) }

private func bytes(_ n: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n), u = 0
    while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
    return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
}
