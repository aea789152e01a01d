import Foundation
import HearthEval
import HearthHub
import HTTPTypes
import Hummingbird

/// The leaderboard's API:
/// - `POST /api/evals` takes a signed evaluation report (`SignedReport`) from a user with a
///   write token. The hub checks the Ed25519 signature over the exact report bytes, that the
///   report is one `hearth eval` writes, and that the model file it measured (its sha256) is
///   one of the hub's models the user may see; then keeps it (201, or 200 for a result it
///   already has from the same key, timings aside) and wakes the reproducer, if the hub runs one.
/// - `GET /api/evals/{id}` gives the signed report back as it was sent, with its status.
/// - `GET /api/leaderboard` gives every result whose model the caller may see.
/// Errors are the registry's `{"errors": [{"code", "message"}]}`.
struct EvalController {
    let registry: Registry
    let reproducer: EvalReproducer?

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/api/evals", use: RegistryController.guarded(submit))
        router.get("/api/evals/:id", use: RegistryController.guarded(result))
        router.get("/api/leaderboard", use: RegistryController.guarded { request, _ in
            let board = try Self.leaderboard(registry, access: registry.access(request))
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: try Leaderboard.encoder.encode(board))))
        })
    }


    func submit(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard case .user(let user, let scope) = try registry.access(request) else {
            throw RegistryError.unauthorized("pushing a result needs a write token (hearth login)")
        }
        guard scope == .write else { throw RegistryError.denied("the token is read-only; pushing a result needs a write token") }
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: 16 << 20) } catch {
            throw RegistryError(413, "SIZE_INVALID", "a result is at most 16 MiB")
        }
        let signed: SignedReport
        do { signed = try JSONDecoder().decode(SignedReport.self, from: Data(buffer: body)) } catch {
            throw RegistryError(400, "BODY_INVALID", "the body is not a signed report: JSON with report, public_key and signature (\(Self.reason(error)))")
        }
        if let problem = signed.signatureProblem() { throw RegistryError(422, "SIGNATURE_INVALID", problem) }
        let report: EvalReport
        do { report = try EvalReport.decode(Data(signed.report.utf8)) } catch {
            throw RegistryError(422, "REPORT_INVALID", "the report is not a results.json of hearth eval (\(Self.reason(error)))")
        }
        if let problem = report.problem { throw RegistryError(422, "REPORT_INVALID", "the report: \(problem)") }
        let digest: Digest
        do { digest = try Digest(parsing: report.model.digest) } catch {
            throw RegistryError(422, "REPORT_INVALID", "the report's model digest: \(error.message)")
        }
        let access = HubAccess.user(user, scope)
        let models = try Self.models(registry, digest: digest.description, access: access)
        guard !models.isEmpty else {
            throw RegistryError(422, "MODEL_UNKNOWN", "the model the report measured (\(digest)) is not on this hub; push it first (hearth push)")
        }
        // The same key's same outcome (a run pushed again, or re-run from its cache) is one result.
        let outcomeKey = Digest.of(Data((signed.publicKey + "\n" + report.outcomeDigest).utf8)).hex
        let (id, isNew) = try wrap { () throws(HubError) in
            try registry.database.addEvalResult(signed, modelDigest: digest.description, submitter: user, outcomeKey: outcomeKey)
        }
        if isNew { reproducer?.wake() }
        struct Receipt: Encodable {
            let id: Int
            let is_new: Bool
            let models: [String]
            let url: String
        }
        return JSON.response(Receipt(id: id, is_new: isNew, models: models, url: "/leaderboard#eval-\(id)"), status: isNew ? .created : .ok)
    }

    func result(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let access = try registry.access(request)
        guard let id = Int(try context.parameters.require("id")),
              let result = try wrap({ () throws(HubError) in try registry.database.evalResult(id: id) }),
              !(try Self.models(registry, digest: result.modelDigest, access: access)).isEmpty else {
            throw RegistryError(404, "NOT_FOUND", "no evaluation result \(context.parameters.get("id") ?? "") on this hub")
        }
        struct Body: Encodable {
            let id: Int
            let report: String
            let public_key: String
            let signature: String
            let submitter: String
            let reproduction: String
            let reproduction_detail: String?
            let reproduced_report: String?
        }
        return JSON.response(Body(id: id, report: result.signed.report, public_key: result.signed.publicKey, signature: result.signed.signature,
                                  submitter: result.submitter, reproduction: result.reproduction.rawValue,
                                  reproduction_detail: result.reproductionDetail, reproduced_report: result.reproducedReport))
    }

    // MARK: building the board

    /// The `namespace/model:tag`s whose model file is `digest`, among the repositories `access`
    /// may read.
    static func models(_ registry: Registry, digest: String, access: HubAccess) throws(RegistryError) -> [String] {
        let revisions: [HubDatabase.Revision]
        do { revisions = try registry.database.revisions(modelDigest: digest) } catch { throw RegistryError(500, "UNKNOWN", error.message) }
        return revisions.filter { (try? registry.readable($0.namespace, $0.name, access)) != nil }.map { "\($0.repository):\($0.tag)" }
    }

    /// Every result whose model `access` may see, newest first; or only those of one model file.
    /// A column is a task name; when results ran different files under one name, each file is
    /// a column of its own, `name (first 8 hex digits of its sha256)`, so that only runs of
    /// the same file share a column. (Results of a model file no longer named by any
    /// repository are not shown.)
    static func leaderboard(_ registry: Registry, access: HubAccess, modelDigest: String? = nil) throws(RegistryError) -> Leaderboard {
        let results: [HubDatabase.EvalResult]
        do { results = try registry.database.evalResults(modelDigest: modelDigest) } catch { throw RegistryError(500, "UNKNOWN", error.message) }
        var visible: [(result: HubDatabase.EvalResult, report: EvalReport, models: [String])] = []
        for result in results.reversed() {
            let models = try models(registry, digest: result.modelDigest, access: access)
            guard !models.isEmpty, let report = try? EvalReport.decode(Data(result.signed.report.utf8)) else { continue }
            visible.append((result, report, models))
        }
        var files: [String: Set<String>] = [:]
        for v in visible { for t in v.report.tasks { files[t.task, default: []].insert(t.fileDigest) } }
        func column(_ t: TaskResult) -> String {
            (files[t.task]?.count ?? 0) > 1 ? "\(t.task) (\(t.fileDigest.dropFirst(7).prefix(8)))" : t.task
        }
        var entries: [LeaderboardEntry] = []
        for (result, report, models) in visible {
            let hubRun = result.reproducedReport.flatMap { try? EvalReport.decode(Data($0.utf8)) }
            var scores: [String: LeaderboardEntry.Score] = [:]
            for task in report.tasks {
                guard let metric = EvalReport.headline(task), let value = task.metrics[metric] else { continue }
                let measured = hubRun?.tasks.first { $0.fileDigest == task.fileDigest && $0.task == task.task }?.metrics[metric]?.value
                scores[column(task)] = .init(metric: metric, value: value.value, stderr: value.stderr, reproduced: measured)
            }
            entries.append(LeaderboardEntry(
                id: result.id, models: models, modelDigest: result.modelDigest, modelType: report.model.type, parameters: report.model.parameters,
                submitter: result.submitter, key: result.signed.fingerprint, average: report.average, scores: scores, setup: report.setup,
                hearthVersion: report.hearthVersion, reproduction: result.reproduction.rawValue, reproductionDetail: result.reproductionDetail,
                created: result.createdAt))
        }
        return Leaderboard(tasks: Set(entries.flatMap { $0.scores.keys }).sorted(), entries: entries)
    }

    private static func reason(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let c): "no \((c.codingPath + [key]).map(\.stringValue).joined(separator: "."))"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c), DecodingError.dataCorrupted(let c):
            c.codingPath.isEmpty ? c.debugDescription : "at \(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"
        default: "\(error)"
        }
    }

    private func wrap<T>(_ body: () throws(HubError) -> T) throws(RegistryError) -> T {
        do { return try body() } catch { throw RegistryError(500, "UNKNOWN", error.message) }
    }
}
