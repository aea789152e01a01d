/// An element of a `BinaryHeap`: `before(a, b)` is true when `a` must come out first.
protocol HeapOrdered {
    static func before(_ a: Self, _ b: Self) -> Bool
}

/// A binary heap of merge candidates, shared by the BPE encoder (lowest merge rank first) and
/// the SentencePiece encoder (highest score first): the order is the element's.
struct BinaryHeap<Element: HeapOrdered> {
    private var items: [Element] = []

    mutating func push(_ element: Element) {
        items.append(element)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Element.before(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Element? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            let n = items.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < n && Element.before(items[l], items[best]) { best = l }
                if r < n && Element.before(items[r], items[best]) { best = r }
                if best == i { break }
                items.swapAt(i, best)
                i = best
            }
        }
        return top
    }
}
