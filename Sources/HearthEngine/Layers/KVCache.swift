/// Keys and values of every layer for the positions processed so far, sized once from the
/// context length asked for. Stored as f32: (nLayers, capacity, nKVHeads * headDim) each.
public final class KVCache: @unchecked Sendable {
    public let capacity: Int
    let layers: Int
    let kvDim: Int
    let keys: UnsafeMutablePointer<Float>
    let values: UnsafeMutablePointer<Float>

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
    public var byteCount: Int { 2 * layers * capacity * kvDim * MemoryLayout<Float>.size }

    /// Forgets positions from `position` on (the next forward pass writes there).
    public func truncate(to position: Int) { count = min(count, max(0, position)) }

    func keys(layer: Int) -> UnsafeMutablePointer<Float> { keys + layer * capacity * kvDim }
    func values(layer: Int) -> UnsafeMutablePointer<Float> { values + layer * capacity * kvDim }
}
