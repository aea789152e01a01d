import Foundation
import HearthEngine
import Synchronization

/// Runs generation jobs as `SchedulerState` decides, with continuous batching.
///
/// The engine is synchronous and CPU-bound, so it never runs on Swift's cooperative threads
/// (which also serve the HTTP connections): one engine thread of its own runs every job.
/// Each running job (up to `slots`) has an engine session. At every step the thread evaluates
/// the next token of every running job of a model in one batched forward pass
/// (`Session.decode`), so the weights are read once for all of them. A job that arrives joins
/// the batch at the next step, once its prompt is read. A job that ends leaves it.
///
/// Sessions outlive their jobs. A new job takes the idle session of its model that already
/// holds the longest prefix of its prompt, so a chat that grows turn by turn only evaluates its
/// new tokens (prompt-prefix reuse).
public final class GenerationScheduler: Sendable {
    public struct QueueFull: Error {}

    private struct Shared {
        var state: SchedulerState
        var jobs: [Int: GenerationJob] = [:]
        var ready: [GenerationJob] = []
        var nextID = 1
        /// Unloaded models whose idle sessions the engine thread is to drop.
        var forgotten: [ObjectIdentifier] = []
    }

    private let shared: Mutex<Shared>
    private let wakeup = NSCondition()
    private let contextSize: Int
    private let threads: Int
    private let slots: Int
    public let metrics: ServerMetrics

