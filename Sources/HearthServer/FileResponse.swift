import HTTPTypes
import Hummingbird

/// A file as an HTTP answer, whole or the one byte range the request asks for (RFC 9110's
/// `Range: bytes=...`), streamed from disk: what the registry's blobs and the Hugging Face
/// resolve route both send.
enum FileResponse {
    static let fileIO = FileIO()

    /// `headers` are the caller's own (ETag, digests); the type, length and range headers are
    /// added here. A range outside the file is a 416; HEAD gets the headers alone.
    static func make(path: String, size: Int, headers: HTTPFields, request: Request, context: some RequestContext,
                     head: Bool) async throws -> Response {
        var headers = headers
        headers[.contentType] = "application/octet-stream"
        headers[.acceptRanges] = "bytes"
        var range: ClosedRange<Int>? = size > 0 ? 0...(size - 1) : nil
        var status = HTTPResponse.Status.ok
        if let text = request.headers[.range] {
            guard let r = byteRange(text, size: size) else {
                headers[.contentRange] = "bytes */\(size)"
                return Response(status: .rangeNotSatisfiable, headers: headers)
            }
            range = r
            status = .partialContent
            headers[.contentRange] = "bytes \(r.lowerBound)-\(r.upperBound)/\(size)"
        }
        headers[.contentLength] = String(range?.count ?? 0)
        guard !head, let range else { return Response(status: status, headers: headers) }
        let body = try await fileIO.loadFile(path: path, range: range, context: context, chunkLength: 1 << 20)
        return Response(status: status, headers: headers, body: body)
    }

    /// `bytes=a-b`, `bytes=a-` or `bytes=-n` (one range) within a file of `size` bytes.
    static func byteRange(_ text: String, size: Int) -> ClosedRange<Int>? {
        guard text.hasPrefix("bytes="), size > 0 else { return nil }
        let spec = text.dropFirst(6)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash], last = spec[spec.index(after: dash)...]
        if first.isEmpty {
            guard let n = Int(last), n > 0 else { return nil }
            return max(0, size - n)...(size - 1)
        }
        guard let a = Int(first), a >= 0, a < size else { return nil }
        if last.isEmpty { return a...(size - 1) }
        guard let b = Int(last), b >= a else { return nil }
        return a...min(b, size - 1)
    }

}
