import ArgumentParser
import Foundation
import HearthHub

struct LeaderboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leaderboard",
        abstract: "Show a hub's leaderboard of evaluation results, or push a report to it.",
        discussion: """
        Every result names the exact model file it measured (sha256) and is signed
        by the Hearth instance that ran it. The checked column says whether the hub
        ran it again and got the same scores (hearth hub serve --reproduce).
          hearth leaderboard localhost:8080
          hearth leaderboard localhost:8080 --sort navigate
          hearth leaderboard localhost:8080 --submit hearth-eval/smollm2
        """)

    @Argument(help: "The hub: HOST[:PORT], such as localhost:8080.")
    var hub: String
    @Option(help: ArgumentHelp("Sort by `average` or by a task's score (best first).", valueName: "average|TASK"))
    var sort = "average"
    @Option(help: ArgumentHelp("Sign the report in this folder (results.json of hearth eval) and push it.", valueName: "DIR"))
    var submit: String?
    @Flag(help: "Print the hub's answer as JSON.")
    var json = false
    @Flag(help: "Use http even for a hub that is not on this machine.")
    var insecure = false

    func run() async throws {
        if let submit {
            try await ReportDestination(hub, insecure: insecure).push(from: submit)
            return
        }
        let target = try hubAddress(hub, insecure: insecure)
        let token = HubCredentials(store: openStore()).token(for: target.name.host)
        let board: Leaderboard
        do { board = try await HubClient(store: openStore()).leaderboard(baseURL: target.baseURL, token: token) } catch { throw CLIError(error.message) }
        if json {
            print(String(decoding: try Leaderboard.encoder.encode(board), as: UTF8.self))
            return
        }
        guard !board.entries.isEmpty else {
            print("no results on \(target.name.host) yet; push one with hearth eval MODEL --tasks ... --push \(target.name.host)")
            return
        }
        guard sort == "average" || board.tasks.contains(sort) else {
            throw CLIError("no task '\(sort)' on the leaderboard; sort by average or one of: \(board.tasks.joined(separator: ", "))")
        }
        print(Self.table(board, sortedBy: sort))
    }

    /// The board as aligned columns: rank, model, average, each task, check, setup, submitter.
    /// When the task names would make it wider than `width`, the task columns are headed
    /// t1, t2, ... with a legend below.
    static func table(_ board: Leaderboard, sortedBy sort: String, width: Int = 160) -> String {
        let entries = LeaderboardEntry.sorted(board.entries, by: sort)
        func metric(_ task: String) -> String { entries.compactMap { $0.scores[task]?.metric }.first ?? "?" }
        var body: [[String]] = []
        for (rank, e) in entries.enumerated() {
            var row = ["\(rank + 1)", e.models.first.map { $0 + (e.models.count > 1 ? " (+\(e.models.count - 1))" : "") } ?? "?",
                       e.average.map { String(format: "%.1f", $0 * 100) } ?? "-"]
            for task in board.tasks { row.append(e.scores[task].map { $0.formatted($0.value) } ?? "-") }
            row += [e.reproduction, e.setup, "\(e.submitter) \(e.key)", "\(e.id)"]
            // What the hub sent is shown, not obeyed: control characters become '?'.
            body.append(row.map { cell in String(cell.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) }) })
        }
        func render(_ taskHeaders: [String]) -> [String] {
            let rows = [["#", "model", "average"] + taskHeaders + ["checked", "setup", "by", "id"]] + body
            let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
            let numeric = Set(2..<(3 + board.tasks.count))
            return rows.map { row in
                row.indices.map { pad(row[$0], widths[$0], right: numeric.contains($0)) }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
            }
        }
        var lines = render(board.tasks)
        var legend = board.tasks.map { "\($0): \(metric($0))" }
        if (lines.map { $0.count }.max() ?? 0) > width {
            let keys = board.tasks.indices.map { "t\($0 + 1)" }
            lines = render(keys)
            legend = zip(keys, board.tasks).map { "\($0) \($1) (\(metric($1)))" }
        }
        lines.append("")
        lines.append("Accuracies in %, perplexities as they are. Tasks: " + legend.joined(separator: ", ") + ".")
        return lines.joined(separator: "\n")
    }
}

/// A hub to push evaluation reports to, checked before any work: its address, a token kept
/// by hearth login, and this instance's signing key.
struct ReportDestination {
    let reference: HubReference
    let token: String
    let key: InstanceKey

    init(_ hub: String, insecure: Bool) throws {
        reference = try hubAddress(hub, insecure: insecure)
        let store = openStore()
        guard let token = HubCredentials(store: store).token(for: reference.name.host) else {
            throw CLIError("not logged in to \(reference.name.host); log in first with hearth login \(reference.name.host) --user NAME")
        }
        self.token = token
        key = try wrap { () throws(HubError) in try InstanceKey(store: store) }
    }

    /// Signs `directory`/results.json, exactly as written, and sends it.
    func push(from directory: String) async throws {
        let path = (directory as NSString).expandingTildeInPath + "/results.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("no report at \(path): give the --output folder of hearth eval")
        }
        let signed = try wrap { () throws(HubError) in try SignedReport(signing: String(decoding: data, as: UTF8.self), with: key) }
        let receipt: HubClient.EvalReceipt
        do { receipt = try await HubClient(store: openStore()).pushEval(signed, baseURL: reference.baseURL, token: token) } catch {
            throw CLIError("\(error.message) (the report stays in \(directory); push it again with hearth leaderboard \(reference.name.host) --submit \(directory))")
        }
        let hub = reference.name.host
        print("\(receipt.isNew ? "pushed" : "already on the hub:") result \(receipt.id) for \(receipt.models.joined(separator: ", ")), signed with \(key.fingerprint); see \(reference.baseURL)\(receipt.url) or hearth leaderboard \(hub)")
    }
}
