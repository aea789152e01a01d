/// Which generation jobs run, which wait, and which are turned away: a pure state machine (no
/// I/O, no threads), so every decision can be tested on its own. `GenerationScheduler` feeds it
/// events and carries out the actions it returns.
///
/// Up to `slots` jobs run at once (each on its own engine session); up to `queueLimit` more wait
/// in arrival order; beyond that a job is rejected (the server answers 503 with Retry-After).
/// A waiting job that is cancelled leaves the queue at once; a running one is told to stop and
/// frees its slot when its runner reports it finished.
public struct SchedulerState: Sendable {
    public typealias JobID = Int

    public enum Action: Equatable, Sendable {
        /// Run this job now.
        case start(JobID)
        /// Turn this job away: the queue is full.
        case reject(JobID)
        /// Tell this running job to stop as soon as it can.
        case stop(JobID)
        /// Drop this waiting job (it never ran).
        case drop(JobID)
    }

    public let slots: Int
    public let queueLimit: Int
    public private(set) var running: Set<JobID> = []
    public private(set) var waiting: [JobID] = []

    public init(slots: Int, queueLimit: Int) {
        precondition(slots >= 1 && queueLimit >= 0, "a scheduler needs a slot and a queue limit of 0 or more")
        self.slots = slots
        self.queueLimit = queueLimit
    }

    /// A new job arrived.
    public mutating func submit(_ id: JobID) -> [Action] {
        if running.count < slots {
            running.insert(id)
            return [.start(id)]
        }
        guard waiting.count < queueLimit else { return [.reject(id)] }
        waiting.append(id)
        return []
    }

    /// A running job finished (done, failed or stopped): its slot goes to the longest waiting job.
    public mutating func finished(_ id: JobID) -> [Action] {
        guard running.remove(id) != nil else { return [] }
        guard !waiting.isEmpty else { return [] }
        let next = waiting.removeFirst()
        running.insert(next)
        return [.start(next)]
    }

    /// The client of a job went away.
    public mutating func cancel(_ id: JobID) -> [Action] {
        if running.contains(id) { return [.stop(id)] }
        if let i = waiting.firstIndex(of: id) {
            waiting.remove(at: i)
            return [.drop(id)]
        }
        return []
    }
}
