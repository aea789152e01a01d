import Foundation
import HearthGGUF
import HearthHub
import HearthTestSupport
import Testing

func fileSize(_ path: String) -> Int? {
    (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
}

@Suite struct ModelStoreTests {
    /// A store in a fresh folder and a tiny GGUF file beside it; the folder goes with it.
    final class Fixture: Sendable {
        let dir: TemporaryDirectory
        let store: ModelStore
        let gguf: String
        init() throws {
            dir = try TemporaryDirectory()
            gguf = try TinyModel().write(in: dir)
            store = ModelStore(root: dir.file("home"))
        }
    }

    /// The independent oracle for a digest: coreutils' sha256sum.
    func sha256sum(_ path: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        p.arguments = [path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        p.waitUntilExit()
        let out = String(data: pipe.fileHandleForReading.readDataToEndOfFile(), encoding: .utf8)!
        return String(out.prefix(64))
    }

    @Test func importKeepsTheBytesUnderTheirSha256() throws {
        let f = try Fixture()
        defer { withExtendedLifetime(f) {} }
        let model = try f.store.create(try ModelName(parsing: "tiny"), from: Modelfile(from: f.gguf))
        #expect(model.modelDigest.hex == (try sha256sum(f.gguf)))
        #expect(FileManager.default.contentsEqual(atPath: model.modelPath, andPath: f.gguf))
        // The manifest's digest is the sha256 of the manifest file's bytes.
        #expect(model.manifest.digest.hex == (try sha256sum(f.store.manifestPath(model.name))))
        // Every blob is stored under its own sha256.
        for blob in model.manifest.manifest.blobs {
            #expect(blob.digest.hex == (try sha256sum(f.store.blobPath(blob.digest))))
        }
    }

    @Test func theRealSmolLM2KeepsItsPublishedDigest() throws {
        guard let path = try TestPaths.model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return }
        let f = try Fixture()
        defer { withExtendedLifetime(f) {} }
        let model = try f.store.create(try ModelName(parsing: "smollm2:q4_1"), from: Modelfile(from: path))
        #expect(model.modelDigest.description == "sha256:b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53")
        #expect(model.config?.model_family == "llama")
        #expect(model.config?.file_type == "Q4_1")
    }

    @Test func derivedModelsShareBlobsAndRemovalKeepsWhatOthersUse() throws {
        let f = try Fixture()
        defer { withExtendedLifetime(f) {} }
        let base = try ModelName(parsing: "tiny")
        try f.store.create(base, from: Modelfile(from: f.gguf))
        var recipe = try Modelfile(parsing: "FROM tiny\nSYSTEM be brief\nPARAMETER temperature 0.5\nPARAMETER stop END\n")
        let derived = try f.store.create(try ModelName(parsing: "me/brief:v1"), from: recipe)
        #expect(derived.system == "be brief")
        #expect(derived.parameters.temperature == 0.5)
        // A model derived from the derived one overrides one parameter and keeps the rest.
        recipe = try Modelfile(parsing: "FROM me/brief:v1\nPARAMETER temperature 0\n")
        let third = try f.store.create(try ModelName(parsing: "third"), from: recipe)
        #expect(third.parameters.temperature == 0)
        #expect(third.parameters.stop == ["END"])
        #expect(third.system == "be brief")
        #expect(third.modelDigest == derived.modelDigest)
        // One copy of the GGUF bytes.
        let blobs = try FileManager.default.contentsOfDirectory(atPath: f.store.blobsDirectory)
        let size = fileSize(f.gguf)!
        #expect(blobs.filter { fileSize(f.store.blobsDirectory + "/" + $0) == size }.count == 1)

        try f.store.remove(base)
        try f.store.remove(try ModelName(parsing: "third"))
        #expect(try f.store.resolve(try ModelName(parsing: "me/brief:v1")).modelDigest == derived.modelDigest)
        try f.store.remove(try ModelName(parsing: "me/brief:v1"))
        #expect(f.store.list().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: f.store.blobsDirectory).isEmpty)
    }

    @Test func aBlobWhoseBytesDoNotMatchItsDigestIsRefusedAndLeavesNothing() throws {
        let f = try Fixture()
        defer { withExtendedLifetime(f) {} }
        let writer = try f.store.makeBlobWriter()
        try writer.write(Data("hello".utf8))
        let claimed = Digest.of(Data("goodbye".utf8))
        #expect(throws: HubError.self) { try writer.commit(expecting: claimed) }
        #expect(f.store.blobSize(claimed) == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: f.store.blobsDirectory).isEmpty)
    }

    @Test func aManifestNamingAMissingBlobIsRefused() throws {
        let f = try Fixture()
        defer { withExtendedLifetime(f) {} }
        let missing = Descriptor(mediaType: MediaType.model, digest: Digest.of(Data("x".utf8)), size: 1)
        let config = try f.store.addBlob(Data("{}".utf8))
        let manifest = Manifest(config: Descriptor(mediaType: MediaType.config, digest: config.digest, size: config.size), layers: [missing])
        #expect(throws: HubError.self) { try f.store.writeManifest(manifest.encoded(), for: try ModelName(parsing: "broken")) }
        #expect(f.store.list().isEmpty)
    }

    @Test func aDamagedBlobIsReportedNotUsed() throws {
        let f = try Fixture()
        defer { withExtendedLifetime(f) {} }
        let model = try f.store.create(try ModelName(parsing: "tiny"), from: Modelfile(from: f.gguf))
        truncate(model.modelPath, 100)
        do {
            _ = try f.store.resolve(model.name)
            Issue.record("resolved a damaged model")
        } catch {
            #expect(error.message.contains("damaged"))
        }
    }

    @Test func notGGUFAndGoTemplatesAndMissingBasesAreRefused() throws {
        let f = try Fixture()
        defer { withExtendedLifetime(f) {} }
        let text = try f.dir.write(Array("not a model".utf8), to: "notes.gguf")
        #expect(throws: HubError.self) { try f.store.create(try ModelName(parsing: "x"), from: Modelfile(from: text)) }
        var recipe = Modelfile(from: f.gguf)
        recipe.template = "{{ .System }} {{ .Prompt }}"
        do {
            try f.store.create(try ModelName(parsing: "x"), from: recipe)
            Issue.record("accepted a Go template")
        } catch {
            #expect(error.message.contains("Go template"))
        }
        recipe.template = "{% for m in messages %}{{ m.content }}{% endfor %}"
        #expect(try f.store.create(try ModelName(parsing: "x"), from: recipe).chatTemplate == recipe.template)
        #expect(throws: HubError.self) { try f.store.create(try ModelName(parsing: "y"), from: Modelfile(from: "nothing-here")) }
        #expect(f.store.list().map(\.name.description) == ["x:latest"])
    }

    @Test func garbageCollectionRemovesOrphansAndUnfinishedWrites() throws {
        let f = try Fixture()
        defer { withExtendedLifetime(f) {} }
        try f.store.create(try ModelName(parsing: "tiny"), from: Modelfile(from: f.gguf))
        let orphan = try f.store.addBlob(Data("orphan".utf8))
        try Data("half".utf8).write(to: URL(fileURLWithPath: f.store.blobsDirectory + "/.tmp-interrupted"))
        let result = try f.store.collectGarbage()
        #expect(result.blobs == 1 && result.bytes == 6 && result.temporaries == 1)
        #expect(f.store.blobSize(orphan.digest) == nil)
        #expect(try f.store.resolve(try ModelName(parsing: "tiny")).modelSize == fileSize(f.gguf))
    }

    @Test func concurrentCreatesOfOneModelBothSucceedWithOneCopy() async throws {
        let f = try Fixture()
        defer { withExtendedLifetime(f) {} }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<4 {
                group.addTask {
                    try f.store.create(try ModelName(parsing: i % 2 == 0 ? "same" : "other:tag\(i)"), from: Modelfile(from: f.gguf))
                }
            }
            try await group.waitForAll()
        }
        #expect(f.store.list().count == 3)
        let files = try FileManager.default.contentsOfDirectory(atPath: f.store.blobsDirectory)
        #expect(!files.contains { $0.hasPrefix(".tmp-") })
        let size = fileSize(f.gguf)!
        #expect(files.filter { fileSize(f.store.blobsDirectory + "/" + $0) == size }.count == 1)
    }
}
