import HearthSIMD
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The body of a parallel loop over a range: called once per piece, with that piece's bounds,
/// possibly on several threads at once.
///
/// The engine's per-token loops are small structs conforming to this, holding what the body
/// needs: the pool runs them in place through a pointer, so a parallel step allocates nothing.
/// (A closure handed to another thread has to be made escaping first, which boxes it.)
public protocol RangeWork {
    func callAsFunction(_ start: Int, _ end: Int)
}

extension RangeWork {
    /// Calls the work stored at `pointer`: how the pool reaches a value of a type it does not know.
    static func call(at pointer: UnsafeRawPointer, _ start: Int, _ end: Int) {
        pointer.assumingMemoryBound(to: Self.self).pointee(start, end)
    }
}

/// Runs `work(start, end)` over `0..<count` split into contiguous ranges shared out among the
/// threads of the shared `WorkerPool`. With one thread (or little work) it runs inline, so
/// small calls pay no scheduling cost.
///
/// The range is cut into a few chunks per thread, and each thread takes the next chunk when it
/// is done with one: a thread that is late (descheduled because the machine is busy) leaves its
/// share to the others instead of holding them up.
public func parallelRanges<Work: RangeWork>(_ count: Int, threads: Int, minimumPerThread: Int = 1, _ work: Work) {
    let workers = max(1, min(threads, count / max(1, minimumPerThread)))
    if workers <= 1 { if count > 0 { work(0, count) }; return }
    let chunks = min(count / max(1, minimumPerThread), workers * WorkerPool.chunksPerThread)
    WorkerPool.shared.run(count, chunks: chunks, helpers: workers - 1, work)
}

/// `parallelRanges` with a closure, for code off the per-token path: each call boxes the
/// closure (a small allocation).
public func parallelRanges(_ count: Int, threads: Int, minimumPerThread: Int = 1,
                           _ body: (_ start: Int, _ end: Int) -> Void) {
    if threads <= 1 || count < 2 * max(1, minimumPerThread) { if count > 0 { body(0, count) }; return }
    withoutActuallyEscaping(body) { body in
        parallelRanges(count, threads: threads, minimumPerThread: minimumPerThread, ClosureWork(body: body))
    }
}

private struct ClosureWork: RangeWork {
    let body: (Int, Int) -> Void
    func callAsFunction(_ start: Int, _ end: Int) { body(start, end) }
}

/// One set of long-lived threads that every parallel loop of the engine reuses: a forward pass
/// has a few hundred parallel steps per token, too many to pay for creating threads or queueing
/// blocks each time.
///
/// A job is a range `0 ..< count` cut into `chunks` pieces, each one call of the body; the
/// caller and the helpers take chunk numbers from a shared counter until none are left, and the
/// caller returns when every chunk has finished. The job is the caller's `RangeWork` value,
/// reached through a pointer to it on the caller's stack, so running one allocates nothing.
/// Nobody waits for a helper that has not started: if the machine is busy and a helper is not
/// running, the caller does its chunks.
///
/// Waiting is tiered so that a busy machine slows Hearth down instead of stalling it: a waiting
/// thread first spins briefly (a step is typically tens of microseconds away), then yields its
/// core to whoever else wants it, and after about a millisecond sleeps on a condition variable.
///
/// Protocol: `generation` is odd while a job is open. A helper announces itself in `active`,
/// then checks that the job it saw is still open before touching it; the caller closes the job
/// (generation even) and waits for `active` to drain before it forgets the body. With
/// sequentially consistent atomics, a helper either sees the job closed or is counted.
public final class WorkerPool: @unchecked Sendable {
    public static let shared = WorkerPool()
    /// Chunks per participating thread in `parallelRanges`.
    public static let chunksPerThread = 4

    private let generation = Atomic<Int>(0)
    private let nextChunk = Atomic<Int>(0)
    private let finishedChunks = Atomic<Int>(0)
    /// Helpers between announcing themselves for a job and leaving it.
    private let active = Atomic<Int>(0)
    /// Helper threads asleep on `wake`.
    private let sleepers = Atomic<Int>(0)
    // The open job. Written by `run` before the generation is bumped to odd and cleared only
    // after the job is closed and `active` is zero.
    nonisolated(unsafe) private var job: (type: any RangeWork.Type, value: UnsafeRawPointer)?
    nonisolated(unsafe) private var jobCount = 0
    nonisolated(unsafe) private var jobChunks = 0
    nonisolated(unsafe) private var jobHelpers = 0
    private var helpers = 0
    /// One job at a time: sessions on different threads take turns for the pool.
    private let runLock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let sleepLock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    static let spinsBeforeYield = 2_000
    static let yieldsBeforeSleep = 200

    init() {
        pthread_mutex_init(runLock, nil)
        pthread_mutex_init(sleepLock, nil)
        pthread_cond_init(wake, nil)
    }

