import Foundation
import HearthAPI
import Hummingbird

/// JSON in and out of request and response bodies.
enum JSON {
    static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        // Encoding these plain Codable types cannot fail; an empty object is the honest fallback.
        return (try? Array(encoder.encode(value))) ?? Array("{}".utf8)
    }

    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: encode(value))))
    }

    /// Decodes a request body, with a 400 that says what is wrong where.
    static func decode<T: Decodable>(_ type: T.Type, from bytes: ByteBuffer) throws(APIError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes.readableBytesView))
        } catch let DecodingError.dataCorrupted(context) {
            throw APIError.badRequest("the body is not valid JSON\(context.underlyingError.map { ": \(($0 as NSError).userInfo[NSDebugDescriptionErrorKey] ?? $0)" } ?? "")")
        } catch let DecodingError.keyNotFound(key, context) {
            throw APIError.badRequest("the body has no '\(path(context.codingPath + [key]))'")
        } catch let DecodingError.typeMismatch(_, context) {
            throw APIError.badRequest("'\(path(context.codingPath))' has the wrong type: \(context.debugDescription)")
        } catch let DecodingError.valueNotFound(_, context) {
            throw APIError.badRequest("'\(path(context.codingPath))' is null")
        } catch {
            throw APIError.badRequest("the body does not decode: \(error)")
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }.description
    }
}
