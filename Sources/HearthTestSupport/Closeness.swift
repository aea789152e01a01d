import Testing

/// A named error budget: an element passes when |actual - expected| <= absolute +
/// relative * |expected| (numpy's `isclose` rule). The name says what the budget is for, so a
/// failure reads "q4_K dot vs float reference: ..." rather than a bare number.
public struct ErrorBudget: Sendable, CustomStringConvertible {
    public let name: String
    public let absolute: Double
    public let relative: Double

    public init(_ name: String, absolute: Double = 0, relative: Double = 0) {
        self.name = name; self.absolute = absolute; self.relative = relative
    }

    public func allows(_ actual: Double, _ expected: Double) -> Bool {
        if actual.isNaN || expected.isNaN { return actual.isNaN && expected.isNaN }
        if actual == expected { return true }  // equal infinities
        return abs(actual - expected) <= absolute + relative * abs(expected)
    }

    public var description: String { "\(name) (abs \(absolute), rel \(relative))" }
}

/// How far two float arrays are apart: the largest absolute and relative errors and where.
public struct Closeness: Sendable, CustomStringConvertible {
    public var count = 0
    public var maxAbsolute: Double = 0
    public var maxRelative: Double = 0
    /// Index of the first element outside the budget it was measured against, if any.
    public var firstFailure: Int?
    public var failures = 0

    public static func measure<A: Collection<Float>, E: Collection<Float>>(
        _ actual: A, _ expected: E, budget: ErrorBudget
    ) -> Closeness {
        var c = Closeness()
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            c.count += 1
            let (da, de) = (Double(a), Double(e))
            if !budget.allows(da, de) {
                c.failures += 1
                if c.firstFailure == nil { c.firstFailure = i }
            }
            guard da.isFinite, de.isFinite else { continue }
            let err = abs(da - de)
            c.maxAbsolute = max(c.maxAbsolute, err)
            if de != 0 { c.maxRelative = max(c.maxRelative, err / abs(de)) }
        }
        return c
    }

    public var description: String {
        "\(count) values, max abs error \(maxAbsolute), max rel error \(maxRelative), \(failures) outside the budget"
            + (firstFailure.map { " (first at index \($0))" } ?? "")
    }
}

/// Records a test issue unless `actual` and `expected` (same length) agree within `budget`.
public func assertClose<A: Collection<Float>, E: Collection<Float>>(
    _ actual: A, _ expected: E, budget: ErrorBudget, _ context: @autoclosure () -> String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.count == expected.count else {
        Issue.record("\(budget.name)\(suffix(context())): \(actual.count) values, expected \(expected.count)",
                     sourceLocation: sourceLocation)
        return
    }
    let c = Closeness.measure(actual, expected, budget: budget)
    if c.failures > 0 {
        let i = c.firstFailure!
        let a = actual[actual.index(actual.startIndex, offsetBy: i)]
        let e = expected[expected.index(expected.startIndex, offsetBy: i)]
        Issue.record("\(budget)\(suffix(context())): \(c); at \(i): \(a) vs expected \(e)", sourceLocation: sourceLocation)
    }
}

/// Records a test issue unless the scalar `actual` is within `budget` of `expected`, where the
/// relative part is measured against `scale` (e.g. sum |w_i a_i| for a dot product, whose
/// result can be near zero while its terms are not). Returns the error relative to `scale`.
@discardableResult
public func assertClose(
    _ actual: Double, _ expected: Double, scale: Double, budget: ErrorBudget,
    _ context: @autoclosure () -> String = "", sourceLocation: SourceLocation = #_sourceLocation
) -> Double {
    let err = abs(actual - expected)
    let rel = scale > 0 ? err / scale : err
    if !(err <= budget.absolute + budget.relative * scale) {
        Issue.record("\(budget)\(suffix(context())): got \(actual), expected \(expected), error \(err) = \(rel) of scale \(scale)",
                     sourceLocation: sourceLocation)
    }
    return rel
}

/// Distance in units in the last place between two floats (0 when bit-identical or both NaN;
/// +0 and -0 are 0 apart), for comparisons that should be exact up to rounding.
public func ulpDistance(_ a: Float, _ b: Float) -> UInt32 {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN ? 0 : .max }
    if a == b { return 0 }
    // Map the sign-magnitude bit patterns onto a monotonic integer line.
    func key(_ x: Float) -> Int64 {
        let bits = Int64(x.bitPattern & 0x7fff_ffff)
        return x.sign == .minus ? -bits : bits
    }
    let d = key(a) - key(b)
    return d.magnitude > UInt64(UInt32.max) ? .max : UInt32(d.magnitude)
}

/// Records a test issue for each element (up to `maxReported`) more than `ulps` apart.
public func assertWithinULPs(
    _ actual: [Float], _ expected: [Float], ulps: UInt32, _ context: @autoclosure () -> String = "",
    maxReported: Int = 5, sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.count == expected.count else {
        Issue.record("\(context()): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    var bad = 0
    for i in actual.indices where ulpDistance(actual[i], expected[i]) > ulps {
        bad += 1
        if bad <= maxReported {
            Issue.record("\(context()): element \(i) is \(actual[i]) (0x\(String(actual[i].bitPattern, radix: 16))), expected \(expected[i]) (0x\(String(expected[i].bitPattern, radix: 16)))",
                         sourceLocation: sourceLocation)
        }
    }
    if bad > maxReported {
        Issue.record("\(context()): \(bad) of \(actual.count) elements differ by more than \(ulps) ulp", sourceLocation: sourceLocation)
    }
}

private func suffix(_ s: String) -> String { s.isEmpty ? "" : " [\(s)]" }
