/// Adaptive Dormand–Prince 5(4) (the method of scipy's RK45 and torchdiffeq's dopri5) for
/// rollouts of a `VectorField` — no backpropagation.
///
/// The state is carried in Double (the field is evaluated in Float), one step size for the whole
/// batch. A step is accepted when the RMS over all components of e_i / (atol + rtol·max(|y_i|, |ŷ_i|))
/// is ≤ 1, e the difference of the 5th- and embedded 4th-order solutions; the next step is
/// h·clamp(0.9·err^(−1/5), 0.2, 10) (no growth right after a rejection). The 5th-order solution is
/// propagated (local extrapolation) and the last stage is reused as the next first (FSAL).
/// More than `maxSteps` attempted steps throw `ODEError.stepLimitExceeded`; never an endless loop.
public struct DormandPrince5 {
    public var relativeTolerance: Double
    public var absoluteTolerance: Double
    /// Attempted (accepted + rejected) steps allowed per call.
    public var maxSteps: Int

    public init(relativeTolerance: Double = 1e-5, absoluteTolerance: Double = 1e-7, maxSteps: Int = 10_000) throws {
        guard relativeTolerance >= 0, absoluteTolerance >= 0, relativeTolerance + absoluteTolerance > 0 else {
            throw ODEError.invalidArgument("DormandPrince5: rtol = \(relativeTolerance), atol = \(absoluteTolerance); both must be ≥ 0 and not both 0")
        }
        guard maxSteps >= 1 else { throw ODEError.invalidArgument("DormandPrince5: maxSteps = \(maxSteps) must be ≥ 1") }
        self.relativeTolerance = relativeTolerance
        self.absoluteTolerance = absoluteTolerance
        self.maxSteps = maxSteps
    }

    /// Step counts of the last call.
    public struct Statistics: Sendable, Equatable {
        public var accepted = 0
        public var rejected = 0
        public var evaluations = 0
    }

    // Butcher tableau of Dormand & Prince (1980).
    static let c: [Double] = [0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1]
    static let a: [[Double]] = [
        [],
        [1.0 / 5],
        [3.0 / 40, 9.0 / 40],
        [44.0 / 45, -56.0 / 15, 32.0 / 9],
        [19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729],
        [9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656],
        [35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84],
    ]
    /// 5th-order weights minus the embedded 4th-order ones.
    static let e: [Double] = [71.0 / 57600, 0, -71.0 / 16695, 71.0 / 1920, -17253.0 / 339200, 22.0 / 525, -1.0 / 40]

    /// States of `rows`×d `start` at each of `times` (time units, relative to the start; any
    /// order and sign — each segment starts from the previous requested time).
    public func states(_ field: VectorField, from start: [Float], at times: [Double]) throws -> (states: [[Float]], statistics: Statistics) {
        let d = field.dimension
        guard !start.isEmpty, start.count % d == 0 else {
            throw ODEError.invalidArgument("DormandPrince5: start has \(start.count) values, not a positive whole number of \(d)-dim rows")
        }
        var y = start.map(Double.init)
        var t = 0.0
        var stats = Statistics()
        var out: [[Float]] = []
        var step: Double? = nil
        for target in times {
            guard target.isFinite else { throw ODEError.invalidArgument("DormandPrince5: output time \(target) is not finite") }
            if target != t {
                step = try integrate(field, &y, from: t, to: target, initialStep: step, stats: &stats)
                t = target
            }
            out.append(y.map(Float.init))
        }
        return (out, stats)
    }

