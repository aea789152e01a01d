import HearthAPI
import HearthEngine

/// Reads the JSON Schema of a `response_format` (or Ollama `format`) into the shape the engine
/// constrains generation to.
///
/// Keywords read: `type` (one or a list), `properties`, `required`, `additionalProperties`
/// (a boolean), `items`, `enum`, `const`, `anyOf`. Annotations (`title`, `description`,
/// `$schema`, `default`, `examples`, `$comment`) are skipped. Any other keyword (`minItems`,
/// `pattern`, `format`, `$ref`, `oneOf`, ...) is refused with a 400 naming it: ignoring it could
/// produce output that does not validate.
///
/// An object generates only the keys in `properties` unless `additionalProperties` is true (or
/// the object has no `properties`): fewer keys still validate, and the model cannot wander off.
enum JSONSchemaReader {
    static let annotations: Set<String> = ["title", "description", "$schema", "default", "examples", "$comment", "$id", "strict", "name"]

    /// The largest schema read: its values (keys' values, list items, enum entries) and its
    /// nesting. Constraining to a schema costs work in its size at every generated token and
    /// at compile time, so one request must not bring the server a schema of any size (an enum
    /// of 50,000 entries took 8 s to compile, blocking the other requests).
    static let maxValues = 2048
    static let maxDepth = 32

    /// The shape `schema` asks for; `path` names it in errors (`response_format.json_schema.schema`).
    static func shape(_ schema: JSONValue, at path: String = "schema") throws(APIError) -> JSONShape {
        // Measured without recursion, so a schema nested thousands deep cannot exhaust the stack.
        var values = 0, pending: [(JSONValue, Int)] = [(schema, 1)]
        while let (value, depth) = pending.popLast() {
            values += 1
            guard values <= maxValues else { throw APIError.badRequest("\(path) is too large: more than \(maxValues) values (enum entries, properties, items)") }
            guard depth <= maxDepth else { throw APIError.badRequest("\(path) is nested more than \(maxDepth) deep") }
            switch value {
            case .array(let items): pending += items.map { ($0, depth + 1) }
            case .object(let members): pending += members.values.map { ($0, depth + 1) }
            default: break
            }
        }
        return try read(schema, at: path)
    }

    private static func read(_ schema: JSONValue, at path: String) throws(APIError) -> JSONShape {
        if case .bool(true) = schema { return .any }
        guard case .object(let s) = schema else { throw APIError.badRequest("\(path) must be a JSON Schema object") }
        let known: Set<String> = ["type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf"]
        if let unknown = s.keys.sorted().first(where: { !known.contains($0) && !annotations.contains($0) }) {
            throw APIError.badRequest("\(path) uses '\(unknown)', which Hearth's constrained decoding does not support yet")
        }
        if let c = s["const"] { return .literals([try literal(c, at: path + ".const")]) }
        if let e = s["enum"] {
            guard case .array(let values) = e, !values.isEmpty else { throw APIError.badRequest("\(path).enum must be a non-empty array") }
            return .literals(try values.enumerated().map { i, v throws(APIError) in try literal(v, at: "\(path).enum[\(i)]") })
        }
        if let anyOf = s["anyOf"] {
            guard case .array(let options) = anyOf, !options.isEmpty else { throw APIError.badRequest("\(path).anyOf must be a non-empty array") }
            return .anyOf(try options.enumerated().map { i, o throws(APIError) in try read(o, at: "\(path).anyOf[\(i)]") })
        }
        let types: [String]
        switch s["type"] {
        case nil: types = s["properties"] != nil ? ["object"] : s["items"] != nil ? ["array"] : []
        case .string(let t)?: types = [t]
        case .array(let list)?: types = try list.map { v throws(APIError) in
            guard let t = v.string else { throw APIError.badRequest("\(path).type must name types") }
            return t
        }
        default: throw APIError.badRequest("\(path).type must be a string or a list of strings")
        }
        if types.isEmpty { return .any }
        let shapes = try types.map { t throws(APIError) in try shape(ofType: t, s, at: path) }
        return shapes.count == 1 ? shapes[0] : .anyOf(shapes)
    }

    private static func shape(ofType type: String, _ s: [String: JSONValue], at path: String) throws(APIError) -> JSONShape {
        switch type {
        case "string": return .string
        case "number": return .number
        case "integer": return .integer
        case "boolean": return .boolean
        case "null": return .null
        case "array": return .array(items: try s["items"].map { v throws(APIError) in try read(v, at: path + ".items") } ?? .any)
        case "object":
            var required: Set<String> = []
            if let r = s["required"] {
                guard case .array(let names) = r else { throw APIError.badRequest("\(path).required must be an array of names") }
                required = Set(names.compactMap(\.string))
            }
            var properties: [JSONShape.Property] = []
            if let p = s["properties"] {
                guard case .object(let props) = p else { throw APIError.badRequest("\(path).properties must be an object") }
                // In the order the schema lists them: JSONValue keeps no order, so by name.
                for name in props.keys.sorted() {
                    properties.append(.init(name: name, shape: try read(props[name]!, at: "\(path).properties.\(name)"),
                                            required: required.contains(name)))
                }
            }
            if let missing = required.sorted().first(where: { name in !properties.contains { $0.name == name } }) {
                throw APIError.badRequest("\(path).required names '\(missing)', which is not in its properties")
            }
            var additional = properties.isEmpty
            switch s["additionalProperties"] {
            case nil: break
            case .bool(let b)?: additional = b
            default: throw APIError.badRequest("\(path).additionalProperties must be true or false")
            }
            return .object(properties: properties, additionalProperties: additional)
        default:
            throw APIError.badRequest("\(path).type '\(type)' is not a JSON Schema type")
        }
    }

    /// A constant's JSON text.
    private static func literal(_ v: JSONValue, at path: String) throws(APIError) -> String {
        switch v {
        case .string(let s): return String(decoding: JSON.encode(s), as: UTF8.self)
        case .number(let n):
            if n == n.rounded(), abs(n) < 1e15 { return String(Int64(n)) }
            return String(decoding: JSON.encode(n), as: UTF8.self)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        default: throw APIError.badRequest("\(path): only strings, numbers, booleans and null can be enum or const values")
        }
    }
}
