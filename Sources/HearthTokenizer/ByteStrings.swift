/// Many byte strings stored back to back in one buffer, with one offset per string.
///
/// A vocabulary holds tens of thousands of short texts; as `[[UInt8]]` each one is its own
/// heap allocation (a header and malloc's rounding, about 50 bytes for a 5-byte token), which
/// for a 49k vocabulary costs megabytes of resident memory. Here the whole table is two arrays.
struct ByteStrings: Sendable {
    /// Every string's bytes, one after the other.
    private(set) var bytes: [UInt8] = []
    /// String `i` is `bytes[starts[i] ..< starts[i + 1]]`; one more entry than strings.
    private(set) var starts: [UInt32] = [0]

    init() {}

    init<S: Sequence>(_ strings: S) where S.Element: Collection, S.Element.Element == UInt8 {
        for s in strings { append(s) }
    }

    /// Adds a string at index `count`.
    mutating func append<C: Collection>(_ string: C) where C.Element == UInt8 {
        bytes.append(contentsOf: string)
        precondition(bytes.count <= Int(UInt32.max), "byte strings larger than 4 GiB")
        starts.append(UInt32(bytes.count))
    }

    var count: Int { starts.count - 1 }

    /// The bytes of string `i`.
    subscript(i: Int) -> ArraySlice<UInt8> {
        bytes[Int(starts[i]) ..< Int(starts[i + 1])]
    }

    /// The length in bytes of string `i`.
    func length(_ i: Int) -> Int { Int(starts[i + 1] - starts[i]) }

    /// Releases the spare capacity left by appending. (`Array(bytes)` would share the same
    /// buffer; copying through a buffer pointer allocates just what is used.)
    mutating func shrink() {
        bytes = bytes.withUnsafeBufferPointer { Array($0) }
        starts = starts.withUnsafeBufferPointer { Array($0) }
    }
}
