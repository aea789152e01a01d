import Synchronization

/// Failed logins by user name, and how long the next attempt for a name must wait: the first
/// `freeFailures` failures in a row cost nothing, then each one doubles the wait (1 s, 2 s,
/// 4 s, ... at most `longestWait`) counted from the last failure. A success forgets the name.
/// A pure state machine: the time is given, so tests need no clock.
///
/// Guessing a password at bcrypt's pace (some 80 ms an attempt) is slowed to one attempt per
/// `longestWait` per name; someone who knows the password waits at most that long, which is
/// the price of not locking accounts for good.
public struct LoginThrottle: Sendable {
    public static let freeFailures = 5
    public static let longestWait = 60.0
    /// Names remembered at most; past it the oldest are forgotten.
    public static let capacity = 10_000

    struct Failures: Sendable { var count: Int; var last: Double }
    private var failures: [String: Failures] = [:]

    /// How many names it remembers failures of (at most `capacity`).
    public var rememberedNames: Int { failures.count }

    public init() {}

    /// Seconds the next attempt for `name` must still wait at `now`, or nil when it may go.
    public func wait(for name: String, at now: Double) -> Double? {
        guard let f = failures[name.lowercased()], f.count >= Self.freeFailures else { return nil }
        let delay = min(Self.longestWait, Double(1 << min(f.count - Self.freeFailures, 30)))
        let left = f.last + delay - now
        return left > 0 ? left : nil
    }

    public mutating func failed(_ name: String, at now: Double) {
        let key = name.lowercased()
        if failures[key] == nil && failures.count >= Self.capacity {
            let oldest = failures.sorted { $0.value.last < $1.value.last }.prefix(Self.capacity / 10).map(\.key)
            for k in oldest { failures[k] = nil }
        }
        failures[key] = Failures(count: (failures[key]?.count ?? 0) + 1, last: now)
    }

    public mutating func succeeded(_ name: String) { failures[name.lowercased()] = nil }
}

/// The throttle the hub's requests share.
final class SharedLoginThrottle: Sendable {
    private let state = Mutex(LoginThrottle())
    func withLock<T>(_ body: (inout LoginThrottle) -> T) -> T { state.withLock { body(&$0) } }
}
