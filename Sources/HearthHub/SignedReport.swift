#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation

/// This Hearth instance's Ed25519 signing key, kept in `HEARTH_HOME/instance-key` (the
/// 32-byte seed in base64, readable by its owner only) and made on first use. It signs the
/// evaluation reports the instance pushes: a hub (and anyone after it) can tell that a report
/// is unchanged since that key signed it, and which key it was. Keys are not registered, so
/// a key says nothing about who holds it; reproduction on the hub is what checks the scores.
public struct InstanceKey: Sendable {
    public let privateKey: Curve25519.Signing.PrivateKey
    public let path: String

    /// The key at `HEARTH_HOME/instance-key`, made (and written with mode 0600) when there is
    /// none yet.
    public init(store: ModelStore) throws(HubError) {
        path = store.root + "/instance-key"
        if let key = try Self.read(path) {
            privateKey = key
            return
        }
        // Written whole into a temporary file made 0600 (never readable by others), then
        // linked into place: a concurrent first use either wins or reads the winner's key.
        let key = Curve25519.Signing.PrivateKey()
        try StoreFiles.makeDirectories(store.root)
        let temporary = store.root + "/.instance-key-\(UUID().uuidString)"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw HubError("cannot create '\(temporary)': \(StoreFiles.errnoText())") }
        defer { unlink(temporary) }
        let text = Array((key.rawRepresentation.base64EncodedString() + "\n").utf8)
        let written = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == text.count, synced == 0 else { throw HubError("cannot write '\(temporary)'") }
        if link(temporary, path) == 0 {
            StoreFiles.syncDirectory(store.root)
            privateKey = key
        } else if errno == EEXIST, let winner = try Self.read(path) {
            privateKey = winner
        } else {
            throw HubError("cannot create '\(path)': \(StoreFiles.errnoText())")
        }
    }

    /// The key in `path`, nil when there is no file.
    private static func read(_ path: String) throws(HubError) -> Curve25519.Signing.PrivateKey? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let seed = Data(base64Encoded: text), let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed) else {
            throw HubError("'\(path)' does not hold an Ed25519 key (32 bytes in base64); move it away to make a new one")
        }
        return key
    }

    public var publicKey: Data { privateKey.publicKey.rawRepresentation }
    public var fingerprint: String { SignedReport.fingerprint(of: publicKey) }
}

/// An evaluation report with its signature, as `hearth eval --push` sends it to
/// `POST /api/evals` and the hub gives it back from `GET /api/evals/{id}`:
/// `{"report": "<results.json, exactly>", "public_key": "<base64>", "signature": "<base64>"}`.
///
/// The signature is Ed25519 (RFC 8032) over the UTF-8 bytes of `signedPrefix` followed by the
/// report's bytes. The report travels as the exact text that was signed, so no JSON
/// canonicalisation is involved and anyone can check it again later.
public struct SignedReport: Codable, Sendable, Equatable {
    public let report: String
    public let publicKey: String
    public let signature: String

    public static let signedPrefix = "hearth eval report v1\n"

    enum CodingKeys: String, CodingKey {
        case report
        case publicKey = "public_key"
        case signature
    }

    public init(report: String, publicKey: String, signature: String) {
        self.report = report
        self.publicKey = publicKey
        self.signature = signature
    }

    /// Signs `report` with `key`.
    public init(signing report: String, with key: InstanceKey) throws(HubError) {
        let message = Data((Self.signedPrefix + report).utf8)
        guard let signature = try? key.privateKey.signature(for: message) else { throw HubError("cannot sign the report") }
        self.init(report: report, publicKey: key.publicKey.base64EncodedString(), signature: signature.base64EncodedString())
    }

    /// Why the signature does not hold, or nil when it does.
    public func signatureProblem() -> String? {
        guard let keyBytes = Data(base64Encoded: publicKey), keyBytes.count == 32,
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyBytes) else {
            return "public_key is not an Ed25519 public key (32 bytes in base64)"
        }
        guard let signatureBytes = Data(base64Encoded: signature), signatureBytes.count == 64 else {
            return "signature is not an Ed25519 signature (64 bytes in base64)"
        }
        return key.isValidSignature(signatureBytes, for: Data((Self.signedPrefix + report).utf8))
            ? nil : "the signature does not verify: the report is not what the key signed"
    }

    /// `ed25519:` and the first 16 hex digits of the public key's sha256.
    public static func fingerprint(of publicKey: Data) -> String {
        "ed25519:" + Digest.of(publicKey).hex.prefix(16)
    }

    public var fingerprint: String { Data(base64Encoded: publicKey).map(Self.fingerprint) ?? "ed25519:?" }
}

