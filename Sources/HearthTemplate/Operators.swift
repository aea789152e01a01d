import Foundation

/// Python numbers as jinja2 computes with them: Int (64-bit here; overflow is an error rather
/// than Python's arbitrary precision) and Double, with Python's division, modulo and printing.
enum PyNumber {
    case int(Int)
    case double(Double)

    var double: Double {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        }
    }

    static func equal(_ a: PyNumber, _ b: PyNumber) -> Bool {
        if case .int(let x) = a, case .int(let y) = b { return x == y }
        return a.double == b.double
    }

    static func less(_ a: PyNumber, _ b: PyNumber) -> Bool {
        if case .int(let x) = a, case .int(let y) = b { return x < y }
        return a.double < b.double
    }

    /// Python's `repr(float)`: the shortest digits that round-trip (Swift computes the same
    /// digits), laid out as Python does: positional for exponents -4..<16, else `1e+16` style.
    static func repr(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        let text = d.magnitude.description
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        var digits = Array(String(parts[0]) + (parts.count > 1 ? String(parts[1]) : ""))
        var point = parts[0].count + exponent  // decimal point position within `digits`
        while digits.count > 1, digits.first == "0" { digits.removeFirst(); point -= 1 }
        while digits.count > 1, digits.last == "0" { digits.removeLast() }
        let sciExponent = point - 1
        var body: String
        if sciExponent < -4 || sciExponent >= 16 {
            body = String(digits[0])
            if digits.count > 1 { body += "." + String(digits[1...]) }
            let mag = abs(sciExponent)
            body += "e" + (sciExponent < 0 ? "-" : "+") + (mag < 10 ? "0" : "") + String(mag)
        } else if point <= 0 {
            body = "0." + String(repeating: "0", count: -point) + String(digits)
        } else if point >= digits.count {
            body = String(digits) + String(repeating: "0", count: point - digits.count) + ".0"
        } else {
            body = String(digits[..<point]) + "." + String(digits[point...])
        }
        return (d < 0 ? "-" : "") + body
    }

    /// Python's float `divmod` (floor division and a modulo with the divisor's sign).
    static func floatDivMod(_ x: Double, _ y: Double) -> (Double, Double) {
        var mod = fmod(x, y)
        var div = (x - mod) / y
        if mod != 0 {
            if (y < 0) != (mod < 0) {
                mod += y
                div -= 1
            }
        } else {
            mod = copysign(0, y)
        }
        var floorDiv: Double
        if div != 0 {
            floorDiv = floor(div)
            if div - floorDiv > 0.5 { floorDiv += 1 }
        } else {
            floorDiv = copysign(0, x / y)
        }
        return (floorDiv, mod)
    }
}

enum Operators {
    static func overflow(_ op: String) -> TemplateError {
        TemplateError(.runtime, "integer overflow in '\(op)' (HearthTemplate integers are 64-bit)")
    }

    static func unsupported(_ op: String, _ a: Value, _ b: Value) -> TemplateError {
        TemplateError(.runtime, "unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'")
    }

    static func negate(_ v: Value) throws(TemplateError) -> Value {
        switch v {
        case .undefined(let u): throw Value.undefinedError(u)
        case .bool(let b): return .int(b ? -1 : 0)
        case .int(let i):
            guard i != .min else { throw overflow("-") }
            return .int(-i)
        case .double(let d): return .double(-d)
        default: throw TemplateError(.runtime, "bad operand type for unary -: '\(v.typeName)'")
        }
    }

    static func binary(_ op: BinaryOp, _ a: Value, _ b: Value, _ interp: Interpreter) throws(TemplateError) -> Value {
        if case .undefined(let u) = a { throw Value.undefinedError(u) }
        if op == .mod, case .string(let format) = a, case .undefined = b {
            // Python's str % treats Undefined (it has __getitem__) like a mapping argument.
            return .string(try PercentFormat.format(format, b, maxSize: interp.options.limits.maxOutputBytes))
        }
        if case .undefined(let u) = b { throw Value.undefinedError(u) }
        if let x = a.number, let y = b.number { return try arithmetic(op, x, y) }
        switch (op, a, b) {
        case let (.add, .string(x), .string(y)):
            try interp.checkSize(x.utf8.count + y.utf8.count)
            return .string(x + y)
        case let (.add, .list(x), .list(y)): return .list(x + y)
        case let (.add, .tuple(x), .tuple(y)): return .tuple(x + y)
        case (.add, .string, _):
            throw TemplateError(.runtime, "can only concatenate str (not \"\(b.typeName)\") to str")
        case (.add, .list, _):
            throw TemplateError(.runtime, "can only concatenate list (not \"\(b.typeName)\") to list")
        case (.mul, _, _):
            if let n = repeatCount(b), let r = try repeated(a, n, interp) { return r }
            if let n = repeatCount(a), let r = try repeated(b, n, interp) { return r }
        case (.mod, .string(let format), _):
            return .string(try PercentFormat.format(format, b, maxSize: interp.options.limits.maxOutputBytes))
        default:
            break
        }
        throw unsupported(op.rawValue, a, b)
    }

