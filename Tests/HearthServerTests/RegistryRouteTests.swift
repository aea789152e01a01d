import Foundation
import HearthEngine
import HearthHub
import HearthServer
import HearthTestSupport
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Testing

/// The hub's registry routes in process, against the OCI distribution spec and RFC 9110's
/// range requests: the bytes of a range are the file's bytes at those offsets, pushes are
/// refused without a token, and an upload is only kept when its sha256 is the one announced.
@Suite("Registry routes")
struct RegistryRouteTests {
    final class Hub: Sendable {
        let dir: TemporaryDirectory
        let registry: Registry
        let token: String
        let blob: Data
        let digest: String

        init() throws {
            dir = try TemporaryDirectory()
            registry = try Registry(root: dir.file("hub"), maxBlobBytes: 1 << 20)
            try registry.database.addUser("alice", password: "password-1")
            token = try registry.database.createToken(user: "alice", scope: .write)
            var generator = SeededGenerator(seed: 7)
            blob = Data((0..<10_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
            digest = "sha256:" + sha256Hex(blob)
        }
    }

    /// An independent sha256: coreutils.
    static func sha256Hex(_ data: Data) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try! p.run()
        input.fileHandleForWriting.write(data)
        try! input.fileHandleForWriting.close()
        p.waitUntilExit()
        return String(String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).prefix(64))
    }

