import Foundation

/// A fresh directory under the system temporary directory, removed with everything in it when
/// the object goes away. Each test makes its own, so tests can run in parallel.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init(prefix: String = "hearth-test") throws {
        var template = Array((NSTemporaryDirectory() + "/\(prefix).XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard let made else { throw TemporaryDirectoryError(message: "mkdtemp failed for prefix '\(prefix)' (errno \(errno))") }
        path = String(cString: made)
    }

    /// The path of `name` inside this directory (not created).
    public func file(_ name: String) -> String { path + "/" + name }

    /// Writes `bytes` to `name` in this directory and returns its path.
    @discardableResult
    public func write(_ bytes: [UInt8], to name: String) throws -> String {
        let p = file(name)
        try TemporaryDirectory.writeFile(bytes, to: p)
        return p
    }

    /// Writes `bytes` to `path`, replacing it. Plain POSIX writes without fsync: Foundation's
    /// `Data.write` syncs every file to disk, which makes a test writing thousands of small
    /// files wait on the disk, not the code.
    public static func writeFile(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw TemporaryDirectoryError(message: "cannot create '\(path)' (errno \(errno))") }
        defer { close(fd) }
        var done = 0
        try bytes.withUnsafeBytes { buf in
            while done < buf.count {
                let n = Foundation.write(fd, buf.baseAddress! + done, buf.count - done)
                guard n > 0 else { throw TemporaryDirectoryError(message: "cannot write '\(path)' (errno \(errno))") }
                done += n
            }
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

public struct TemporaryDirectoryError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