    private static func repeatCount(_ v: Value) -> Int? {
        switch v {
        case .int(let i): return max(i, 0)
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    private static func repeated(_ v: Value, _ n: Int, _ interp: Interpreter) throws(TemplateError) -> Value? {
        switch v {
        case .string(let s):
            let (size, o) = s.utf8.count.multipliedReportingOverflow(by: n)
            try interp.checkSize(o ? .max : size)
            return .string(String(repeating: s, count: n))
        case .list(let a), .tuple(let a):
            // Count list slots as 16 bytes each, roughly what a value takes.
            let (size, o) = (a.count * 16).multipliedReportingOverflow(by: n)
            try interp.checkSize(o ? .max : size)
            var r: [Value] = []
            for _ in 0..<n { r += a }
            if case .tuple = v { return .tuple(r) }
            return .list(r)
        default:
            return nil
        }
    }

    static func arithmetic(_ op: BinaryOp, _ x: PyNumber, _ y: PyNumber) throws(TemplateError) -> Value {
        if case .int(let a) = x, case .int(let b) = y {
            switch op {
            case .add:
                let (r, o) = a.addingReportingOverflow(b)
                if o { throw overflow("+") }
                return .int(r)
            case .sub:
                let (r, o) = a.subtractingReportingOverflow(b)
                if o { throw overflow("-") }
                return .int(r)
            case .mul:
                let (r, o) = a.multipliedReportingOverflow(by: b)
                if o { throw overflow("*") }
                return .int(r)
            case .div:
                guard b != 0 else { throw TemplateError(.runtime, "division by zero") }
                return .double(Double(a) / Double(b))
            case .floorDiv:
                guard b != 0 else { throw TemplateError(.runtime, "integer division or modulo by zero") }
                let (q, o) = a.dividedReportingOverflow(by: b)
                if o { throw overflow("//") }
                return .int(a % b != 0 && (a < 0) != (b < 0) ? q - 1 : q)
            case .mod:
                guard b != 0 else { throw TemplateError(.runtime, "integer modulo by zero") }
                let (r, o) = a.remainderReportingOverflow(dividingBy: b)
                if o { return .int(0) }
                return .int(r != 0 && (r < 0) != (b < 0) ? r + b : r)
            case .pow:
                if b < 0 {
                    guard a != 0 else { throw TemplateError(.runtime, "0.0 cannot be raised to a negative power") }
                    return .double(pow(Double(a), Double(b)))
                }
                var result = 1, base = a, e = b
                while e > 0 {
                    if e & 1 == 1 {
                        let (r, o) = result.multipliedReportingOverflow(by: base)
                        if o { throw overflow("**") }
                        result = r
                    }
                    e >>= 1
                    if e > 0 {
                        let (sq, o) = base.multipliedReportingOverflow(by: base)
                        if o { throw overflow("**") }
                        base = sq
                    }
                }
                return .int(result)
            }
        }
        let a = x.double, b = y.double
        switch op {
        case .add: return .double(a + b)
        case .sub: return .double(a - b)
        case .mul: return .double(a * b)
        case .div:
            guard b != 0 else { throw TemplateError(.runtime, "float division by zero") }
            return .double(a / b)
        case .floorDiv:
            guard b != 0 else { throw TemplateError(.runtime, "float floor division by zero") }
            return .double(PyNumber.floatDivMod(a, b).0)
        case .mod:
            guard b != 0 else { throw TemplateError(.runtime, "float modulo") }
            return .double(PyNumber.floatDivMod(a, b).1)
        case .pow:
            if a == 0, b < 0 { throw TemplateError(.runtime, "0.0 cannot be raised to a negative power") }
            if a < 0, b != b.rounded() { throw TemplateError(.runtime, "negative number raised to a fractional power is complex") }
            let r = pow(a, b)
            if r.isInfinite, a.isFinite, b.isFinite { throw TemplateError(.runtime, "(34, 'Numerical result out of range')") }
            return .double(r)
        }
    }

    static func compare(_ op: CompareOp, _ a: Value, _ b: Value) throws(TemplateError) -> Bool {
        switch op {
        case .eq: return Value.equal(a, b)
        case .ne: return !Value.equal(a, b)
        case .lt: return try Value.less(a, b, op: "<")
        case .gt: return try Value.less(b, a, op: ">")
        case .le: return try Value.less(a, b, op: "<=") || Value.equal(a, b)
        case .ge: return try Value.less(b, a, op: ">=") || Value.equal(a, b)
        case .contains: return try contains(b, a)
        case .notContains: return !(try contains(b, a))
        }
    }

    /// Python's `item in container`.
    static func contains(_ container: Value, _ item: Value) throws(TemplateError) -> Bool {
        switch container {
        case .undefined: return false
        case .string(let s):
            guard case .string(let needle) = item else {
                if case .undefined(let u) = item { throw Value.undefinedError(u) }
                throw TemplateError(.runtime, "'in <string>' requires string as left operand, not \(item.typeName)")
            }
            return PyText.find(s, needle) >= 0
        case .list(let a), .tuple(let a):
            return a.contains { Value.equal($0, item) }
        case .dict(let d):
            switch item {
            case .string(let k): return d[k] != nil
            case .list, .dict, .namespace, .loop: throw TemplateError(.runtime, "unhashable type: '\(item.typeName)'")
            case .tuple(let t) where t.contains(where: { if case .list = $0 { return true } else { return false } }):
                throw TemplateError(.runtime, "unhashable type: 'list'")
            default: return false
            }
        default:
            throw TemplateError(.runtime, "argument of type '\(container.typeName)' is not iterable")
        }
    }
}
