import Crypto
import Foundation

/// A content address: `sha256:` and 64 lowercase hex digits, as OCI registries and the
/// Hugging Face Hub (without the prefix, as an ETag) write it.
public struct Digest: Hashable, Sendable, CustomStringConvertible, Codable, Comparable {
    /// The 64 hex digits.
    public let hex: String

    public init(parsing text: String) throws(HubError) {
        // Ollama writes blob file names with '-' for ':'.
        let body: Substring
        if text.hasPrefix("sha256:") || text.hasPrefix("sha256-") { body = text.dropFirst(7) } else {
            throw HubError("'\(text.prefix(80))' is not a digest: it must start with 'sha256:'")
        }
        guard body.utf8.count == 64, body.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            throw HubError("'\(text.prefix(80))' is not a digest: 'sha256:' must be followed by 64 lowercase hex digits")
        }
        hex = String(body)
    }

    init(hash: SHA256.Digest) {
        hex = hash.map { String(format: "%02x", $0) }.joined()
    }

    public static func of(_ data: some DataProtocol) -> Digest { Digest(hash: SHA256.hash(data: data)) }

    public var description: String { "sha256:\(hex)" }
    /// The 32 bytes the hex digits spell.
    public var bytes: [UInt8] {
        let digits = Array(hex.utf8)
        func value(_ c: UInt8) -> UInt8 { c <= UInt8(ascii: "9") ? c - UInt8(ascii: "0") : c - UInt8(ascii: "a") + 10 }
        return stride(from: 0, to: digits.count, by: 2).map { value(digits[$0]) << 4 | value(digits[$0 + 1]) }
    }
    /// The blob's file name in a store (`sha256-<hex>`, as Ollama names blobs).
    public var fileName: String { "sha256-\(hex)" }
    /// The first 12 hex digits, as `hearth list` shows a model's ID.
    public var short: String { String(hex.prefix(12)) }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { self = try Digest(parsing: text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    public static func < (a: Digest, b: Digest) -> Bool { a.hex < b.hex }
}

/// SHA-256 over bytes that arrive in pieces.
public struct StreamingDigest: Sendable {
    private var hasher = SHA256()
    public private(set) var byteCount = 0

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
        byteCount += bytes.count
    }

    public mutating func update(_ data: some DataProtocol) {
        hasher.update(data: data)
        byteCount += data.count
    }

    public func finish() -> Digest { Digest(hash: hasher.finalize()) }
}
