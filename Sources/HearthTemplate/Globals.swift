import Foundation

/// The functions every template can call: jinja2's `range`, `dict`, `namespace` and `joiner`,
/// and transformers' `raise_exception` and `strftime_now`.
enum Globals {
    /// jinja2's sandbox refuses ranges longer than this.
    static let maxRange = 100_000

    static func make() -> [String: Value] {
        [
            "range": .function(Function(name: "range") { args, interp throws(TemplateError) in try range(args, interp) }),
            "dict": .function(Function(name: "dict") { args, _ throws(TemplateError) in
                var d = Dict()
                for p in args.positional {
                    guard case .dict(let given) = p else { throw TemplateError(.runtime, "dict() expects a mapping") }
                    for (k, v) in given.pairs { d[k] = v }
                }
                for (k, v) in args.keyword { d[k] = v }
                return .dict(d)
            }),
            "namespace": .function(Function(name: "namespace") { args, interp throws(TemplateError) in
                var d = Dict()
                for p in args.positional {
                    guard case .dict(let given) = p else { throw TemplateError(.runtime, "namespace() expects a mapping") }
                    for (k, v) in given.pairs { d[k] = v }
                }
                for (k, v) in args.keyword { d[k] = v }
                let ns = Namespace(d)
                interp.track(ns)
                return .namespace(ns)
            }),
            "joiner": .function(Function(name: "joiner") { args, _ throws(TemplateError) in
                let p = try Params(args, ["sep"], "joiner")
                let sep = p.string("sep") ?? ", "
                let state = Namespace(Dict())
                return .function(Function(name: "joiner") { _, _ throws(TemplateError) in
                    if state.attrs["used"] == nil {
                        state.attrs["used"] = .bool(true)
                        return .string("")
                    }
                    return .string(sep)
                })
            }),
            "raise_exception": .function(Function(name: "raise_exception") { args, _ throws(TemplateError) in
                let message = args.positional.first?.str ?? args.keyword.first?.1.str ?? ""
                throw TemplateError(.raised, message)
            }),
            "strftime_now": .function(Function(name: "strftime_now") { args, interp throws(TemplateError) in
                let p = try Params(args, ["format"], "strftime_now")
                guard let format = p.string("format") else { throw TemplateError(.runtime, "strftime_now() needs a format") }
                return .string(strftime(format, interp.options.now()))
            }),
        ]
    }

    private static func range(_ args: CallArgs, _ interp: Interpreter) throws(TemplateError) -> Value {
        guard args.keyword.isEmpty else { throw TemplateError(.runtime, "range() takes no keyword arguments") }
        var ints: [Int] = []
        for a in args.positional {
            switch a {
            case .int(let i): ints.append(i)
            case .bool(let b): ints.append(b ? 1 : 0)
            case .undefined(let u): throw Value.undefinedError(u)
            default: throw TemplateError(.runtime, "'\(a.typeName)' object cannot be interpreted as an integer")
            }
        }
        let (start, stop, step): (Int, Int, Int)
        switch ints.count {
        case 1: (start, stop, step) = (0, ints[0], 1)
        case 2: (start, stop, step) = (ints[0], ints[1], 1)
        case 3: (start, stop, step) = (ints[0], ints[1], ints[2])
        default: throw TemplateError(.runtime, "range expected 1 to 3 arguments, got \(ints.count)")
        }
        guard step != 0 else { throw TemplateError(.runtime, "range() arg 3 must not be zero") }
        // Count without overflow: the span as a magnitude, divided by the step's magnitude.
        let forward = step > 0
        let count: UInt
        if forward ? start < stop : start > stop {
            let span = forward ? UInt(bitPattern: stop &- start) : UInt(bitPattern: start &- stop)
            count = (span - 1) / step.magnitude + 1
        } else {
            count = 0
        }
        if count > UInt(maxRange) {
            throw TemplateError(.runtime, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (\(maxRange)).")
        }
        try interp.countIterations(Int(count) / 16)
        return .list((0..<Int(count)).map { .int(start + $0 * step) })
    }

    /// C `strftime` in the local time zone, as Python's `datetime.now().strftime` does.
    static func strftime(_ format: String, _ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        localtime_r(&t, &parts)
        var size = 256
        while size <= 1 << 16 {
            var buffer = [CChar](repeating: 0, count: size)
            let n = Foundation.strftime(&buffer, size, format, &parts)
            if n > 0 || format.isEmpty {
                return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            size *= 4
        }
        return ""
    }
}