/// One row of a hub's leaderboard (`GET /api/leaderboard`), and what `hearth leaderboard`
/// prints from.
public struct LeaderboardEntry: Codable, Sendable {
    public struct Score: Codable, Sendable {
        public let metric: String
        public let value: Double
        public let stderr: Double?
        /// The hub's own measurement, once it reproduced the run.
        public let reproduced: Double?

        public init(metric: String, value: Double, stderr: Double?, reproduced: Double?) {
            self.metric = metric
            self.value = value
            self.stderr = stderr
            self.reproduced = reproduced
        }

        /// Whether higher is better (accuracies) or lower (perplexities).
        public var higherIsBetter: Bool { metric == "acc" || metric == "acc_norm" || metric == "exact_match" }

        /// A value of this metric as the board shows it: accuracies in percent with one
        /// decimal, other metrics with four.
        public func formatted(_ value: Double) -> String {
            higherIsBetter ? String(format: "%.1f", value * 100) : String(format: "%.4f", value)
        }
    }

    public let id: Int
    /// The hub's repositories (`namespace/model:tag`) whose model file the run measured.
    public let models: [String]
    public let modelDigest: String
    public let modelType: String
    public let parameters: Int
    public let submitter: String
    public let key: String
    /// Mean accuracy over the accuracy tasks.
    public let average: Double?
    public let scores: [String: Score]
    /// Few-shot count, seed, chat template, example limit, in words.
    public let setup: String
    public let hearthVersion: String
    /// unchecked, reproduced, differs or cannot.
    public let reproduction: String
    public let reproductionDetail: String?
    public let created: Date

    enum CodingKeys: String, CodingKey {
        case id, models, submitter, key, average, scores, setup, reproduction, created, parameters
        case modelDigest = "model_digest", modelType = "model_type", hearthVersion = "hearth_version"
        case reproductionDetail = "reproduction_detail"
    }

    public init(id: Int, models: [String], modelDigest: String, modelType: String, parameters: Int, submitter: String, key: String,
                average: Double?, scores: [String: Score], setup: String, hearthVersion: String, reproduction: String,
                reproductionDetail: String?, created: Date) {
        self.id = id
        self.models = models
        self.modelDigest = modelDigest
        self.modelType = modelType
        self.parameters = parameters
        self.submitter = submitter
        self.key = key
        self.average = average
        self.scores = scores
        self.setup = setup
        self.hearthVersion = hearthVersion
        self.reproduction = reproduction
        self.reproductionDetail = reproductionDetail
        self.created = created
    }

    /// Sorts entries by a task's headline score (best first: highest accuracy, lowest
    /// perplexity) or, for `average`, by the average; entries without it go last.
    public static func sorted(_ entries: [LeaderboardEntry], by key: String) -> [LeaderboardEntry] {
        func value(_ e: LeaderboardEntry) -> Double? {
            if key == "average" { return e.average }
            guard let s = e.scores[key] else { return nil }
            return s.higherIsBetter ? s.value : -s.value
        }
        return entries.sorted { a, b in
            switch (value(a), value(b)) {
            case let (x?, y?) where x != y: return x > y
            case (.some, nil): return true
            case (nil, .some): return false
            default: return a.id > b.id
            }
        }
    }
}

/// What `GET /api/leaderboard` answers.
public struct Leaderboard: Codable, Sendable {
    /// Every task some entry has, sorted.
    public let tasks: [String]
    public let entries: [LeaderboardEntry]

    public init(tasks: [String], entries: [LeaderboardEntry]) {
        self.tasks = tasks
        self.entries = entries
    }

    /// The wire format: ISO 8601 dates. (Keys are spelled out: a key strategy would also
    /// rewrite task names, which are dictionary keys.)
    public static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys]
        return e
    }

    public static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }
}