    /// Starts the engine thread; up to `slots` jobs run at once.
    public init(slots: Int, queueLimit: Int, contextSize: Int, threads: Int, metrics: ServerMetrics) {
        shared = Mutex(Shared(state: SchedulerState(slots: slots, queueLimit: queueLimit)))
        self.contextSize = contextSize
        self.threads = threads
        self.metrics = metrics
        self.slots = slots
        let thread = Thread { [self] in engineLoop() }
        thread.name = "hearth-engine"
        thread.stackSize = 8 << 20
        thread.start()
    }

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
        model.activeJobs.add(1, ordering: .relaxed)
        carryOut(actions)
        return Handle(id: job.id, events: stream, scheduler: self)
    }

    /// Jobs waiting for a slot.
    public var queueDepth: Int { shared.withLock { $0.state.waiting.count } }
    /// Jobs running.
    public var runningCount: Int { shared.withLock { $0.state.running.count } }

    /// Drops the idle sessions of an unloaded model (at once, even if the engine is idle).
    func forget(_ model: ServedModel) {
        wakeup.lock()
        shared.withLock { $0.forgotten.append(ObjectIdentifier(model)) }
        wakeup.signal()
        wakeup.unlock()
    }

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

    /// The next job to start: waits for one when `wait`, else nil when none is ready. Also nil
    /// when woken to drop the sessions of an unloaded model.
    private func nextJob(wait: Bool) -> GenerationJob? {
        wakeup.lock()
        defer { wakeup.unlock() }
        while true {
            if let job = shared.withLock({ s in s.ready.isEmpty ? nil : s.ready.removeFirst() }) { return job }
            guard wait, shared.withLock({ $0.forgotten.isEmpty }) else { return nil }
            wakeup.wait()
        }
    }

    /// A job between its first and its last token.
    private struct Running {
        let job: GenerationJob
        let session: Session
        var sequence: SequenceGeneration
        /// Prompt tokens still to read, a chunk per step.
        var unread: ArraySlice<Int32>
        /// The token to evaluate at the next step, once the prompt is read.
        var next: Int32?
        let reused: Int
        var promptSeconds = 0.0
        var started = ContinuousClock.now
        var pending: [TokenLogprob] = []
        var seenText = false
    }

    /// Idle sessions, per loaded model.
    private final class SessionPool {
        var idle: [ObjectIdentifier: [Session]] = [:]
        var count: [ObjectIdentifier: Int] = [:]
    }

    /// Prompt tokens a job reads per step while others decode.
    static let promptChunk = 64

    private func engineLoop() {
        let pool = SessionPool()
        var running: [Running] = []
        while true {
            for id in shared.withLock({ s in defer { s.forgotten.removeAll() }; return s.forgotten }) {
                pool.idle[id] = nil
                pool.count[id] = nil
            }
            // Admit waiting jobs into free slots; with nothing running, wait for one.
            while running.count < slots, let job = nextJob(wait: running.isEmpty) {
                metrics.jobStarted()
                var session: Session?
                do {
                    session = try takeSession(for: job, from: pool)
                    if let r = try begin(job, session!) {
                        running.append(r)
                        continue
                    }
                } catch {
                    job.events.yield(.failed(error.message))
                }
                complete(job, session: session, pool: pool)
            }
            if running.isEmpty { continue }

            // Jobs still reading their prompt read one chunk each, so that a long prompt holds
            // the others back by one chunk per step, not by all of it.
            var ended: [Int] = []
            var failed: [Int: String] = [:]
            for i in running.indices where !running[i].unread.isEmpty {
                if running[i].job.shouldStop { ended.append(i); continue }  // its client went away
                let chunk = running[i].unread.prefix(Self.promptChunk)
                running[i].unread = running[i].unread.dropFirst(chunk.count)
                do {
                    let start = ContinuousClock.now
                    let logits = try running[i].session.evaluate(Array(chunk))
                    let seconds = (ContinuousClock.now - start).seconds
                    running[i].promptSeconds += seconds
                    metrics.promptEvaluated(tokens: chunk.count, seconds: seconds)
                    if running[i].unread.isEmpty {
                        running[i].started = .now
                        if try !advance(&running[i], logits: logits) { ended.append(i) }
                    }
                } catch {
                    failed[i] = error.message
                    ended.append(i)
                }
            }
            // One batched pass per model for the jobs past their prompt, then a step of each.
            let decoding = running.indices.filter { running[$0].next != nil && !ended.contains($0) }
            for model in Set(decoding.map { ObjectIdentifier(running[$0].job.model) }) {
                let batch = decoding.filter { ObjectIdentifier(running[$0].job.model) == model }
                do { try Session.decode(batch.map { (running[$0].session, running[$0].next!) }) } catch {
                    for i in batch { failed[i] = error.message; ended.append(i) }
                    continue
                }
                for i in batch {
                    do {
                        if try !advance(&running[i], logits: running[i].session.lastLogits) { ended.append(i) }
                    } catch {
                        failed[i] = error.message
                        ended.append(i)
                    }
                }
            }
            for (i, message) in failed { running[i].job.events.yield(.failed(message)) }
            ended = Set(ended).sorted()
            for i in ended.reversed() {
                let r = running.remove(at: i)
                if failed[i] == nil, r.sequence.stopReason != nil { report(r) }
                complete(r.job, session: r.session, pool: pool)
            }
            var kvTokens = 0, kvCapacity = 0
            for r in running { kvTokens += r.session.tokens.count; kvCapacity += r.session.contextSize }
            for idle in pool.idle.values {
                for s in idle { kvTokens += s.tokens.count; kvCapacity += s.contextSize }
            }
            metrics.setKVCache(tokens: kvTokens, capacity: kvCapacity)
        }
    }

    /// The idle session of the job's model holding the longest prefix of its prompt, or a new
    /// one; sessions per model are at most the number of slots.
    private func takeSession(for job: GenerationJob, from pool: SessionPool) throws(EngineError) -> Session {
        let name = ObjectIdentifier(job.model)
        var idle = pool.idle[name] ?? []
        func shared(_ s: Session) -> Int { zip(s.tokens, job.promptTokens).prefix { $0 == $1 }.count }
        if let best = idle.indices.max(by: { shared(idle[$0]) < shared(idle[$1]) }),
           shared(idle[best]) > 0 || pool.count[name, default: 0] >= slots {
            let session = idle.remove(at: best)
            pool.idle[name] = idle
            return session
        }
        let session = try job.model.model.makeSession(contextSize: contextSize, threads: threads)
        pool.count[name, default: 0] += 1
        return session
    }

    /// Ends a job: the session goes back to the pool and the slot to the next job before the
    /// client sees the end of its stream.
    private func complete(_ job: GenerationJob, session: Session?, pool: SessionPool) {
        let id = ObjectIdentifier(job.model)
        if job.model.unloaded.load(ordering: .relaxed) {
            pool.idle[id] = nil  // an unloaded model's sessions go with it
            pool.count[id] = nil
        } else if let session {
            pool.idle[id, default: []].append(session)
        }
        job.model.touch()
        job.model.activeJobs.subtract(1, ordering: .relaxed)
        metrics.jobFinished()
        let actions = shared.withLock { s -> [SchedulerState.Action] in
            s.jobs.removeValue(forKey: job.id)
            return s.state.finished(job.id)
        }
        job.events.finish()
        carryOut(actions)
    }

    /// Starts a job: embeds or scores it, or sets it up to read the rest of its prompt.
    /// Returns the running sequence, or nil when the job is already done (its events sent).
    private func begin(_ job: GenerationJob, _ session: Session) throws(EngineError) -> Running? {
        let model = job.model.model
        if job.kind == .embed {
            let start = ContinuousClock.now
            let vector = try model.embed(job.promptTokens, in: session)
            let seconds = (ContinuousClock.now - start).seconds
            metrics.promptEvaluated(tokens: job.promptTokens.count, seconds: seconds)
            job.events.yield(.embedding(vector))
            job.events.yield(.finished(.init(promptTokens: job.promptTokens.count, cachedTokens: 0, generatedTokens: 0,
                                             stopReason: .maxTokens, promptSeconds: seconds, generationSeconds: 0)))
            return nil
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
        let suffix = Array(job.promptTokens[reused...])
        guard suffix.count < session.contextSize - session.tokens.count else {
            throw EngineError("the prompt has \(job.promptTokens.count) tokens but the context holds \(session.contextSize)")
        }
        let sequence = try SequenceGeneration(model: model, options: job.options)
        return Running(job: job, session: session, sequence: sequence, unread: suffix[...], next: nil, reused: reused)
    }

    /// Draws a sequence's next token and sends its text; false when the sequence has ended.
    private func advance(_ r: inout Running, logits: UnsafeMutableBufferPointer<Float>) throws(EngineError) -> Bool {
        let job = r.job
        var pending = r.pending, seenText = r.seenText
        let next = try r.sequence.step(logits, in: r.session, onText: { piece in
            if !seenText { self.metrics.firstToken(after: job.created.duration(to: .now).seconds); seenText = true }
            job.events.yield(.text(piece, pending))
            pending.removeAll()
            return !job.shouldStop
        }, onToken: { _, logprob in if let logprob { pending.append(logprob) } })
        r.pending = pending
        r.seenText = seenText
        r.next = next
        return next != nil
    }

    /// The end of a sequence: its last log-probabilities and its summary.
    private func report(_ r: Running) {
        if !r.pending.isEmpty { r.job.events.yield(.text("", r.pending)) }
        let seconds = (ContinuousClock.now - r.started).seconds
        metrics.generated(tokens: r.sequence.generated.count, seconds: seconds)
        r.job.events.yield(.finished(.init(promptTokens: r.job.promptTokens.count, cachedTokens: r.reused,
                                           generatedTokens: r.sequence.generated.count,
                                           stopReason: r.sequence.stopReason ?? .maxTokens, promptSeconds: r.promptSeconds,
                                           generationSeconds: seconds, endToken: r.sequence.endOfGenerationLogprob)))
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
