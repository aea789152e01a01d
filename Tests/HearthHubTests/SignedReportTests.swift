import Foundation
import HearthHub
import Synchronization
import HearthTestSupport
import Testing

@Suite struct SignedReportTests {
    /// RFC 8032, section 7.1, TEST 1: a secret key (seed) and the public key it gives.
    static let rfcSeed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
    static let rfcPublic = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"

    static func bytes(_ hex: String) -> Data {
        Data(stride(from: 0, to: hex.count, by: 2).map { i in
            UInt8(hex[hex.index(hex.startIndex, offsetBy: i)..<hex.index(hex.startIndex, offsetBy: i + 2)], radix: 16)!
        })
    }

    @Test func instanceKeyFileHoldsTheSeedAndGivesRFC8032sPublicKey() throws {
        let dir = try TemporaryDirectory()
        let store = ModelStore(root: dir.file("home"))
        try FileManager.default.createDirectory(atPath: store.root, withIntermediateDirectories: true)
        try Data((Self.bytes(Self.rfcSeed).base64EncodedString() + "\n").utf8).write(to: URL(fileURLWithPath: store.root + "/instance-key"))
        let key = try InstanceKey(store: store)
        #expect(key.publicKey == Self.bytes(Self.rfcPublic))
    }

    @Test func aNewKeyIsMadeOnceWithMode0600() throws {
        let dir = try TemporaryDirectory()
        let store = ModelStore(root: dir.file("home"))
        let first = try InstanceKey(store: store)
        let second = try InstanceKey(store: store)
        #expect(first.publicKey == second.publicKey)
        let mode = try FileManager.default.attributesOfItem(atPath: first.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func concurrentFirstUsesAgreeOnOneKey() throws {
        let dir = try TemporaryDirectory()
        let store = ModelStore(root: dir.file("home"))
        let keys = Mutex<[Data]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            if let key = try? InstanceKey(store: store) { keys.withLock { $0.append(key.publicKey) } }
        }
        let all = keys.withLock { $0 }
        #expect(all.count == 8 && Set(all).count == 1)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: store.root).filter { $0 != "instance-key" }
        #expect(leftovers.isEmpty, "temporary key files left: \(leftovers)")
    }

    @Test func aBrokenKeyFileIsAnErrorNotANewKey() throws {
        let dir = try TemporaryDirectory()
        let store = ModelStore(root: dir.file("home"))
        try FileManager.default.createDirectory(atPath: store.root, withIntermediateDirectories: true)
        try Data("not a key\n".utf8).write(to: URL(fileURLWithPath: store.root + "/instance-key"))
        #expect(throws: HubError.self) { try InstanceKey(store: store) }
        #expect(String(decoding: FileManager.default.contents(atPath: store.root + "/instance-key")!, as: UTF8.self) == "not a key\n")
    }

    @Test func aSignatureHoldsForTheExactReportOnly() throws {
        let dir = try TemporaryDirectory()
        let key = try InstanceKey(store: ModelStore(root: dir.file("home")))
        let signed = try SignedReport(signing: "{\"acc\": 0.5}\n", with: key)
        #expect(signed.signatureProblem() == nil)
        // One character changed, a trailing newline dropped, another key: each fails.
        #expect(SignedReport(report: "{\"acc\": 0.6}\n", publicKey: signed.publicKey, signature: signed.signature).signatureProblem() != nil)
        #expect(SignedReport(report: "{\"acc\": 0.5}", publicKey: signed.publicKey, signature: signed.signature).signatureProblem() != nil)
        let other = try InstanceKey(store: ModelStore(root: dir.file("other")))
        #expect(SignedReport(report: signed.report, publicKey: other.publicKey.base64EncodedString(), signature: signed.signature).signatureProblem() != nil)
        #expect(SignedReport(report: signed.report, publicKey: "short", signature: signed.signature).signatureProblem()?.contains("public_key") == true)
    }

    @Test func theDatabaseKeepsAReportOnceAndRecordsItsReproduction() throws {
        let dir = try TemporaryDirectory()
        let db = try HubDatabase(path: dir.file("hub.sqlite"))
        let key = try InstanceKey(store: ModelStore(root: dir.file("home")))
        let signed = try SignedReport(signing: "report one", with: key)
        let first = try db.addEvalResult(signed, modelDigest: "sha256:" + String(repeating: "a", count: 64), submitter: "alice", outcomeKey: "k1")
        let again = try db.addEvalResult(signed, modelDigest: "sha256:" + String(repeating: "a", count: 64), submitter: "alice", outcomeKey: "k1")
        #expect(first.isNew && !again.isNew && first.id == again.id)
        #expect(try db.evalResults(reproduction: .unchecked).map(\.id) == [first.id])
        try db.setReproduction(id: first.id, .differs, detail: "x acc: claimed 0.9, measured 0.5", report: nil)
        // Reopened: the state is on disk.
        let reopened = try HubDatabase(path: dir.file("hub.sqlite"))
        let stored = try #require(try reopened.evalResult(id: first.id))
        #expect(stored.reproduction == .differs && stored.signed == signed && stored.submitter == "alice")
        #expect(try reopened.evalResults(reproduction: .unchecked).isEmpty)
        #expect(throws: HubError.self) { try reopened.setReproduction(id: 999, .reproduced, detail: nil, report: nil) }
    }
}