    /// Integrates y from t0 to t1 in place; returns the last proposed step size (to start the next segment).
    func integrate(_ field: VectorField, _ y: inout [Double], from t0: Double, to t1: Double,
                   initialStep: Double?, stats: inout Statistics) throws -> Double {
        let n = y.count, rows = n / field.dimension
        let direction: Double = t1 > t0 ? 1 : -1
        var scratch = [Float](repeating: 0, count: max(1, rows * field.scratchFloatsPerRow))
        var xin = [Float](repeating: 0, count: n), fout = xin
        func f(_ state: [Double]) -> [Double] {
            for i in 0..<n { xin[i] = Float(state[i]) }
            xin.withUnsafeBufferPointer { xp in
                fout.withUnsafeMutableBufferPointer { fp in
                    scratch.withUnsafeMutableBufferPointer { sp in
                        field.evaluate(xp.baseAddress!, rows: rows, into: fp.baseAddress!, record: nil, scratch: sp.baseAddress!)
                    }
                }
            }
            stats.evaluations += 1
            return fout.map(Double.init)
        }
        func norm(_ v: [Double], scaleFrom a: [Double], _ b: [Double]) -> Double {
            var s = 0.0
            for i in 0..<n {
                let sc = absoluteTolerance + relativeTolerance * max(abs(a[i]), abs(b[i]))
                s += (v[i] / sc) * (v[i] / sc)
            }
            return (s / Double(n)).squareRoot()
        }
        var k = [[Double]](repeating: [], count: 7)
        k[0] = f(y)
        var h: Double
        if let initialStep, initialStep != 0 {
            h = abs(initialStep) * direction
        } else {
            // Hairer, Nørsett & Wanner's starting step (II.4): from the sizes of y, f(y) and f's change.
            let d0 = norm(y, scaleFrom: y, y), d1 = norm(k[0], scaleFrom: y, y)
            let h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1
            var y1 = y
            for i in 0..<n { y1[i] += direction * h0 * k[0][i] }
            let f1 = f(y1)
            var diff = f1
            for i in 0..<n { diff[i] -= k[0][i] }
            let d2 = norm(diff, scaleFrom: y, y) / h0
            let h1 = max(d1, d2) <= 1e-15 ? max(1e-6, h0 * 1e-3) : pow(0.01 / max(d1, d2), 1.0 / 5)
            h = min(100 * h0, h1) * direction
        }
        var t = t0
        var attempts = 0
        var lastRejected = false
        var stage = y, yNew = y, err = y
        while (t1 - t) * direction > 0 {
            if attempts >= maxSteps { throw ODEError.stepLimitExceeded(limit: maxSteps, from: t0, to: t1, reached: t) }
            attempts += 1
            if abs(h) < 1e-14 * max(1, abs(t)) { throw ODEError.stepSizeUnderflow(time: t, step: h) }
            if (t + h - t1) * direction > 0 { h = t1 - t }   // land exactly on t1
            for s in 1..<7 {
                for i in 0..<n {
                    var acc = 0.0
                    for (j, aij) in Self.a[s].enumerated() where aij != 0 { acc += aij * k[j][i] }
                    stage[i] = y[i] + h * acc
                }
                k[s] = f(stage)
            }
            yNew = stage   // stage 7's input is the 5th-order solution (its row of a equals b)
            for i in 0..<n {
                var acc = 0.0
                for j in 0..<7 where Self.e[j] != 0 { acc += Self.e[j] * k[j][i] }
                err[i] = h * acc
            }
            let en = norm(err, scaleFrom: y, yNew)
            if en.isNaN || !yNew.allSatisfy({ $0.isFinite }) {
                throw ODEError.nonFinite(frameTime: t)
            }
            if en <= 1 {
                t = (t1 - (t + h)) * direction <= 0 ? t1 : t + h
                y = yNew
                k[0] = k[6]
                stats.accepted += 1
                var factor = en == 0 ? 10 : 0.9 * pow(en, -0.2)
                factor = min(10, max(0.2, factor))
                if lastRejected { factor = min(1, factor) }
                h *= factor
                lastRejected = false
            } else {
                stats.rejected += 1
                h *= max(0.2, 0.9 * pow(en, -0.2))
                lastRejected = true
            }
        }
        return h
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
