import Dispatch

/// Runs `body(start, end)` over `0..<count` split into contiguous ranges, one per worker.
/// With one thread (or little work) it runs inline, so small calls pay no scheduling cost.
/// The fast-kernel work replaces this with a persistent pool; callers do not change.
public func parallelRanges(_ count: Int, threads: Int, minimumPerThread: Int = 1,
                           _ body: (_ start: Int, _ end: Int) -> Void) {
    let workers = max(1, min(threads, count / max(1, minimumPerThread)))
    if workers <= 1 { if count > 0 { body(0, count) }; return }
    withoutActuallyEscaping(body) { body in
        // The ranges are disjoint; what `body` writes per range is the caller's contract.
        nonisolated(unsafe) let run = body
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let start = count * w / workers, end = count * (w + 1) / workers
            if start < end { run(start, end) }
        }
    }
}
