import Foundation

/// A one-line progress bar on standard error, redrawn in place on a terminal, or a line per
/// 10% when standard error is a file or pipe.
final class ProgressBar {
    /// What is counted: bytes (shown as KiB, MiB, ...) or items of a name ("examples").
    enum Unit { case bytes, items(String) }

    let label: String
    let total: Int
    let unit: Unit
    private let start = Date()
    private let terminal = isatty(2) != 0
    private var lastDraw = Date.distantPast
    private var lastDecile = -1

    init(_ label: String, total: Int, unit: Unit = .bytes) {
        self.label = label
        self.total = total
        self.unit = unit
    }

    func update(_ done: Int) {
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 0
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 && total > done ? " ETA \(formatDuration(Double(total - done) / rate))" : ""
        let text = switch unit {
        case .bytes: "\(label) \(formatBytes(done))/\(formatBytes(total)) \(Int(fraction * 100))% \(formatBytes(Int(rate)))/s\(eta)"
        case .items(let name): "\(label) \(done)/\(total) \(name) \(Int(fraction * 100))% \(String(format: "%.2f", rate)) \(name)/s\(eta)"
        }
        if terminal {
            guard Date().timeIntervalSince(lastDraw) > 0.1 || done >= total else { return }
            lastDraw = Date()
            let width = 24, filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            printError("\r\u{1B}[2K\(bar) \(text)", terminator: "")
        } else {
            let decile = Int(fraction * 10)
            guard decile > lastDecile, decile > 0 || done >= total else { return }
            lastDecile = decile
            printError(text)
        }
    }

    /// Ends the bar's line.
    func finish() { if terminal { printError("") } }
}

func formatDuration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    if s < 60 { return "\(s)s" }
    if s < 3600 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
    return "\(s / 3600)h\(String(format: "%02d", s / 60 % 60))m"
}