    func auth(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

    @Test func uploadThenRangedDownloads() async throws {
        let hub = try Hub()
        let app = Application(router: buildHubRouter(registry: hub.registry))
        try await app.test(.router) { client in
            // No token: 401 with a challenge.
            try await client.execute(uri: "/v2/alice/m/blobs/uploads/", method: .post) { r in
                #expect(r.status == .unauthorized)
                #expect(r.headers[.wwwAuthenticate] != nil)
            }
            // POST, two PATCHes, PUT ?digest.
            var location = ""
            try await client.execute(uri: "/v2/alice/m/blobs/uploads/", method: .post, headers: auth(hub.token)) { r in
                #expect(r.status == .accepted)
                location = r.headers[.location] ?? ""
            }
            var h = auth(hub.token)
            h[.contentRange] = "0-3999"
            try await client.execute(uri: location, method: .patch, headers: h, body: ByteBuffer(bytes: hub.blob.prefix(4000))) { r in
                #expect(r.status == .accepted)
                #expect(r.headers[.range] == "0-3999")
            }
            // A chunk that does not start where the upload ends is refused.
            h[.contentRange] = "5000-9999"
            try await client.execute(uri: location, method: .patch, headers: h, body: ByteBuffer(bytes: hub.blob.suffix(5000))) { r in
                #expect(r.status.code == 416)
            }
            h[.contentRange] = "4000-9999"
            try await client.execute(uri: location, method: .patch, headers: h, body: ByteBuffer(bytes: hub.blob.suffix(6000))) { r in
                #expect(r.status == .accepted)
            }
            try await client.execute(uri: location + "?digest=\(hub.digest)", method: .put, headers: auth(hub.token)) { r in
                #expect(r.status == .created)
                #expect(r.headers[HTTPField.Name("Docker-Content-Digest")!] == hub.digest)
            }
            // Ranges, as RFC 9110 defines them.
            for (range, expected) in [("bytes=0-99", 0..<100), ("bytes=9990-", 9990..<10_000), ("bytes=-10", 9990..<10_000),
                                      ("bytes=5000-20000", 5000..<10_000)] {
                var rh = HTTPFields()
                rh[.range] = range
                try await client.execute(uri: "/v2/alice/m/blobs/\(hub.digest)", method: .get, headers: rh) { r in
                    #expect(r.status == .partialContent)
                    #expect(Data(r.body.readableBytesView) == hub.blob.subdata(in: expected))
                    #expect(r.headers[.contentRange] == "bytes \(expected.lowerBound)-\(expected.upperBound - 1)/10000")
                }
            }
            var bad = HTTPFields()
            bad[.range] = "bytes=20000-"
            try await client.execute(uri: "/v2/alice/m/blobs/\(hub.digest)", method: .get, headers: bad) { r in
                #expect(r.status == .rangeNotSatisfiable)
            }
            try await client.execute(uri: "/v2/alice/m/blobs/\(hub.digest)", method: .get) { r in
                #expect(r.status == .ok)
                #expect(Data(r.body.readableBytesView) == hub.blob)
            }
        }
    }

    /// A blob is stored once for the hub, but served only through a repository it was
    /// uploaded to (or whose manifest names it): through any other path it is as unknown as a
    /// blob that does not exist, so a digest alone does not open a private model.
    @Test func aBlobIsServedOnlyThroughItsRepository() async throws {
        let hub = try Hub()
        let app = Application(router: buildHubRouter(registry: hub.registry))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v2/alice/m/blobs/uploads/?digest=\(hub.digest)", method: .post, headers: auth(hub.token),
                                     body: ByteBuffer(bytes: hub.blob)) { r in #expect(r.status == .created) }
            try await client.execute(uri: "/v2/alice/m/blobs/\(hub.digest)", method: .get) { r in #expect(r.status == .ok) }
            let unknown = "sha256:" + String(repeating: "0", count: 64)
            for path in ["/v2/nobody/nothing/blobs/", "/v2/alice/other/blobs/"] {
                for method in [HTTPRequest.Method.get, .head] {
                    var answers: [(HTTPResponse.Status, String)] = []
                    for digest in [hub.digest, unknown] {
                        try await client.execute(uri: path + digest, method: method) { r in
                            answers.append((r.status, String(buffer: r.body).replacingOccurrences(of: digest, with: "D")))
                        }
                    }
                    #expect(answers[0].0 == .notFound && answers[0].0 == answers[1].0 && answers[0].1 == answers[1].1, "\(method) \(path): \(answers)")
                }
            }
        }
    }

    /// An empty blob (an empty SYSTEM layer, say) is a file of 0 bytes: no range of it exists.
    @Test func anEmptyBlobIsServedNotCrashedOn() async throws {
        let hub = try Hub()
        let app = Application(router: buildHubRouter(registry: hub.registry))
        let empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  // sha256 of no bytes
        try await app.test(.router) { client in
            try await client.execute(uri: "/v2/alice/m/blobs/uploads/?digest=\(empty)", method: .post, headers: auth(hub.token)) { r in
                #expect(r.status == .created)
            }
            try await client.execute(uri: "/v2/alice/m/blobs/\(empty)", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentLength] == "0" && r.body.readableBytes == 0)
            }
            var range = HTTPFields()
            range[.range] = "bytes=0-10"
            try await client.execute(uri: "/v2/alice/m/blobs/\(empty)", method: .get, headers: range) { r in
                #expect(r.status == .rangeNotSatisfiable)
            }
        }
    }

    @Test func wrongDigestAndOversizeLeaveNothing() async throws {
        let hub = try Hub()
        let app = Application(router: buildHubRouter(registry: hub.registry))
        try await app.test(.router) { client in
            let wrong = "sha256:" + String(repeating: "0", count: 64)
            try await client.execute(uri: "/v2/alice/m/blobs/uploads/?digest=\(wrong)", method: .post, headers: auth(hub.token),
                                     body: ByteBuffer(bytes: hub.blob)) { r in
                #expect(r.status == .badRequest)
                #expect(String(buffer: r.body).contains("DIGEST_INVALID"))
            }
            try await client.execute(uri: "/v2/alice/m/blobs/uploads/?digest=\(hub.digest)", method: .post, headers: auth(hub.token),
                                     body: ByteBuffer(bytes: Data(count: (1 << 20) + 1))) { r in
                #expect(r.status == .contentTooLarge)
            }
            try await client.execute(uri: "/v2/alice/m/blobs/\(hub.digest)", method: .head) { r in
                #expect(r.status == .notFound)
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: hub.registry.root + "/uploads").isEmpty)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: hub.registry.store.blobsDirectory)) ?? []).isEmpty)
    }
}
