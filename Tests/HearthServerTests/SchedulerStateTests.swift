import HearthServer
import Testing

/// The scheduler's decisions, event by event, against what its contract says: slots fill first,
/// then the queue in arrival order, then rejection; a cancelled waiting job leaves the queue; a
/// finished job's slot goes to the longest waiting one.
@Suite("Scheduler state machine")
struct SchedulerStateTests {
    @Test("slots fill, then the queue, then jobs are rejected")
    func fillAndReject() {
        var s = SchedulerState(slots: 2, queueLimit: 1)
        #expect(s.submit(1) == [.start(1)])
        #expect(s.submit(2) == [.start(2)])
        #expect(s.submit(3) == [])
        #expect(s.waiting == [3])
        #expect(s.submit(4) == [.reject(4)])
        #expect(s.running == [1, 2])
    }

    @Test("a finished job's slot goes to the longest waiting job")
    func fifoHandOver() {
        var s = SchedulerState(slots: 1, queueLimit: 3)
        _ = s.submit(1)
        _ = s.submit(2)
        _ = s.submit(3)
        #expect(s.finished(1) == [.start(2)])
        #expect(s.finished(2) == [.start(3)])
        #expect(s.finished(3) == [])
        #expect(s.running.isEmpty && s.waiting.isEmpty)
        #expect(s.finished(3) == [], "finishing twice does nothing")
    }

    @Test("cancelling: a waiting job is dropped, a running one is stopped, a finished one is ignored")
    func cancel() {
        var s = SchedulerState(slots: 1, queueLimit: 2)
        _ = s.submit(1)
        _ = s.submit(2)
        _ = s.submit(3)
        #expect(s.cancel(2) == [.drop(2)])
        #expect(s.waiting == [3])
        #expect(s.cancel(1) == [.stop(1)])
        #expect(s.running == [1], "a stopped job keeps its slot until its runner reports it finished")
        #expect(s.finished(1) == [.start(3)])
        #expect(s.cancel(1) == [])
        #expect(s.cancel(99) == [])
    }

    @Test("with no queue, a busy server rejects at once")
    func noQueue() {
        var s = SchedulerState(slots: 1, queueLimit: 0)
        #expect(s.submit(1) == [.start(1)])
        #expect(s.submit(2) == [.reject(2)])
    }

    /// A random sequence of events checked against a simple model of the contract.
    @Test("random event sequences keep the invariants")
    func randomSequences() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let slots = Int.random(in: 1...3, using: &rng), limit = Int.random(in: 0...3, using: &rng)
            var s = SchedulerState(slots: slots, queueLimit: limit)
            var next = 1
            for _ in 0..<50 {
                switch Int.random(in: 0..<3, using: &rng) {
                case 0:
                    let before = (s.running.count, s.waiting.count)
                    let actions = s.submit(next)
                    if before.0 < slots { #expect(actions == [.start(next)]) }
                    else if before.1 < limit { #expect(actions == [] && s.waiting.last == next) }
                    else { #expect(actions == [.reject(next)]) }
                    next += 1
                case 1:
                    if let id = s.running.randomElement(using: &rng) {
                        let head = s.waiting.first
                        let actions = s.finished(id)
                        #expect(actions == (head.map { [.start($0)] } ?? []))
                    }
                default:
                    if let id = s.waiting.randomElement(using: &rng) { #expect(s.cancel(id) == [.drop(id)]) }
                }
                #expect(s.running.count <= slots && s.waiting.count <= limit)
                #expect(s.waiting.isEmpty || s.running.count == slots, "nobody waits while a slot is free")
                #expect(Set(s.waiting).isDisjoint(with: s.running))
            }
        }
    }
}
