import Foundation

/// Python's `str % args` (printf-style) formatting, used by the `%` operator and the `format`
/// filter: `%s %r %d %i %u %x %X %o %e %E %f %F %g %G %c %%` with flags, width, precision and
/// `%(name)s` keys.
enum PercentFormat {
    /// `maxSize` bounds widths and precisions, so `'%999999999999s'` fails instead of
    /// allocating without limit.
    static func format(_ format: String, _ args: Value, maxSize: Int) throws(TemplateError) -> String {
        var positional: [Value]
        var mapping: Dict? = nil
        var mappingLike = false
        switch args {
        case .tuple(let a): positional = a
        case .dict(let d): positional = [args]; mapping = d; mappingLike = true
        // Python treats anything subscriptable but a tuple or str as a mapping here, and then
        // does not complain about unused arguments.
        case .undefined, .list: positional = [args]; mappingLike = true
        default: positional = [args]
        }
        let f = PyText.scalars(format)
        var out = ""
        var next = 0
        var i = 0
        func nextArgument() throws(TemplateError) -> Value {
            guard next < positional.count else { throw TemplateError(.runtime, "not enough arguments for format string") }
            next += 1
            return positional[next - 1]
        }
        while i < f.count {
            let c = f[i]
            guard c == "%" else { out.unicodeScalars.append(c); i += 1; continue }
            i += 1
            guard i < f.count else { throw TemplateError(.runtime, "incomplete format") }
            var key: String? = nil
            if f[i] == "(" {
                guard let close = f[i...].firstIndex(of: ")") else { throw TemplateError(.runtime, "incomplete format key") }
                key = PyText.make(f[(i + 1)..<close])
                i = close + 1
            }
            var flags = Set<Unicode.Scalar>()
            while i < f.count, "-+ 0#".unicodeScalars.contains(f[i]) { flags.insert(f[i]); i += 1 }
            func number() throws(TemplateError) -> Int? {
                if i < f.count, f[i] == "*" {
                    i += 1
                    guard case .int(let n) = try nextArgument() else { throw TemplateError(.runtime, "* wants int") }
                    return n
                }
                var digits = ""
                while i < f.count, f[i].properties.numericType == .decimal, f[i].isASCII { digits.unicodeScalars.append(f[i]); i += 1 }
                return digits.isEmpty ? nil : Int(digits)
            }
            var width = try number() ?? 0
            var precision: Int? = nil
            if i < f.count, f[i] == "." {
                i += 1
                precision = try number() ?? 0
            }
            while i < f.count, "hlL".unicodeScalars.contains(f[i]) { i += 1 }
            guard i < f.count else { throw TemplateError(.runtime, "incomplete format") }
            let type = f[i]
            i += 1
            if type == "%" { out += "%"; continue }
            let arg: Value
            if let key {
                if case .undefined(let u) = args { throw Value.undefinedError(u) }
                guard let mapping else { throw TemplateError(.runtime, "format requires a mapping") }
                guard let v = mapping[key] else { throw TemplateError(.runtime, "KeyError: \(PyText.repr(key))") }
                arg = v
            } else {
                arg = try nextArgument()
            }
            if width < 0 { flags.insert("-"); width = width == .min ? .max : -width }
            if width > maxSize || (precision ?? 0) > maxSize {
                throw TemplateError(.limit, "format width or precision larger than \(maxSize)")
            }
            out += try convert(arg, type, flags: flags, width: width, precision: precision)
        }
        // Python only complains about unused arguments when they were not a mapping.
        if !mappingLike, next < positional.count {
            throw TemplateError(.runtime, "not all arguments converted during string formatting")
        }
        return out
    }

    private static func pad(_ s: String, _ width: Int, left: Bool, zero: Bool = false) -> String {
        let n = PyText.count(s)
        guard n < width else { return s }
        if left { return s + String(repeating: " ", count: width - n) }
        if zero {
            // Zeros go after the sign.
            var body = s
            var sign = ""
            if let f = body.first, f == "-" || f == "+" || f == " " { sign = String(f); body.removeFirst() }
            return sign + String(repeating: "0", count: width - n) + body
        }
        return String(repeating: " ", count: width - n) + s
    }

    private static func convert(_ arg: Value, _ type: Unicode.Scalar, flags: Set<Unicode.Scalar>, width: Int, precision: Int?) throws(TemplateError) -> String {
        let left = flags.contains("-")
        switch type {
        case "s", "r", "a":
            var s = type == "s" ? arg.str : arg.repr
            if let precision { s = PyText.make(PyText.scalars(s).prefix(precision)) }
            return pad(s, width, left: left)
        case "d", "i", "u", "x", "X", "o":
            let n: Int
            switch arg {
            case .int(let v): n = v
            case .bool(let b): n = b ? 1 : 0
            case .double(let d) where "diu".unicodeScalars.contains(type):
                guard d.isFinite, abs(d) < 9.2e18 else { throw TemplateError(.runtime, "cannot convert float to integer") }
                n = Int(d)
            default:
                let what = "diu".unicodeScalars.contains(type) ? "a real number" : "an integer"
                throw TemplateError(.runtime, "%\(type) format: \(what) is required, not \(arg.typeName)")
            }
            let radix = type == "x" || type == "X" ? 16 : type == "o" ? 8 : 10
            var digits = String(n.magnitude, radix: radix, uppercase: type == "X")
            if let precision, digits.count < precision { digits = String(repeating: "0", count: precision - digits.count) + digits }
            if flags.contains("#"), radix != 10 { digits = (radix == 16 ? (type == "X" ? "0X" : "0x") : "0o") + digits }
            let sign = n < 0 ? "-" : flags.contains("+") ? "+" : flags.contains(" ") ? " " : ""
            return pad(sign + digits, width, left: left, zero: flags.contains("0") && !left)
        case "e", "E", "f", "F", "g", "G":
            guard let num = arg.number else {
                throw TemplateError(.runtime, "must be real number, not \(arg.typeName)")
            }
            var spec = "%"
            for flag in "-+ 0#".unicodeScalars where flags.contains(flag) { spec.unicodeScalars.append(flag) }
            if width > 0 { spec += String(width) }
            spec += "." + String(precision ?? 6) + String(type)
            let d = num.double
            if !d.isFinite {
                // Python spells these inf/nan (INF/NAN for upper-case types), like C.
                var s = d.isNaN ? "nan" : (d < 0 ? "-inf" : (flags.contains("+") ? "+inf" : "inf"))
                if type.properties.isUppercase { s = s.uppercased() }
                return pad(s, width, left: left)
            }
            return String(format: spec, d)
        case "c":
            switch arg {
            case .int(let v):
                guard let u = UInt32(exactly: v), let sc = Unicode.Scalar(u) else { throw TemplateError(.runtime, "%c arg not in range(0x110000)") }
                return pad(String(sc), width, left: left)
            case .string(let s) where PyText.count(s) == 1:
                return pad(s, width, left: left)
            default:
                throw TemplateError(.runtime, "%c requires int or char")
            }
        default:
            throw TemplateError(.runtime, "unsupported format character '\(type)'")
        }
    }
}
