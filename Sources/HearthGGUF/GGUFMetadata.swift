/// A GGUF file's metadata: key-value pairs in file order.
///
/// Large arrays (a vocabulary's tokens, merges, scores and token types: tens of thousands of
/// items each) are checked when the file is opened but not kept: reading one parses it again
/// from the mapping, and hands those pages back afterwards. Held as `GGUFValue`s, a 49k-token
/// vocabulary would keep about 4 MB resident for as long as the model is loaded, long after the
/// tokenizer has built its own tables from it.
public struct GGUFMetadata: Sendable {
    /// Arrays with more items than this are read on demand.
    static let deferredArrayLength = 256

    enum Entry: Sendable {
        case value(GGUFValue)
        /// An array whose value (element type, count, items) starts at this byte of the file.
        case array(offset: Int, byteCount: Int)
    }

    /// The keys in file order.
    public let keys: [String]
    private let entries: [String: Entry]
    private let mapping: FileMapping

    init(keys: [String], entries: [String: Entry], mapping: FileMapping) {
        self.keys = keys
        self.entries = entries
        self.mapping = mapping
    }

    public var count: Int { keys.count }

    public subscript(key: String) -> GGUFValue? {
        switch entries[key] {
        case nil: return nil
        case .value(let v): return v
        case .array(let offset, let byteCount):
            var r = ByteReader(base: mapping.base, count: mapping.count)
            r.offset = offset
            // The same bytes passed the same checks when the file was opened; they can only
            // fail now if the file was rewritten in place while mapped.
            let value: GGUFValue
            do { value = try r.readValue(.array, key: key, depth: 0) } catch {
                fatalError("GGUF metadata '\(key)' changed on disk while the file was open: \(error)")
            }
            mapping.releasePages(offset: offset, count: byteCount)
            return value
        }
    }
}
