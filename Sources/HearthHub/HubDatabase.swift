import Foundation
import GRDB
import HummingbirdBcrypt

/// A hub's metadata in one SQLite file: users (bcrypt passwords), access tokens (stored as
/// their sha256, with a read or write scope), repositories (owner namespace, private flag,
/// download count), revisions, likes, organisations, and signed evaluation results.
public final class HubDatabase: Sendable {
    private let queue: DatabaseQueue

    public enum Scope: String, Sendable, Codable { case read, write }

    public struct Repository: Sendable, Equatable {
        public let namespace: String
        public let name: String
        public let isPrivate: Bool
        public let downloads: Int
        public let createdAt: Date
    }

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    public init(path: String) throws(HubError) {
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            queue = try DatabaseQueue(path: path, configuration: configuration)
            var migrator = DatabaseMigrator()
            migrator.registerMigration("v1") { db in
                try db.execute(sql: """
                    CREATE TABLE users (
                        name TEXT PRIMARY KEY NOT NULL,
                        password_hash TEXT NOT NULL,
                        created_at DATETIME NOT NULL);
                    CREATE TABLE tokens (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
                        token_sha256 TEXT NOT NULL UNIQUE,
                        scope TEXT NOT NULL CHECK (scope IN ('read', 'write')),
                        label TEXT NOT NULL,
                        created_at DATETIME NOT NULL);
                    CREATE TABLE repositories (
                        namespace TEXT NOT NULL,
                        name TEXT NOT NULL,
                        private BOOLEAN NOT NULL DEFAULT 0,
                        downloads INTEGER NOT NULL DEFAULT 0,
                        created_at DATETIME NOT NULL,
                        PRIMARY KEY (namespace, name));
                    """)
            }
            migrator.registerMigration("v2: cards, lineage, likes") { db in
                try db.execute(sql: """
                    CREATE TABLE revisions (
                        namespace TEXT NOT NULL,
                        name TEXT NOT NULL,
                        tag TEXT NOT NULL,
                        model_digest TEXT NOT NULL,
                        parent_digest TEXT,
                        license TEXT,
                        base_models TEXT NOT NULL DEFAULT '[]',
                        tags TEXT NOT NULL DEFAULT '[]',
                        datasets TEXT NOT NULL DEFAULT '[]',
                        languages TEXT NOT NULL DEFAULT '[]',
                        updated_at DATETIME NOT NULL,
                        PRIMARY KEY (namespace, name, tag));
                    CREATE INDEX revisions_model ON revisions(model_digest);
                    CREATE INDEX revisions_parent ON revisions(parent_digest);
                    CREATE TABLE likes (
                        user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
                        namespace TEXT NOT NULL,
                        name TEXT NOT NULL,
                        PRIMARY KEY (user, namespace, name));
                    """)
            }
            migrator.registerMigration("v3: organisations") { db in
                try db.execute(sql: """
                    CREATE TABLE organisations (
                        name TEXT PRIMARY KEY NOT NULL,
                        created_at DATETIME NOT NULL);
                    CREATE TABLE members (
                        organisation TEXT NOT NULL REFERENCES organisations(name) ON DELETE CASCADE,
                        user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
                        PRIMARY KEY (organisation, user));
                    """)
            }
            migrator.registerMigration("v4: evaluation results") { db in
                try db.execute(sql: """
                    CREATE TABLE eval_results (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        model_digest TEXT NOT NULL,
                        submitter TEXT NOT NULL,
                        public_key TEXT NOT NULL,
                        signature TEXT NOT NULL,
                        report TEXT NOT NULL,
                        outcome_key TEXT NOT NULL UNIQUE,
                        reproduction TEXT NOT NULL DEFAULT 'unchecked'
                            CHECK (reproduction IN ('unchecked', 'reproduced', 'differs', 'cannot')),
                        reproduction_detail TEXT,
                        reproduced_report TEXT,
                        created_at DATETIME NOT NULL);
                    CREATE INDEX eval_results_model ON eval_results(model_digest);
                    """)
            }
            try migrator.migrate(queue)
        } catch {
            throw HubError("cannot open the hub database '\(path)': \(error)")
        }
    }

    private func run<T>(_ what: String, _ body: (Database) throws -> T) throws(HubError) -> T {
        do { return try queue.write(body) } catch let e as HubError { throw e } catch {
            throw HubError("the hub database failed to \(what): \(error)")
        }
    }

    // MARK: users and tokens

    /// Whether a user or an organisation has the name (they share the namespaces).
    private static func nameTaken(_ db: Database, _ name: String) throws -> Bool {
        // Without regard to case: Alice, ALICE and alice are one name, not three look-alike users.
        try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE lower(name) = lower(?) UNION SELECT 1 FROM organisations WHERE lower(name) = lower(?)",
                          arguments: [name, name]) == true
    }

    public func addUser(_ name: String, password: String) throws(HubError) {
        _ = try ModelName(namespace: name, model: "x")  // a user name is a namespace
        guard password.utf8.count >= 8 else { throw HubError("a password needs at least 8 characters") }
        let hash = Bcrypt.hash(password, cost: 10)
        try run("add the user") { db in
            if try Self.nameTaken(db, name) { throw HubError("the name '\(name)' is taken by a user or an organisation (names are compared without regard to case)") }
            try db.execute(sql: "INSERT INTO users (name, password_hash, created_at) VALUES (?, ?, ?)", arguments: [name, hash, Date()])
        }
    }

    /// A new organisation: a namespace its members may push to, and whose private models
    /// they may read.
    public func addOrganisation(_ name: String, members: [String]) throws(HubError) {
        _ = try ModelName(namespace: name, model: "x")
        try run("add the organisation") { db in
            if try Self.nameTaken(db, name) { throw HubError("the name '\(name)' is taken by a user or an organisation") }
            try db.execute(sql: "INSERT INTO organisations (name, created_at) VALUES (?, ?)", arguments: [name, Date()])
        }
        for m in members { try setMember(m, of: name, true) }
    }

    public func setMember(_ user: String, of organisation: String, _ member: Bool) throws(HubError) {
        try run("change the membership") { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM organisations WHERE name = ?", arguments: [organisation]) == true else {
                throw HubError("no organisation '\(organisation)' on this hub")
            }
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE name = ?", arguments: [user]) == true else {
                throw HubError("no user '\(user)' on this hub")
            }
            if member {
                try db.execute(sql: "INSERT OR IGNORE INTO members (organisation, user) VALUES (?, ?)", arguments: [organisation, user])
            } else {
                try db.execute(sql: "DELETE FROM members WHERE organisation = ? AND user = ?", arguments: [organisation, user])
            }
        }
    }

    public func organisations() throws(HubError) -> [(name: String, members: [String])] {
        try run("list organisations") { db in
            try String.fetchAll(db, sql: "SELECT name FROM organisations ORDER BY name").map { org in
                (org, try String.fetchAll(db, sql: "SELECT user FROM members WHERE organisation = ? ORDER BY user", arguments: [org]))
            }
        }
    }

    /// Whether `user` may act for `namespace`: it is theirs, or an organisation they belong to.
    public func mayActFor(_ namespace: String, user: String) throws(HubError) -> Bool {
        if user == namespace { return true }
        return try run("check the membership") { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM members WHERE organisation = ? AND user = ?", arguments: [namespace, user]) == true
        }
    }

    public func users() throws(HubError) -> [String] {
        try run("list users") { db in try String.fetchAll(db, sql: "SELECT name FROM users ORDER BY name") }
    }

    /// A bcrypt hash of the users' cost that no password is checked against in earnest.
    static let unknownUserHash = Bcrypt.hash("no user has this password", cost: 10)

    /// Removes a user with their tokens, likes and memberships. Their repositories stay (and
    /// stay readable as they were); nobody can push to the namespace until a user of that
    /// name is added again.
    public func removeUser(_ name: String) throws(HubError) {
        try run("remove the user") { db in
            try db.execute(sql: "DELETE FROM users WHERE name = ?", arguments: [name])
            if db.changesCount == 0 { throw HubError("there is no user '\(name)' on this hub") }
        }
    }

    /// Revokes every token of `user`; returns how many there were.
    public func revokeTokens(user: String) throws(HubError) -> Int {
        try run("revoke the tokens") { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE name = ?", arguments: [user]) == true else {
                throw HubError("there is no user '\(user)' on this hub")
            }
            try db.execute(sql: "DELETE FROM tokens WHERE user = ?", arguments: [user])
            return db.changesCount
        }
    }

    /// Revokes one token, given as it was printed; false when the hub has no such token.
    public func revokeToken(_ token: String) throws(HubError) -> Bool {
        let digest = Digest.of(Data(token.utf8)).hex
        return try run("revoke the token") { db in
            try db.execute(sql: "DELETE FROM tokens WHERE token_sha256 = ?", arguments: [digest])
            return db.changesCount > 0
        }
    }

    /// Whether `password` is `user`'s.
    public func verify(user: String, password: String) throws(HubError) -> Bool {
        let hash = try run("read the user") { db in try String.fetchOne(db, sql: "SELECT password_hash FROM users WHERE name = ?", arguments: [user]) }
        // An unknown user costs a bcrypt check too, so that timing does not tell which names exist.
        guard let hash else { _ = Bcrypt.verify(password, hash: Self.unknownUserHash); return false }
        return Bcrypt.verify(password, hash: hash)
    }

    /// A new access token for `user`: shown once, stored as its sha256.
    public func createToken(user: String, scope: Scope, label: String = "") throws(HubError) -> String {
        var bytes = [UInt8](repeating: 0, count: 24)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        let token = "hearth_" + bytes.map { String(format: "%02x", $0) }.joined()
        let digest = Digest.of(Data(token.utf8)).hex
        try run("store the token") { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE name = ?", arguments: [user]) == true else {
                throw HubError("no user '\(user)' on this hub; add one with hearth hub user add \(user)")
            }
            try db.execute(sql: "INSERT INTO tokens (user, token_sha256, scope, label, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [user, digest, scope.rawValue, label, Date()])
        }
        return token
    }

    /// The user and scope of a token, or nil when it is not one of this hub's.
    public func authenticate(token: String) throws(HubError) -> (user: String, scope: Scope)? {
        let digest = Digest.of(Data(token.utf8)).hex
        return try run("check the token") { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT user, scope FROM tokens WHERE token_sha256 = ?", arguments: [digest]) else { return nil }
            return (row["user"], Scope(rawValue: row["scope"]) ?? .read)
        }
    }

    // MARK: repositories

    public func repository(namespace: String, name: String) throws(HubError) -> Repository? {
        try run("read the repository") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM repositories WHERE namespace = ? AND name = ?", arguments: [namespace, name]).map(Self.repository)
        }
    }

    public func repositories() throws(HubError) -> [Repository] {
        try run("list repositories") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM repositories ORDER BY namespace, name").map(Self.repository)
        }
    }

    /// Records a repository when its first manifest is pushed.
    public func ensureRepository(namespace: String, name: String) throws(HubError) {
        try run("record the repository") { db in
            try db.execute(sql: "INSERT OR IGNORE INTO repositories (namespace, name, private, downloads, created_at) VALUES (?, ?, 0, 0, ?)",
                           arguments: [namespace, name, Date()])
        }
    }

    public func setPrivate(namespace: String, name: String, _ isPrivate: Bool) throws(HubError) {
        try run("update the repository") { db in
            try db.execute(sql: "UPDATE repositories SET private = ? WHERE namespace = ? AND name = ?", arguments: [isPrivate, namespace, name])
            if db.changesCount == 0 { throw HubError("no repository \(namespace)/\(name) on this hub") }
        }
    }

    public func countDownload(namespace: String, name: String) throws(HubError) {
        try run("count the download") { db in
            try db.execute(sql: "UPDATE repositories SET downloads = downloads + 1 WHERE namespace = ? AND name = ?", arguments: [namespace, name])
        }
    }

    // MARK: cards, lineage, likes

    /// What the hub indexes of one tag: its model's digest, its parent's, and its card.
    public struct Revision: Sendable, Equatable {
        public let namespace: String
        public let name: String
        public let tag: String
        public let modelDigest: String
        public let parentDigest: String?
        public let license: String?
        public let baseModels: [String]
        public let tags: [String]
        public let datasets: [String]
        public let languages: [String]
        public var repository: String { "\(namespace)/\(name)" }
    }

    public func index(namespace: String, name: String, tag: String, modelDigest: Digest, parent: String?, card: ModelCard?) throws(HubError) {
        func json(_ list: [String]) -> String { String(decoding: ModelStore.json(list), as: UTF8.self) }
        try run("index the revision") { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO revisions (namespace, name, tag, model_digest, parent_digest, license, base_models, tags, datasets, languages, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [namespace, name, tag, modelDigest.description, parent, card?.license, json(card?.baseModels ?? []),
                                 json(card?.tags ?? []), json(card?.datasets ?? []), json(card?.languages ?? []), Date()])
        }
    }

    public func revisions(namespace: String, name: String) throws(HubError) -> [Revision] {
        try run("read revisions") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM revisions WHERE namespace = ? AND name = ? ORDER BY tag", arguments: [namespace, name]).map(Self.revision)
        }
    }

    /// Revisions whose model is `digest` (the parents of a model that names it).
    public func revisions(modelDigest digest: String) throws(HubError) -> [Revision] {
        try run("read lineage") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM revisions WHERE model_digest = ? ORDER BY namespace, name, tag", arguments: [digest]).map(Self.revision)
        }
    }

    /// Revisions made from `digest` (its children).
    public func revisions(parentDigest digest: String) throws(HubError) -> [Revision] {
        try run("read lineage") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM revisions WHERE parent_digest = ? ORDER BY namespace, name, tag", arguments: [digest]).map(Self.revision)
        }
    }

    public func setLike(user: String, namespace: String, name: String, _ liked: Bool) throws(HubError) {
        try run("record the like") { db in
            if liked {
                try db.execute(sql: "INSERT OR IGNORE INTO likes (user, namespace, name) VALUES (?, ?, ?)", arguments: [user, namespace, name])
            } else {
                try db.execute(sql: "DELETE FROM likes WHERE user = ? AND namespace = ? AND name = ?", arguments: [user, namespace, name])
            }
        }
    }

    public func likes(namespace: String, name: String) throws(HubError) -> Int {
        try run("count likes") { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM likes WHERE namespace = ? AND name = ?", arguments: [namespace, name]) ?? 0
        }
    }

    // MARK: evaluation results

    /// A signed evaluation report as the hub keeps it, with what reproducing it showed.
    public struct EvalResult: Sendable {
        public let id: Int
        public let modelDigest: String
        public let submitter: String
        public let signed: SignedReport
        public let reproduction: Reproduction
        public let reproductionDetail: String?
        /// The report of the hub's own run, once it reproduced this one.
        public let reproducedReport: String?
        public let createdAt: Date
    }

    public enum Reproduction: String, Sendable, Codable {
        /// Not tried yet.
        case unchecked
        /// The hub ran it again and got the same scores.
        case reproduced
        /// The hub ran it again and got other scores.
        case differs
        /// The hub cannot run it (a task file or the model it does not have).
        case cannot
    }

    /// Keeps a checked report, unless one with the same `outcomeKey` is kept already (the
    /// caller's key for "the same result": the same key's run of the same model, tasks and
    /// settings with the same scores, whatever its timings). Returns its id and whether it is new.
    public func addEvalResult(_ signed: SignedReport, modelDigest: String, submitter: String, outcomeKey: String) throws(HubError) -> (id: Int, isNew: Bool) {
        try run("keep the evaluation result") { db in
            if let id = try Int.fetchOne(db, sql: "SELECT id FROM eval_results WHERE outcome_key = ?", arguments: [outcomeKey]) { return (id, false) }
            try db.execute(sql: """
                INSERT INTO eval_results (model_digest, submitter, public_key, signature, report, outcome_key, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [modelDigest, submitter, signed.publicKey, signed.signature, signed.report, outcomeKey, Date()])
            return (Int(db.lastInsertedRowID), true)
        }
    }

    public func evalResult(id: Int) throws(HubError) -> EvalResult? {
        try run("read the evaluation result") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM eval_results WHERE id = ?", arguments: [id]).map(Self.evalResult)
        }
    }

    /// Every result, or those of one model file, or those in one reproduction state; oldest first.
    public func evalResults(modelDigest: String? = nil, reproduction: Reproduction? = nil) throws(HubError) -> [EvalResult] {
        try run("read the evaluation results") { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM eval_results WHERE (?1 IS NULL OR model_digest = ?1) AND (?2 IS NULL OR reproduction = ?2) ORDER BY id
                """, arguments: [modelDigest, reproduction?.rawValue]).map(Self.evalResult)
        }
    }

    public func setReproduction(id: Int, _ state: Reproduction, detail: String?, report: String?) throws(HubError) {
        try run("record the reproduction") { db in
            try db.execute(sql: "UPDATE eval_results SET reproduction = ?, reproduction_detail = ?, reproduced_report = ? WHERE id = ?",
                           arguments: [state.rawValue, detail, report, id])
            if db.changesCount == 0 { throw HubError("no evaluation result \(id) on this hub") }
        }
    }

    private static func evalResult(_ row: Row) -> EvalResult {
        EvalResult(id: row["id"], modelDigest: row["model_digest"], submitter: row["submitter"],
                   signed: SignedReport(report: row["report"], publicKey: row["public_key"], signature: row["signature"]),
                   reproduction: Reproduction(rawValue: row["reproduction"]) ?? .unchecked, reproductionDetail: row["reproduction_detail"],
                   reproducedReport: row["reproduced_report"], createdAt: row["created_at"])
    }

    private static func revision(_ row: Row) -> Revision {
        func list(_ column: String) -> [String] {
            (try? JSONDecoder().decode([String].self, from: Data((row[column] as String? ?? "[]").utf8))) ?? []
        }
        return Revision(namespace: row["namespace"], name: row["name"], tag: row["tag"], modelDigest: row["model_digest"],
                        parentDigest: row["parent_digest"], license: row["license"], baseModels: list("base_models"),
                        tags: list("tags"), datasets: list("datasets"), languages: list("languages"))
    }

    private static func repository(_ row: Row) -> Repository {
        Repository(namespace: row["namespace"], name: row["name"], isPrivate: row["private"], downloads: row["downloads"], createdAt: row["created_at"])
    }
}
