/// Keys and values of every layer for the positions processed so far, sized once from the
/// context length asked for. Stored as f16, as llama.cpp's default cache type, which halves
/// what attention reads per token at long contexts: (nLayers, capacity, nKVHeads * headDim) each.
public final class KVCache: @unchecked Sendable {
    public let capacity: Int
    let layers: Int
    let kvDim: Int
    let keys: UnsafeMutablePointer<UInt16>
    let values: UnsafeMutablePointer<UInt16>

    /// Number of positions filled.
    public internal(set) var count = 0

    init(layers: Int, kvDim: Int, capacity: Int) {
        self.layers = layers
        self.kvDim = kvDim
        self.capacity = capacity
        keys = .allocate(capacity: layers * capacity * kvDim)
        values = .allocate(capacity: layers * capacity * kvDim)
    }

    deinit { keys.deallocate(); values.deallocate() }

    /// Bytes held by the cache.
    public var byteCount: Int { 2 * layers * capacity * kvDim * MemoryLayout<UInt16>.size }

    /// Forgets positions from `position` on (the next forward pass writes there).
    public func truncate(to position: Int) { count = min(count, max(0, position)) }

    func keys(layer: Int) -> UnsafeMutablePointer<UInt16> { keys + layer * capacity * kvDim }
    func values(layer: Int) -> UnsafeMutablePointer<UInt16> { values + layer * capacity * kvDim }
}
