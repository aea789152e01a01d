import HearthServer
import Testing

/// The login throttle's contract: free failures, then doubling waits from the last failure, a
/// ceiling, names without regard to case, and a success that forgets.
@Suite("Login throttle")
struct LoginThrottleTests {
    @Test("five failures are free, then each waits twice as long, up to a minute")
    func backoff() {
        var t = LoginThrottle()
        for i in 0..<LoginThrottle.freeFailures {
            #expect(t.wait(for: "alice", at: Double(i)) == nil)
            t.failed("alice", at: Double(i))
        }
        let last = Double(LoginThrottle.freeFailures - 1)
        #expect(t.wait(for: "alice", at: last) == 1)
        #expect(t.wait(for: "ALICE", at: last + 0.5) == 0.5, "names without regard to case")
        #expect(t.wait(for: "alice", at: last + 1) == nil)
        t.failed("alice", at: 10)
        #expect(t.wait(for: "alice", at: 10) == 2)
        for _ in 0..<20 { t.failed("alice", at: 100) }
        #expect(t.wait(for: "alice", at: 100) == LoginThrottle.longestWait)
        #expect(t.wait(for: "bob", at: 100) == nil, "other names are not slowed")
        t.succeeded("Alice")
        #expect(t.wait(for: "alice", at: 100) == nil)
    }

    @Test("memory is bounded: past the capacity the oldest names are forgotten")
    func capacity() {
        var t = LoginThrottle()
        for i in 0..<(LoginThrottle.capacity + 5) { t.failed("user\(i)", at: Double(i)) }
        #expect(t.rememberedNames <= LoginThrottle.capacity)
        for _ in 0..<LoginThrottle.freeFailures { t.failed("newest", at: 1e6) }
        #expect(t.wait(for: "newest", at: 1e6) != nil)
    }
}
