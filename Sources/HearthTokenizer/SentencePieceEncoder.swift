/// SentencePiece BPE as llama.cpp runs it (`llm_tokenizer_spm_session`), for `model = "llama"`
/// vocabularies (Llama 2, Gemma 3).
///
/// The text (spaces already replaced by U+2581 `▁`) starts as one symbol per UTF-8 character.
/// Every adjacent pair whose concatenation is a token is a candidate; the candidate with the
/// highest token score is merged first (the leftmost among equal scores), and the new
/// neighbours become candidates, until none is left. A final symbol that is not a token (a
/// single character the vocabulary lacks) is written as byte tokens `<0xXX>`.
///
/// Every token takes part, control and user-defined ones included, exactly as in llama.cpp.
struct SentencePieceEncoder: Sendable {
    let texts: ByteStringTable
    let scores: [Float]
    /// Id of the `<0xXX>` token of each byte (or of the byte as a one-character token), -1 if none.
    let byteTokens: [Int32]
    /// Written for a byte that has no byte token (llama.cpp would abort there).
    let unknownID: Int32?

    /// Appends the ids of `text`, which must already have its spaces escaped.
    func encode(_ text: [UInt8], into output: inout [Int32]) {
        if text.isEmpty { return }
        text.withUnsafeBufferPointer { buffer in
            encode(buffer, into: &output)
        }
    }

    private func encode(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        // One symbol per UTF-8 character (by its lead byte, as llama.cpp's unicode_len_utf8).
        var start: [Int] = [], length: [Int] = []
        start.reserveCapacity(text.count)
        length.reserveCapacity(text.count)
        var offset = 0
        while offset < text.count {
            let n = min(utf8Length(lead: text[offset]), text.count - offset)
            start.append(offset)
            length.append(n)
            offset += n
        }
        let count = start.count
        var next = Array(1 ... count)
        next[count - 1] = -1
        var prev = Array(-1 ..< count - 1)

        var heap = BinaryHeap<BigramCandidate>()
        func consider(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0 else { return }
            let size = length[left] + length[right]
            let span = UnsafeBufferPointer(rebasing: text[start[left] ..< start[left] + size])
            guard let id = texts.value(for: span), Int(id) < scores.count else { return }
            heap.push(.init(score: scores[Int(id)], left: Int32(left), right: Int32(right),
                            size: Int32(size)))
        }

        for i in 0 ..< count - 1 { consider(i, i + 1) }
        while let bigram = heap.pop() {
            let l = Int(bigram.left), r = Int(bigram.right)
            // Stale when either side has been merged away or has grown since it was pushed.
            guard length[l] > 0, length[r] > 0, length[l] + length[r] == Int(bigram.size) else {
                continue
            }
            length[l] += length[r]
            length[r] = 0
            next[l] = next[r]
            if next[r] >= 0 { prev[next[r]] = l }
            consider(prev[l], l)
            consider(l, next[l])
        }

        var i = 0
        while i != -1 {
            let span = UnsafeBufferPointer(rebasing: text[start[i] ..< start[i] + length[i]])
            if let id = texts.value(for: span) {
                output.append(id)
            } else {
                for b in span {
                    let id = byteTokens[Int(b)]
                    if id >= 0 {
                        output.append(id)
                    } else if let unknownID {
                        output.append(unknownID)
                    }
                }
            }
            i = next[i]
        }
    }
}

/// Length of a UTF-8 sequence from its lead byte (1 for a stray continuation byte).
@inline(__always)
func utf8Length(lead: UInt8) -> Int {
    switch lead >> 4 {
    case 0xC, 0xD: return 2
    case 0xE: return 3
    case 0xF: return 4
    default: return 1
    }
}

/// A candidate merge; the highest score comes out of the heap first, then the leftmost.
private struct BigramCandidate: HeapOrdered {
    var score: Float
    var left: Int32
    var right: Int32
    var size: Int32

    @inline(__always) static func before(_ a: BigramCandidate, _ b: BigramCandidate) -> Bool {
        a.score != b.score ? a.score > b.score : a.left < b.left
    }
}