    /// Calls `work(start, end)` for the `chunks` equal pieces of `0 ..< count` (empty pieces
    /// skipped), on the calling thread and up to `helpers` pool threads, and returns when all
    /// calls have finished. Not reentrant: `work` must not start another parallel loop (the pool
    /// runs one job at a time).
    public func run<Work: RangeWork>(_ count: Int, chunks: Int, helpers wanted: Int, _ work: Work) {
        if chunks <= 1 || wanted <= 0 {
            withUnsafePointer(to: work) { p in
                for i in 0..<max(chunks, 0) { Self.call(Work.self, p, chunk: i, of: chunks, count: count) }
            }
            return
        }
        pthread_mutex_lock(runLock)
        defer { pthread_mutex_unlock(runLock) }
        while helpers < wanted { startHelper(index: helpers + 1) }
        withUnsafePointer(to: work) { p in
            let body = (type: Work.self as any RangeWork.Type, value: UnsafeRawPointer(p))
            job = body
            jobCount = count
            jobChunks = chunks
            jobHelpers = wanted
            nextChunk.store(0, ordering: .relaxed)
            finishedChunks.store(0, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)          // open (odd)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(sleepLock)
                pthread_cond_broadcast(wake)
                pthread_mutex_unlock(sleepLock)
            }
            takeChunks(body, count: count, chunks: chunks)
            waitUntil { finishedChunks.load(ordering: .acquiring) == chunks }
            generation.add(1, ordering: .sequentiallyConsistent)          // closed (even)
            waitUntil { active.load(ordering: .sequentiallyConsistent) == 0 }
            job = nil
        }
    }

    /// Takes chunks until none are left.
    private func takeChunks(_ body: (type: any RangeWork.Type, value: UnsafeRawPointer), count: Int, chunks: Int) {
        while true {
            let i = nextChunk.add(1, ordering: .relaxed).oldValue
            if i >= chunks { return }
            Self.call(body.type, body.value, chunk: i, of: chunks, count: count)
            finishedChunks.add(1, ordering: .releasing)
        }
    }

    /// Runs chunk `i` of `chunks` of `0 ..< count` (nothing when that piece is empty).
    @inline(__always)
    private static func call(_ type: any RangeWork.Type, _ work: UnsafeRawPointer, chunk i: Int, of chunks: Int, count: Int) {
        let start = count * i / chunks, end = count * (i + 1) / chunks
        if start < end { type.call(at: work, start, end) }
    }

    private func waitUntil(_ done: () -> Bool) {
        var spins = 0
        while !done() {
            if spins < Self.spinsBeforeYield { hearth_cpu_relax(); spins += 1 } else { sched_yield() }
        }
    }

    private func startHelper(index: Int) {
        helpers += 1
        // The helper starts from the generation current now, before `run` opens its job, so it
        // cannot miss that job however late the thread gets scheduled.
        let start = generation.load(ordering: .acquiring)
        let context = Unmanaged.passRetained(HelperContext(pool: self, index: index, seen: start)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let context = Unmanaged<HelperContext>.fromOpaque(raw!).takeRetainedValue()
            context.pool.helperLoop(index: context.index, seen: context.seen)
            return nil
        }, context)
        precondition(rc == 0, "cannot start a worker thread (pthread_create: \(rc))")
        pthread_detach(thread)
    }

    private func helperLoop(index: Int, seen start: Int) {
        var seen = start
        while true {
            let g = waitForOpenJob(after: seen)
            seen = g
            active.add(1, ordering: .sequentiallyConsistent)
            if generation.load(ordering: .sequentiallyConsistent) == g, index <= jobHelpers, let body = job {
                takeChunks(body, count: jobCount, chunks: jobChunks)
            }
            active.subtract(1, ordering: .sequentiallyConsistent)
        }
    }

    /// Waits until the generation is odd (a job is open) and differs from `seen`; returns it.
    private func waitForOpenJob(after seen: Int) -> Int {
        func open() -> Int? {
            let g = generation.load(ordering: .sequentiallyConsistent)
            return g != seen && g & 1 == 1 ? g : nil
        }
        for _ in 0..<Self.spinsBeforeYield {
            if let g = open() { return g }
            hearth_cpu_relax()
        }
        for _ in 0..<Self.yieldsBeforeSleep {
            if let g = open() { return g }
            sched_yield()
        }
        pthread_mutex_lock(sleepLock)
        sleepers.add(1, ordering: .sequentiallyConsistent)
        var g = open()
        while g == nil {
            pthread_cond_wait(wake, sleepLock)
            g = open()
        }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(sleepLock)
        return g!
    }

    private final class HelperContext {
        let pool: WorkerPool
        let index: Int
        let seen: Int
        init(pool: WorkerPool, index: Int, seen: Int) { self.pool = pool; self.index = index; self.seen = seen }
    }
}
