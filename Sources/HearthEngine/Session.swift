import Foundation
import HearthKernels

/// One conversation's state on a model: the KV cache, the tokens it holds, and the scratch
/// buffers of the forward pass. Not thread-safe: one session serves one request at a time;
/// many sessions can share one model.
public final class Session: @unchecked Sendable {
    public let network: any LanguageModel
    public let cache: KVCache
    public let workspace: Workspace
    /// The tokens whose keys and values are in the cache, in order.
    public private(set) var tokens: [Int32] = []
    private var logitBuffer: UnsafeMutablePointer<Float>
    private var logitCapacity: Int

    /// - contextSize: positions the KV cache holds (prompt plus generated tokens).
    /// - batchSize: tokens per forward pass when reading a prompt.
    /// - kernels: the instruction-set path of the matrix products; nil takes `HEARTH_KERNELS`
    ///   from the environment, or the fastest path this CPU has.
    public init(network: any LanguageModel, contextSize: Int, threads: Int, batchSize: Int = 256,
                kernels: KernelPath? = nil) throws(EngineError) {
        let path: KernelPath
        if let kernels {
            guard kernels.isSupported else { throw EngineError("this CPU cannot run the \(kernels) kernels") }
            path = kernels
        } else {
            do { path = try KernelPath.fromEnvironment(ProcessInfo.processInfo.environment["HEARTH_KERNELS"]) } catch {
                throw EngineError(error.description)
            }
        }
        guard contextSize > 0 else { throw EngineError("the context size must be positive (got \(contextSize))") }
        guard batchSize > 0 else { throw EngineError("the batch size must be positive (got \(batchSize))") }
        // 2 (keys and values) x layers x positions x kvDim f16 values, checked before allocating.
        let s = network.shape
        let (a, o1) = (2 * s.nLayers).multipliedReportingOverflow(by: contextSize)
        let (b, o2) = a.multipliedReportingOverflow(by: s.kvDim * MemoryLayout<UInt16>.size)
        guard !o1 && !o2 && b <= Session.maximumCacheBytes else {
            throw EngineError("a context of \(contextSize) tokens needs a KV cache of \(o1 || o2 ? "more than 2^63" : String(b / (1 << 20))) MiB; the limit is \(Session.maximumCacheBytes >> 30) GiB")
        }
        self.network = network
        cache = network.makeCache(capacity: contextSize)
        workspace = Workspace(shape: network.shape, maxBatch: min(batchSize, contextSize), threads: threads, kernels: path)
        logitCapacity = network.shape.vocab
        // Repack the weights for this path now (once per model and path), several at a time.
        let products = network.matrixProducts(on: path)
        parallelRanges(products.count, threads: threads) { a, b in for i in a..<b { products[i].prepare() } }
        logitBuffer = .allocate(capacity: logitCapacity)
    }

    deinit { logitBuffer.deallocate() }

    /// The largest KV cache a session may allocate.
    public static let maximumCacheBytes = 64 << 30

    public var contextSize: Int { cache.capacity }
    public var vocabularySize: Int { network.shape.vocab }

    /// Forgets everything after the first `count` tokens (to reuse a shared prefix).
    public func rewind(to count: Int) {
        let n = max(0, min(count, tokens.count))
        tokens.removeSubrange(n...)
        cache.truncate(to: n)
    }

    /// Appends `newTokens` to the session and returns the logits of the last one, or of every
    /// one (`rows: .all`): (1 or newTokens.count) rows of `vocabularySize`; or, for `.hidden`,
    /// every token's final normed hidden state (newTokens.count rows of the model's `dim`).
    /// The buffer is valid until the next call.
    @discardableResult
    public func evaluate(_ newTokens: [Int32], rows: LogitRows = .last) throws(EngineError) -> UnsafeMutableBufferPointer<Float> {
        guard !newTokens.isEmpty else { throw EngineError("nothing to evaluate: no tokens given") }
        let vocab = network.shape.vocab
        if let bad = newTokens.first(where: { $0 < 0 || Int($0) >= vocab }) {
            throw EngineError("token id \(bad) is outside the vocabulary (0..<\(vocab))")
        }
        guard tokens.count + newTokens.count <= contextSize else {
            throw EngineError("\(tokens.count + newTokens.count) tokens do not fit the context of \(contextSize) tokens (\(tokens.count) already held, \(newTokens.count) new)")
        }
        // Floats per row written, and whether each chunk's rows follow the previous chunk's.
        let width = rows == .hidden ? network.shape.dim : vocab
        let everyRow = rows != .last
        let needed = everyRow ? newTokens.count * width : width
        if needed > logitCapacity {
            logitBuffer.deallocate()
            logitBuffer = .allocate(capacity: needed)
            logitCapacity = needed
        }
        var done = 0
        while done < newTokens.count {
            let n = min(workspace.maxBatch, newTokens.count - done)
            let chunk = newTokens[done..<(done + n)]
            // .all, .hidden: each chunk's rows follow the previous chunk's; .last: every chunk overwrites row 0.
            network.forward(chunk, placement: .sequence(cache), rows: rows, into: logitBuffer + (everyRow ? done * width : 0), workspace: workspace)
            tokens.append(contentsOf: chunk)
            done += n
        }
        return UnsafeMutableBufferPointer(start: logitBuffer, count: needed)
    }

    /// The logits `evaluate` or `decode` left for the last token.
    public var lastLogits: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: logitBuffer, count: vocabularySize) }

    /// Appends one token to each of several sessions of the same network in one forward pass
    /// (batched decoding: the weights are read once for all of them), and leaves each session's
    /// logits in its `lastLogits`. The first session's workspace and threads do the work.
    public static func decode(_ steps: [(session: Session, token: Int32)]) throws(EngineError) {
        guard let first = steps.first?.session else { return }
        if steps.count == 1 { _ = try first.evaluate([steps[0].token]); return }
        let network = first.network, vocab = first.vocabularySize
        guard steps.count <= first.workspace.maxBatch else {
            throw EngineError("\(steps.count) sequences do not fit a batch of \(first.workspace.maxBatch)")
        }
        for (i, (session, token)) in steps.enumerated() {
            guard session.network === network else { throw EngineError("sessions decoded together must share one model") }
            guard steps[..<i].allSatisfy({ $0.session !== session }) else { throw EngineError("a session appears twice in one batch") }
            guard token >= 0 && Int(token) < vocab else { throw EngineError("token id \(token) is outside the vocabulary (0..<\(vocab))") }
            guard session.tokens.count < session.contextSize else {
                throw EngineError("the context of \(session.contextSize) tokens is full")
            }
        }
        let needed = steps.count * vocab
        if needed > first.logitCapacity {
            first.logitBuffer.deallocate()
            first.logitBuffer = .allocate(capacity: needed)
            first.logitCapacity = needed
        }
        network.forward(ArraySlice(steps.map(\.token)), placement: .oneEach(steps.map(\.session.cache)), rows: .all,
                        into: first.logitBuffer, workspace: first.workspace)
        // Row t belongs to session t; the first session's row is already in place.
        for (t, (session, token)) in steps.enumerated() {
            if t > 0 { session.logitBuffer.update(from: first.logitBuffer + t * vocab, count: vocab) }
            session.tokens.append(token)
        }
    }
}
