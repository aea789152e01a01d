import Foundation
import HearthEngine
import Synchronization

/// Runs generation jobs on a fixed set of engine threads, as `SchedulerState` decides.
///
/// The engine is synchronous and CPU-bound, so it never runs on Swift's cooperative threads
/// (which also serve the HTTP connections): each slot is a thread of its own, with one engine
/// session per model. A slot keeps its session between jobs, so a request that starts with the
/// same tokens as the slot's previous one (a chat growing turn by turn) only evaluates the new
/// part (prompt-prefix reuse). Jobs in different slots take turns at every parallel step of the
/// forward pass (the engine's worker pool runs one step at a time), so a long request does not
/// hold a short one back by more than one step.
public final class GenerationScheduler: Sendable {
    public struct QueueFull: Error {}

    private struct Shared {
        var state: SchedulerState
        var jobs: [Int: GenerationJob] = [:]
        var ready: [GenerationJob] = []
        var nextID = 1
        var shuttingDown = false
    }

    private let shared: Mutex<Shared>
    private let wakeup = NSCondition()
    private let contextSize: Int
    private let threads: Int
    public let metrics: ServerMetrics

    /// Starts `slots` engine threads.
    public init(slots: Int, queueLimit: Int, contextSize: Int, threads: Int, metrics: ServerMetrics) {
        shared = Mutex(Shared(state: SchedulerState(slots: slots, queueLimit: queueLimit)))
        self.contextSize = contextSize
        self.threads = threads
        self.metrics = metrics
        for slot in 0..<slots {
            let thread = Thread { [self] in runSlot(slot) }
            thread.name = "hearth-engine-\(slot)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    public var contextSizePerSlot: Int { contextSize }

    /// A submitted job: its events, and how to cancel it (the client went away).
    public struct Handle: Sendable {
        public let id: Int
        public let events: AsyncStream<GenerationJob.Event>
        let scheduler: GenerationScheduler
        /// Stops the job if it runs, drops it if it waits; nothing once it has finished.
        public func cancel() { scheduler.cancel(id) }
    }

    /// Queues a job. Throws `QueueFull` when every slot is busy and the queue is full.
    public func submit(model: ServedModel, promptTokens: [Int32], options: GenerationOptions,
                       kind: GenerationJob.Kind = .generate) throws(QueueFull) -> Handle {
        let (stream, continuation) = AsyncStream<GenerationJob.Event>.makeStream()
        let (job, actions) = shared.withLock { s -> (GenerationJob, [SchedulerState.Action]) in
            let job = GenerationJob(id: s.nextID, model: model, promptTokens: promptTokens, options: options,
                                    kind: kind, events: continuation)
            s.nextID += 1
            s.jobs[job.id] = job
            return (job, s.state.submit(job.id))
        }
        if actions.contains(.reject(job.id)) {
            _ = shared.withLock { $0.jobs.removeValue(forKey: job.id) }
            metrics.rejected()
            throw QueueFull()
        }
        carryOut(actions)
        return Handle(id: job.id, events: stream, scheduler: self)
    }

    /// Jobs waiting for a slot.
    public var queueDepth: Int { shared.withLock { $0.state.waiting.count } }
    /// Jobs running.
    public var runningCount: Int { shared.withLock { $0.state.running.count } }

    func cancel(_ id: Int) {
        let actions = shared.withLock { $0.state.cancel(id) }
        carryOut(actions)
    }

    private func carryOut(_ actions: [SchedulerState.Action]) {
        for action in actions {
            switch action {
            case .start(let id):
                wakeup.lock()
                shared.withLock { s in if let job = s.jobs[id] { s.ready.append(job) } }
                wakeup.signal()
                wakeup.unlock()
            case .stop(let id):
                shared.withLock { $0.jobs[id] }?.requestStop()
            case .drop(let id):
                if let job = shared.withLock({ $0.jobs.removeValue(forKey: id) }) { job.events.finish() }
            case .reject:
                break  // answered by `submit`
            }
        }
        metrics.setQueueDepth(queueDepth)
    }

    private func nextJob() -> GenerationJob {
        wakeup.lock()
        defer { wakeup.unlock() }
        while true {
            if let job = shared.withLock({ s in s.ready.isEmpty ? nil : s.ready.removeFirst() }) { return job }
            wakeup.wait()
        }
    }

    private func runSlot(_ slot: Int) {
        var sessions: [String: Session] = [:]
        while true {
            let job = nextJob()
            metrics.jobStarted()
            do {
                let session: Session
                if let existing = sessions[job.model.name] {
                    session = existing
                } else {
                    session = try job.model.model.makeSession(contextSize: contextSize, threads: threads)
                    sessions[job.model.name] = session
                }
                try run(job, in: session)
            } catch {
                job.events.yield(.failed(error.message))
            }
            // The slot is free before the client sees the end of its stream.
            metrics.jobFinished()
            let actions = shared.withLock { s -> [SchedulerState.Action] in
                s.jobs.removeValue(forKey: job.id)
                return s.state.finished(job.id)
            }
            job.events.finish()
            carryOut(actions)
        }
    }

    private func run(_ job: GenerationJob, in session: Session) throws(EngineError) {
        let queued = job.created.duration(to: .now)
        let model = job.model.model
        if job.kind == .embed {
            let start = ContinuousClock.now
            let vector = try model.embed(job.promptTokens, in: session)
            let seconds = (ContinuousClock.now - start).seconds
            metrics.promptEvaluated(tokens: job.promptTokens.count, seconds: seconds)
            job.events.yield(.embedding(vector))
            job.events.yield(.finished(.init(promptTokens: job.promptTokens.count, cachedTokens: 0, generatedTokens: 0,
                                             stopReason: .maxTokens, promptSeconds: seconds, generationSeconds: 0,
                                             queuedSeconds: queued.seconds)))
            return
        }
        if job.kind == .scoreAndGenerate {
            let start = ContinuousClock.now
            let scores = try model.scorePrompt(job.promptTokens, in: session, top: job.options.topLogprobs ?? 0)
            metrics.promptEvaluated(tokens: job.promptTokens.count, seconds: (ContinuousClock.now - start).seconds)
            job.events.yield(.promptLogprobs(scores))
        }
        // Reuse what the session already holds of this prompt; at least the last token is
        // evaluated again, for its logits.
        let held = zip(session.tokens, job.promptTokens).prefix { $0 == $1 }.count
        let reused = min(held, job.promptTokens.count - 1)
        session.rewind(to: reused)
        if job.options.maxTokens == 0 {
            job.events.yield(.finished(.init(promptTokens: job.promptTokens.count, cachedTokens: reused, generatedTokens: 0,
                                             stopReason: .maxTokens, promptSeconds: 0, generationSeconds: 0,
                                             queuedSeconds: queued.seconds)))
            return
        }
        var pending: [TokenLogprob] = []
        var firstText = true
        let result = try model.generate(in: session, promptTokens: Array(job.promptTokens[reused...]), options: job.options,
            onText: { piece in
                if firstText { self.metrics.firstToken(after: (job.created.duration(to: .now)).seconds); firstText = false }
                job.events.yield(.text(piece, pending))
                pending.removeAll()
                return !job.shouldStop
            },
            onToken: { _, logprob in if let logprob { pending.append(logprob) } })
        if !pending.isEmpty { job.events.yield(.text("", pending)) }
        metrics.promptEvaluated(tokens: result.promptTokens, seconds: result.promptSeconds)
        metrics.generated(tokens: result.tokens.count, seconds: result.generationSeconds)
        job.events.yield(.finished(.init(promptTokens: job.promptTokens.count, cachedTokens: reused,
                                         generatedTokens: result.tokens.count, stopReason: result.stopReason,
                                         promptSeconds: result.promptSeconds, generationSeconds: result.generationSeconds,
                                         queuedSeconds: queued.seconds)))
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
