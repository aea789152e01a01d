import ArgumentParser
import Foundation

/// Checks of options several commands take, with one wording.
enum OptionChecks {
    static func threads(_ n: Int) throws {
        if n < 1 { throw ValidationError("--threads must be at least 1 (got \(n))") }
    }

    /// A perplexity chunk size (`--ctx` of perplexity, compare and quantize --report).
    static func chunkSize(_ ctx: Int) throws {
        if ctx < 4 || ctx > 1 << 16 { throw ValidationError("--ctx must be between 4 and 65536 (got \(ctx))") }
    }
}

/// The contents of a UTF-8 text file, or an error naming it.
func readTextFile(_ path: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read '\(path)'") }
    guard let text = String(data: data, encoding: .utf8) else { throw CLIError("'\(path)' is not UTF-8 text") }
    return text
}
