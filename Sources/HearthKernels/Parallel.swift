import HearthSIMD
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs `body(start, end)` over `0..<count` split into contiguous ranges, one per worker of the
/// shared `WorkerPool`. With one thread (or little work) it runs inline, so small calls pay no
/// scheduling cost.
public func parallelRanges(_ count: Int, threads: Int, minimumPerThread: Int = 1,
                           _ body: (_ start: Int, _ end: Int) -> Void) {
    let workers = max(1, min(threads, count / max(1, minimumPerThread)))
    if workers <= 1 { if count > 0 { body(0, count) }; return }
    WorkerPool.shared.run(workers: workers) { w in
        let start = count * w / workers, end = count * (w + 1) / workers
        if start < end { body(start, end) }
    }
}

/// One set of long-lived threads that every parallel loop of the engine reuses: a forward pass
/// has a few hundred parallel steps per token, too many to pay for creating threads or queueing
/// blocks each time.
///
/// Waiting is tiered so that a busy machine slows Hearth down instead of stalling it: a waiting
/// thread first spins briefly (a step is typically tens of microseconds away), then yields its
/// core to whoever else wants it, and after about a millisecond sleeps on a condition variable.
/// The caller of `run` is worker 0 and waits for the others the same way (spin, then yield).
public final class WorkerPool: @unchecked Sendable {
    public static let shared = WorkerPool()

    /// Bumped once per job; workers wait for it to change.
    private let generation = Atomic<Int>(0)
    /// Helper threads still working on the current job.
    private let pending = Atomic<Int>(0)
    /// Helper threads asleep on `wake`.
    private let sleepers = Atomic<Int>(0)
    // The current job. Written by `run` before `generation` is bumped (release) and read by the
    // workers after they see the bump (acquire).
    nonisolated(unsafe) private var job: ((Int) -> Void)?
    nonisolated(unsafe) private var jobWorkers = 0
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

    /// Calls `body(w)` for w in 0..<workers, `body(0)` on the calling thread, and returns when
    /// all have finished.
    public func run(workers: Int, _ body: (Int) -> Void) {
        if workers <= 1 { body(0); return }
        pthread_mutex_lock(runLock)
        defer { pthread_mutex_unlock(runLock) }
        while helpers < workers - 1 { startHelper(index: helpers + 1) }
        withoutActuallyEscaping(body) { body in
            job = body
            jobWorkers = workers
            pending.store(workers - 1, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(sleepLock)
                pthread_cond_broadcast(wake)
                pthread_mutex_unlock(sleepLock)
            }
            body(0)
            var spins = 0
            while pending.load(ordering: .acquiring) > 0 {
                if spins < Self.spinsBeforeYield { hearth_cpu_relax(); spins += 1 } else { sched_yield() }
            }
            job = nil
        }
    }

    private func startHelper(index: Int) {
        helpers += 1
        // The helper starts from the generation current now, before `run` posts its job, so it
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
            seen = waitForJob(after: seen)
            if index < jobWorkers {
                job!(index)
                pending.subtract(1, ordering: .releasing)
            }
        }
    }

    /// Waits until `generation` differs from `seen` and returns the new value.
    private func waitForJob(after seen: Int) -> Int {
        for _ in 0..<Self.spinsBeforeYield {
            let g = generation.load(ordering: .acquiring)
            if g != seen { return g }
            hearth_cpu_relax()
        }
        for _ in 0..<Self.yieldsBeforeSleep {
            let g = generation.load(ordering: .acquiring)
            if g != seen { return g }
            sched_yield()
        }
        pthread_mutex_lock(sleepLock)
        sleepers.add(1, ordering: .sequentiallyConsistent)
        while generation.load(ordering: .sequentiallyConsistent) == seen {
            pthread_cond_wait(wake, sleepLock)
        }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(sleepLock)
        return generation.load(ordering: .acquiring)
    }

    private final class HelperContext {
        let pool: WorkerPool
        let index: Int
        let seen: Int
        init(pool: WorkerPool, index: Int, seen: Int) { self.pool = pool; self.index = index; self.seen = seen }
    }
}
