import Foundation

/// A tick mark; minor ticks (between decades of a log axis) have an empty label.
public struct Tick: Sendable, Equatable {
    public var value: Double
    public var label: String
    public var isMajor: Bool { !label.isEmpty }
}

/// Tick positions and labels: 1-2-5 steps on linear axes, decades on log axes labelled in the
/// compact `1e-3` style (1, 10, 100, 1000 written out).
public enum Ticks {
    /// About `count` ticks at multiples of a 1, 2 or 5 × 10^k step inside lo…hi.
    public static func linear(from lo: Double, to hi: Double, count: Int = 6) -> [Tick] {
        precondition(hi > lo, "tick range must be non-empty")
        let step = niceStep((hi - lo) / Double(max(count, 1)))
        // The 1e-9 slack keeps an end that is a multiple of the step up to rounding.
        let first = (lo / step - 1e-9).rounded(.up), last = (hi / step + 1e-9).rounded(.down)
        guard first <= last else { return [] }
        let scientific = max(abs(lo), abs(hi)) >= 1e5 || step < 1e-3
        return stride(from: first, through: last, by: 1).map { i in
            let value = i * step
            return Tick(value: value, label: linearLabel(value, step: step, scientific: scientific))
        }
    }

    /// Every decade 10^k inside lo…hi (every 2nd, 3rd… when more than 8), with unlabelled minor
    /// ticks at 2…9 × 10^k; a range holding fewer than two decades gets 1, 2, 5 × 10^k, and one
    /// too narrow even for that falls back to linear ticks.
    public static func log(from lo: Double, to hi: Double) -> [Tick] {
        precondition(lo > 0 && hi > lo, "log tick range must be positive and non-empty")
        let kLo = Int((log10(lo) - 1e-9).rounded(.up)), kHi = Int((log10(hi) + 1e-9).rounded(.down))
        let decades = kHi - kLo + 1
        if decades >= 2 {
            let every = (decades + 7) / 8
            var ticks = (kLo...kHi).filter { (($0 % every) + every) % every == 0 }
                .map { Tick(value: decade($0), label: decadeLabel($0)) }
            if every == 1 {
                for k in (kLo - 1)...kHi {
                    for m in 2...9 {
                        let value = Double(m) * decade(k)
                        if value >= lo && value <= hi { ticks.append(Tick(value: value, label: "")) }
                    }
                }
            }
            return ticks.sorted { $0.value < $1.value }
        }
        var ticks: [Tick] = []
        for k in (kLo - 1)...max(kHi, kLo - 1) {
            for m in [1, 2, 5] {
                let value = Double(m) * decade(k)
                if value >= lo * (1 - 1e-12) && value <= hi * (1 + 1e-12) {
                    ticks.append(Tick(value: value, label: mantissaLabel(m, k)))
                }
            }
        }
        return ticks.count >= 2 ? ticks : linear(from: lo, to: hi, count: 4)
    }

    /// Ticks at given values inside lo…hi, labelled as `%g` does but in the `1e-3` style.
    public static func fixed(_ values: [Double], from lo: Double, to hi: Double) -> [Tick] {
        values.filter { $0 >= lo && $0 <= hi }.sorted().map { v in
            var label = String(format: "%g", v)
            if let e = label.firstIndex(of: "e") {   // "1e-05" → "1e-5", "2.5e+06" → "2.5e6"
                let exponent = Int(label[label.index(after: e)...]) ?? 0
                label = String(label[..<e]) + "e\(exponent)"
            }
            return Tick(value: v, label: label)
        }
    }

    static func decade(_ k: Int) -> Double { pow(10, Double(k)) }

    static func decadeLabel(_ k: Int) -> String { mantissaLabel(1, k) }

    static func mantissaLabel(_ m: Int, _ k: Int) -> String {
        (0...3).contains(k) ? String(m * Int(decade(k))) : "\(m)e\(k)"
    }

    /// The step of 1, 2 or 5 × 10^k nearest above `raw`.
    static func niceStep(_ raw: Double) -> Double {
        let magnitude = pow(10, floor(log10(raw)))
        let n = raw / magnitude
        return (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * magnitude
    }

    /// As many decimals as the step needs, the same on every label of the axis; `2.5e-4` style when values are huge or the step tiny.
    static func linearLabel(_ value: Double, step: Double, scientific: Bool) -> String {
        let stepExponent = Int(floor(log10(step) + 1e-9))
        let zero = abs(value) < step * 1e-6   // an accumulated 1e-17 must not print as "-0.0" or "1e-17"
        guard scientific else { return String(format: "%.*f", max(0, -stepExponent), zero ? 0 : value) }
        if zero { return "0" }
        let exponent = Int(floor(log10(abs(value)) + 1e-9))
        var mantissa = String(format: "%.*f", max(0, exponent - stepExponent), value / decade(exponent))
        if mantissa.contains(".") {
            while mantissa.hasSuffix("0") { mantissa.removeLast() }
            if mantissa.hasSuffix(".") { mantissa.removeLast() }
        }
        return "\(mantissa)e\(exponent)"
    }
}
