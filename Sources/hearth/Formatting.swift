import Foundation

/// An error the CLI reports as one line on stderr with a non-zero exit, without a stack trace.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
    let n = s.count
    if n >= width { return s }
    let fill = String(repeating: " ", count: width - n)
    return right ? fill + s : s + fill
}

func format2(_ x: Double) -> String { String(format: "%.2f", x) }

func formatBytes(_ n: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n), u = 0
    while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
    return u == 0 ? "\(n) B" : String(format: "%.2f %@", v, units[u])
}

/// Prints to standard error.
func printError(_ s: String, terminator: String = "\n") {
    FileHandle.standardError.write((s + terminator).data(using: .utf8)!)
}

/// Writes streamed text to standard output at once (unbuffered), so tokens appear as they come.
func emit(_ s: String) {
    FileHandle.standardOutput.write(Data(s.utf8))
}

/// `date` in UTC as ISO 8601 (`2026-11-30T03:50:00Z`), as llama-bench writes `test_time`.
/// Foundation's ISO8601DateFormatter would load ICU's calendar data for one timestamp: 2.5 MB
/// of peak resident memory in a benchmark that measures it.
func iso8601UTC(_ date: Date) -> String {
    var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
}
