import Synchronization

/// Counters and gauges for `/metrics`, in Prometheus' text exposition format (version 0.0.4).
public final class ServerMetrics: Sendable {
    private struct Values {
        var requests: [RouteStatus: Int] = [:]
        var promptTokens = 0
        var promptSeconds = 0.0
        var generatedTokens = 0
        var generationSeconds = 0.0
        var firstTokenBuckets = [Int](repeating: 0, count: ServerMetrics.firstTokenBuckets.count)
        var firstTokenCount = 0
        var firstTokenSum = 0.0
        var queueDepth = 0
        var running = 0
        var rejected = 0
        var kvTokens = 0
        var kvCapacity = 0
    }

    private let values = Mutex(Values())
    /// Upper bounds (seconds) of the time-to-first-token histogram's buckets.
    static let firstTokenBuckets: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    public init() {}

    private struct RouteStatus: Hashable, Comparable {
        let route: String
        let status: Int
        static func < (a: Self, b: Self) -> Bool { (a.route, a.status) < (b.route, b.status) }
    }

    func request(route: String, status: Int) {
        values.withLock { $0.requests[RouteStatus(route: route, status: status), default: 0] += 1 }
    }
    func promptEvaluated(tokens: Int, seconds: Double) { values.withLock { $0.promptTokens += tokens; $0.promptSeconds += seconds } }
    func generated(tokens: Int, seconds: Double) { values.withLock { $0.generatedTokens += tokens; $0.generationSeconds += seconds } }
    func firstToken(after seconds: Double) {
        values.withLock { v in
            for (i, bound) in Self.firstTokenBuckets.enumerated() where seconds <= bound { v.firstTokenBuckets[i] += 1 }
            v.firstTokenCount += 1
            v.firstTokenSum += seconds
        }
    }
    func setQueueDepth(_ n: Int) { values.withLock { $0.queueDepth = n } }
    func jobStarted() { values.withLock { $0.running += 1 } }
    func jobFinished() { values.withLock { $0.running -= 1 } }
    func rejected() { values.withLock { $0.rejected += 1 } }
    func setKVCache(tokens: Int, capacity: Int) { values.withLock { $0.kvTokens = tokens; $0.kvCapacity = capacity } }

    /// The exposition text.
    public func render() -> String {
        let v = values.withLock { $0 }
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ lines: [String]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for line in lines { out += line + "\n" }
        }
        metric("hearth_requests_total", "counter", "HTTP requests by route and status.",
               v.requests.sorted { $0.key < $1.key }.map { key, count in
                   "hearth_requests_total{route=\"\(key.route)\",status=\"\(key.status)\"} \(count)"
               })
        metric("hearth_prompt_tokens_total", "counter", "Prompt tokens evaluated.", ["hearth_prompt_tokens_total \(v.promptTokens)"])
        metric("hearth_generated_tokens_total", "counter", "Tokens generated.", ["hearth_generated_tokens_total \(v.generatedTokens)"])
        metric("hearth_prompt_seconds_total", "counter", "Seconds spent evaluating prompts.", ["hearth_prompt_seconds_total \(v.promptSeconds)"])
        metric("hearth_generation_seconds_total", "counter", "Seconds spent generating.", ["hearth_generation_seconds_total \(v.generationSeconds)"])
        metric("hearth_generation_tokens_per_second", "gauge", "Generated tokens per second over the server's life.",
               ["hearth_generation_tokens_per_second \(v.generationSeconds > 0 ? Double(v.generatedTokens) / v.generationSeconds : 0)"])
        var buckets: [String] = []
        for (bound, n) in zip(Self.firstTokenBuckets, v.firstTokenBuckets) {
            buckets.append("hearth_time_to_first_token_seconds_bucket{le=\"\(bound)\"} \(n)")
        }
        buckets.append("hearth_time_to_first_token_seconds_bucket{le=\"+Inf\"} \(v.firstTokenCount)")
        buckets.append("hearth_time_to_first_token_seconds_sum \(v.firstTokenSum)")
        buckets.append("hearth_time_to_first_token_seconds_count \(v.firstTokenCount)")
        metric("hearth_time_to_first_token_seconds", "histogram", "From a request's arrival to its first text.", buckets)
        metric("hearth_queue_depth", "gauge", "Requests waiting for an engine slot.", ["hearth_queue_depth \(v.queueDepth)"])
        metric("hearth_requests_running", "gauge", "Requests being generated.", ["hearth_requests_running \(v.running)"])
        metric("hearth_requests_rejected_total", "counter", "Requests turned away because the queue was full.",
               ["hearth_requests_rejected_total \(v.rejected)"])
        metric("hearth_kv_cache_tokens", "gauge", "Tokens held in the KV caches of all sessions, running and idle.",
               ["hearth_kv_cache_tokens \(v.kvTokens)"])
        metric("hearth_kv_cache_capacity_tokens", "gauge", "Positions the KV caches of all sessions can hold.",
               ["hearth_kv_cache_capacity_tokens \(v.kvCapacity)"])
        return out
    }
}
