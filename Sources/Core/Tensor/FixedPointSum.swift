/// Order-independent summation for the deterministic mode (docs/distributed.md §Deterministic).
///
/// Floating-point addition is not associative, so a sum over a batch comes out differently when the
/// batch is split over 1, 2 or 8 ranks, or over 1 or 2 threads. Integer addition is associative. So
/// every contribution is rounded ONCE, on its own, to a multiple of 2^lsb (a grid that depends on
/// nothing but the format), and the multiples are added as integers: any grouping, any order, any
/// rank count gives the same integer, bit for bit, and so the same Float at the end.
///
/// A value is held as three signed 64-bit limbs, v = (l₂·2⁶⁴ + l₁·2³² + l₀)·2^lsb, in carry-save
/// form: a contribution adds its 32-bit digits to the limbs without carrying, so a limb absorbs
/// 2³¹ contributions before it could overflow, and a plain integer MPI_SUM of the limbs is exact.
/// Carries are resolved only when the value is read.
///
/// Range: one contribution must satisfy |v| < 2^(lsb + 95); anything larger (or NaN/∞) is refused
/// and counted, and the trainer treats a refused contribution like a non-finite gradient. Parts of a
/// contribution below 2^lsb are rounded to nearest (ties to even) — deterministically, since the
/// rounding sees one contribution at a time.
public struct FixedPointFormat: Sendable, Equatable {
    /// Limbs per value.
    public static let limbs = 3
    /// The grid: every contribution is a multiple of 2^lsbExponent.
    public let lsbExponent: Int
    /// 2^−lsb: multiplying by it is exact (a power of two).
    let toGrid: Double
    /// 2^lsb.
    let fromGrid: Double

    public init(lsbExponent: Int) {
        precondition((-900...900).contains(lsbExponent), "FixedPointFormat: lsb exponent \(lsbExponent) out of Double's range")
        self.lsbExponent = lsbExponent
        toGrid = Double(sign: .plus, exponent: -lsbExponent, significand: 1)
        fromGrid = Double(sign: .plus, exponent: lsbExponent, significand: 1)
    }

    /// Per-sample gradient contributions (Float): grid 2⁻⁷² ≈ 2·10⁻²², contributions below 2²³ ≈ 8·10⁶.
    /// Float32 training never needs either end: Adam's ε (10⁻⁸) swamps anything near the grid, and
    /// a per-sample gradient of the batch-mean loss near 10⁷ is a diverged step.
    public static let gradients = FixedPointFormat(lsbExponent: -72)
    /// Per-sample statistics and loss sums (Double): grid 2⁻⁵⁰ ≈ 9·10⁻¹⁶, values below 2⁴⁵ ≈ 3.5·10¹³.
    public static let statistics = FixedPointFormat(lsbExponent: -50)

    /// The largest magnitude a single contribution may have.
    public var limit: Double { Double(sign: .plus, exponent: lsbExponent + 95, significand: 1) }

    /// Adds `value` to the limbs at `limbs` (3 Int64). Returns false, adding nothing, when the value
    /// is non-finite or out of range.
    @inline(__always)
    public func add(_ value: Double, to limbs: UnsafeMutablePointer<Int64>) -> Bool {
        // |x| on the grid; exact (power-of-two scaling of a finite value in range).
        let x = value * toGrid
        let a = Swift.abs(x)
        guard a < 0x1p95 else { return false }    // also false for NaN
        let (d0, d1, d2) = Self.digits(a)
        addDigits(Int64(d0), Int64(d1), Int64(d2), negative: x < 0, to: limbs)
        return true
    }

    /// The base-2³² digits of non-negative a < 2⁹⁵ (in grid units), four at a time, d0 rounded to
    /// nearest (ties to even). Each subtraction removes leading bits of a non-negative number, so its
    /// result is a subset of a's bits and exact; only d0 is rounded (to the grid).
    @inline(__always)
    static func digits(_ a: SIMD4<Double>) -> (d0: SIMD4<Double>, d1: SIMD4<Double>, d2: SIMD4<Double>) {
        let d2 = (a * 0x1p-64).rounded(.down)
        let r1 = a - d2 * 0x1p64
        let d1 = (r1 * 0x1p-32).rounded(.down)
        return ((r1 - d1 * 0x1p32).rounded(.toNearestOrEven), d1, d2)
    }

    /// `digits` of one value (the same operations, so the same digits as the fold's four-lane pass).
    @inline(__always)
    static func digits(_ a: Double) -> (d0: Double, d1: Double, d2: Double) {
        let d = digits(SIMD4(repeating: a))
        return (d.d0[0], d.d1[0], d.d2[0])
    }

    /// Adds (or, for a negative value, subtracts) base-2³² digits to the limbs: a select, not a
    /// branch, since gradient signs are random.
    @inline(__always)
    private func addDigits(_ d0: Int64, _ d1: Int64, _ d2: Int64, negative: Bool, to limbs: UnsafeMutablePointer<Int64>) {
        limbs[0] &+= negative ? 0 &- d0 : d0
        limbs[1] &+= negative ? 0 &- d1 : d1
        limbs[2] &+= negative ? 0 &- d2 : d2
    }

    /// `add(Double(value), to:)` for a Float, from its bits alone: the same digits and the same
    /// rounding (to nearest, ties to even), about twice as fast — the deterministic mode folds every
    /// parameter's per-sample gradient through it.
    @inline(__always)
    public func add(_ value: Float, to limbs: UnsafeMutablePointer<Int64>) -> Bool {
        let bits = value.bitPattern
        let biased = Int((bits >> 23) & 0xFF)
        guard biased != 0xFF else { return false }                // NaN, ∞
        // value = ±mantissa · 2^exponent exactly (subnormals: no hidden bit, exponent −149).
        let mantissa = UInt64(bits & 0x7F_FFFF) | (biased == 0 ? 0 : 0x80_0000)
        let shift = (biased == 0 ? -149 : biased - 150) - lsbExponent   // value / 2^lsb = mantissa · 2^shift
        guard shift <= 71 else { return mantissa == 0 }           // ≥ 2^95 grid units (or a zero)
        var d0: UInt64, d1: UInt64 = 0, d2: UInt64 = 0
        if shift >= 0 {
            let u = UInt128(mantissa) << shift
            d0 = UInt64(truncatingIfNeeded: u) & 0xFFFF_FFFF
            d1 = UInt64(truncatingIfNeeded: u >> 32) & 0xFFFF_FFFF
            d2 = UInt64(truncatingIfNeeded: u >> 64)
        } else if shift >= -25 {
            let drop = UInt64(-shift)
            let kept = mantissa >> drop, rest = mantissa & ((1 << drop) - 1), half = UInt64(1) << (drop - 1)
            d0 = kept + (rest > half || (rest == half && kept & 1 == 1) ? 1 : 0)
        } else {
            d0 = 0                                                 // below half a grid unit
        }
        addDigits(Int64(d0), Int64(d1), Int64(d2), negative: bits >> 31 == 1, to: limbs)
        return true
    }

    /// The value the limbs hold, rounded once to Double: the limbs are combined exactly in 128-bit
    /// integer arithmetic first (so equal sums, however they were grouped, give the same bits, and a
    /// small negative total does not cancel against a carried 2⁶⁴).
    @inline(__always)
    public func value(_ limbs: UnsafePointer<Int64>) -> Double {
        let total = Int128(limbs[2]) << 64 + Int128(limbs[1]) << 32 + Int128(limbs[0])
        // Sign and magnitude, the magnitude's two 64-bit halves converted apart (the generic
        // Double(Int128) is a slow library call; this runs once per parameter per step).
        let m = total.magnitude
        let hi = UInt64(truncatingIfNeeded: m >> 64), lo = UInt64(truncatingIfNeeded: m)
        let magnitude = hi == 0 ? Double(lo) : Double(hi) * 0x1p64 + Double(lo)
        return (total < 0 ? -magnitude : magnitude) * fromGrid
    }
}

/// Exact conversions between Double and Int64 for integers below 2⁵¹ in magnitude, four at a time:
/// adding 1.5·2⁵² puts the integer in the mantissa bits (AVX2, which the build targets, has no
/// 64-bit integer ↔ Double conversion, so the plain ones would not vectorise).
private enum MantissaTrick {
    @inline(__always) static var magic: SIMD4<Double> { SIMD4(repeating: 0x1.8p52) }
    @inline(__always) static var magicBits: SIMD4<Int64> { unsafeBitCast(magic, to: SIMD4<Int64>.self) }
    @inline(__always) static func integer(_ d: SIMD4<Double>) -> SIMD4<Int64> { unsafeBitCast(d + magic, to: SIMD4<Int64>.self) &- magicBits }
    @inline(__always) static func double(_ x: SIMD4<Int64>) -> SIMD4<Double> { unsafeBitCast(x &+ magicBits, to: SIMD4<Double>.self) - magic }
}

/// An order of one weight's entries other than the parameters' own, in which a convolution engine
/// writes a unit's weight gradient (the Winograd engine: its phase layout, `WinogradPlan.phaseOrder`):
/// entry j is the weight's element `positions[j]`. `key` names the order (the engine and shape that
/// make it), so a layer can pass the same order at every call and it is built only once.
public struct EntryOrder {
    public let key: [Int]
    public let positions: () -> [Int32]

    public init(key: [Int], positions: @escaping () -> [Int32]) {
        self.key = key
        self.positions = positions
    }
}

/// The deterministic mode's gradient: for every parameter, the exact sum of its per-sample
/// contributions (three limbs each). Each layer computes one sample's gradient into the store's
/// Float gradient buffer and `fold`s it in; the trainer sums the limbs over replicas (integers:
/// exact) and converts once (`sumOverReplicas`, `write`).
public final class ExactGradients {
    public let format = FixedPointFormat.gradients
    public let parameterCount: Int
    /// The parameters' limbs, then one more entry whose first limb carries the replica's "refused
    /// something" flag through the same allreduce. (Reading this clears what `zero()` left pending.)
    public var limbs: UnsafeMutablePointer<Int64> {
        clearPending(0..<count)
        return storage
    }
    private let storage: UnsafeMutablePointer<Int64>
    /// Lazy clearing: `zero()` only marks every chunk of `chunk` entries pending. A chunk is cleared
    /// when something first adds to it or reads it — or never, when one `fold(samples:…)` covers it
    /// whole: that fold then writes its sums instead of adding them. Every weight gets exactly such a
    /// fold per step, so a step neither clears most of the limbs nor reads them before the fold
    /// (24 + 24 of the ~100 bytes per parameter a deterministic step moves for its sums).
    private static let chunk = 2048
    private var pending: [Bool]
    /// Contributions refused since `zero()` (non-finite or out of range), over every fold.
    public private(set) var refused = 0
    private var count: Int { parameterCount + 1 }

    /// Samples per unit: the layers compute the gradient of `unit` consecutive samples together and
    /// fold it as one contribution (1: every sample alone; see `TrainerSettings.deterministicUnit`).
    public let unit: Int

    /// The weights whose entries are kept in an engine's order (`arrange`), by offset: entry
    /// offset + j sums parameter offset + positions[j]; `inverse` maps back. Sorted by offset.
    private var arrangements: [(offset: Int, key: [Int], positions: [Int32], inverse: [Int32])] = []
    /// `write`'s staging for one arranged weight (grown to the largest).
    private var staging: [Float] = []

    public init(parameterCount: Int, unit: Int = 1) {
        precondition(unit >= 1, "ExactGradients: unit \(unit) < 1")
        self.parameterCount = parameterCount
        self.unit = unit
        storage = .allocate(capacity: FixedPointFormat.limbs * (parameterCount + 1))
        pending = [Bool](repeating: true, count: (parameterCount + 1 + Self.chunk - 1) / Self.chunk)
    }

    deinit { storage.deallocate() }

    /// From now on, entries offset..<offset+length hold the parameters in `order` (nil: their own
    /// order): a layer whose engine writes a unit's weight gradient in an order of its own says so
    /// before its first fold, and the folds then take the gradient as it comes; `write` puts the
    /// sums back in the parameters' places, once a step, instead of every unit being rearranged (the
    /// Winograd layers' scatter into PyTorch's layout was ~1% of a deterministic step).
    ///
    /// An arrangement is fixed for the life of these sums, and every replica makes the same one
    /// (their layers run the same engines): the limbs are summed over replicas entry by entry.
    public func arrange(at offset: Int, length: Int, as order: EntryOrder?) {
        let known = arrangements.firstIndex { $0.offset == offset }
        if let known {
            precondition(order?.key == arrangements[known].key,
                         "ExactGradients.arrange: the weight at \(offset) changed its gradient order within a deterministic run")
            return
        }
        guard let order else { return }
        precondition(offset >= 0 && offset + length <= parameterCount,
                     "ExactGradients.arrange: \(offset)+\(length) outside \(parameterCount)")
        precondition(!arrangements.contains { $0.offset < offset + length && offset < $0.offset + $0.positions.count },
                     "ExactGradients.arrange: the weight at \(offset) overlaps an arranged one")
        let positions = order.positions()
        var inverse = [Int32](repeating: -1, count: length)
        precondition(positions.count == length, "ExactGradients.arrange: an order of \(positions.count) entries for \(length)")
        for (j, p) in positions.enumerated() {
            precondition(p >= 0 && Int(p) < length && inverse[Int(p)] == -1, "ExactGradients.arrange: the order is not a permutation")
            inverse[Int(p)] = Int32(j)
        }
        arrangements.append((offset, order.key, positions, inverse))
        arrangements.sort { $0.offset < $1.offset }
        if staging.count < length { staging = [Float](repeating: 0, count: length) }
    }

    /// The entry that holds parameter `index` (itself, unless its weight is arranged).
    private func entry(of index: Int) -> Int {
        for a in arrangements where a.offset <= index && index < a.offset + a.inverse.count {
            return a.offset + Int(a.inverse[index - a.offset])
        }
        return index
    }

    /// Every sum back to 0 (lazily: see `pending`).
    public func zero() {
        pending.withUnsafeMutableBufferPointer { $0.update(repeating: true) }
        refused = 0
    }

    /// Clears the pending chunks that `entries` touch.
    private func clearPending(_ entries: Range<Int>) {
        guard !entries.isEmpty else { return }
        for c in (entries.lowerBound / Self.chunk)...((entries.upperBound - 1) / Self.chunk) where pending[c] {
            let first = c * Self.chunk, end = Swift.min(count, first + Self.chunk)
            (storage + FixedPointFormat.limbs * first).update(repeating: 0, count: FixedPointFormat.limbs * (end - first))
            pending[c] = false
        }
    }

    /// Adds `values[0..<length]`·`scale` to entries offset..<offset+length, then zeroes `values` (so
    /// the Float buffer is ready for the next sample). Entries are split over `threads`; each entry is
    /// touched by one thread only, and integer sums do not depend on the split anyway.
    public func fold(_ values: UnsafeMutablePointer<Float>, at offset: Int, length: Int, scale: Double = 1, threads: Int = 1) {
        precondition(offset >= 0 && offset + length <= parameterCount,
                     "ExactGradients.fold: \(offset)+\(length) outside \(parameterCount)")
        clearPending(offset..<(offset + length))
        let pieces = length >= 1 << 15 ? workPieces(length, threads: threads) : 1
        var refusedPerPiece = [Int](repeating: 0, count: pieces)
        let format = self.format, base = storage + FixedPointFormat.limbs * offset
        refusedPerPiece.withUnsafeMutableBufferPointer { counts in
            parallelFor(pieces, threads: threads) { piece in
                var bad = 0
                for i in splitRange(length, parts: pieces, piece) {
                    let ok = scale == 1 ? format.add(values[i], to: base + FixedPointFormat.limbs * i)
                                        : format.add(Double(values[i]) * scale, to: base + FixedPointFormat.limbs * i)
                    if !ok { bad += 1 }
                    values[i] = 0
                }
                counts[piece] = bad
            }
        }
        refused += refusedPerPiece.reduce(0, +)
    }

    /// Adds `count` samples' contributions to entries offset..<offset+length: sample k's are
    /// `values[k·stride ..< k·stride + length]` (left as they are). Entries go in blocks that stay in
    /// cache while every sample is added to them, so the limbs (24 bytes an entry) cross the memory
    /// bus once per call, not once per sample; blocks are split over `threads`.
    ///
    /// Fast path: an entry's samples are added in Double while their largest magnitude and smallest
    /// non-zero magnitude are tracked. Every sample is a multiple of the smallest one's ulp u, and
    /// every partial sum is below count·max; when that is below 2⁵³·u, each partial sum is a multiple
    /// of u that Double holds exactly, so the Double sum IS the exact total. When, besides, u is on
    /// the grid and the values are in range, the sum goes into the limbs in one update — the same
    /// integer the per-sample updates would add up to, so the same value however the samples were
    /// grouped (which path an entry takes never changes its result). Any entry that fails a condition
    /// (a spread of more than about 2²⁹/count between its largest and smallest sample, a value off
    /// the grid, out of range, NaN or ∞) takes the per-sample updates (`add(_: Float, to:)`).
    public func fold(samples values: UnsafePointer<Float>, count: Int, stride: Int, at offset: Int, length: Int, threads: Int = 1) {
        precondition(offset >= 0 && offset + length <= parameterCount,
                     "ExactGradients.fold: \(offset)+\(length) outside \(parameterCount)")
        guard count > 0, length > 0 else { return }
        // Pending chunks inside the range are written, not added to (`pending`); the ones the range
        // only partly covers are cleared first, so every pending chunk left here is inside.
        let end = offset + length, chunk = Self.chunk
        let firstChunk = offset / chunk, lastChunk = (end - 1) / chunk
        for c in [firstChunk, lastChunk] where c * chunk < offset || Swift.min(self.count, (c + 1) * chunk) > end {
            clearPending((c * chunk)..<(c * chunk + 1))
        }
        let fresh = pending   // read by the threads below, updated after them
        for c in firstChunk...lastChunk { pending[c] = false }
        let block = 2048, blocks = (length + block - 1) / block
        let pieces = Swift.min(blocks, threads <= 1 ? 1 : 4 * threads)
        var refusedPerPiece = [Int](repeating: 0, count: pieces)
        let format = self.format, base = storage + FixedPointFormat.limbs * offset
        let grid = Double(sign: .plus, exponent: format.lsbExponent, significand: 1)
        let limit = format.limit, samples = Double(count), toGrid = format.toGrid
        refusedPerPiece.withUnsafeMutableBufferPointer { counts in
            parallelFor(pieces, threads: threads) { piece in
                let sum = UnsafeMutablePointer<Double>.allocate(capacity: block)
                let largest = UnsafeMutablePointer<UInt32>.allocate(capacity: block)
                let smallest = UnsafeMutablePointer<UInt32>.allocate(capacity: block)
                let digits = UnsafeMutablePointer<Int64>.allocate(capacity: 3 * block)
                let slow = UnsafeMutablePointer<UInt8>.allocate(capacity: block)
                defer { sum.deallocate(); largest.deallocate(); smallest.deallocate(); digits.deallocate(); slow.deallocate() }
                var bad = 0
                for b in splitRange(blocks, parts: pieces, piece) {
                    let first = b * block, n = Swift.min(length, first + block) - first
                    // Whole vectors: the lanes past n are all-zero entries (fast, zero digits), never written back.
                    let padded = (n + 3) & ~3
                    sum.update(repeating: 0, count: padded)
                    largest.update(repeating: 0, count: padded)
                    smallest.update(repeating: .max, count: padded)
                    // Arithmetic and selects only, no branches: the loops vectorise. Four samples per
                    // pass over the block, so the three running values are loaded and stored once per four.
                    // The magnitudes are tracked as bit patterns (|x|'s bits order like |x|): the largest
                    // by an integer max, the smallest non-zero one by an integer min of bits − 1, under
                    // which a zero wraps to the top and never wins. (A NaN's bits exceed ∞'s: an entry
                    // whose largest is not finite takes the per-sample path below, which refuses it.)
                    @inline(__always) func add(_ x: Float, _ s: inout Double, _ hi: inout UInt32, _ lo: inout UInt32) {
                        let bits = x.bitPattern & 0x7FFF_FFFF
                        hi = Swift.max(hi, bits)
                        lo = Swift.min(lo, bits &- 1)
                        s += Double(x)
                    }
                    var k = 0
                    while k + 4 <= count {
                        let v0 = values + k * stride + first, v1 = v0 + stride, v2 = v1 + stride, v3 = v2 + stride
                        for i in 0..<n {
                            var s = sum[i], hi = largest[i], lo = smallest[i]
                            add(v0[i], &s, &hi, &lo); add(v1[i], &s, &hi, &lo)
                            add(v2[i], &s, &hi, &lo); add(v3[i], &s, &hi, &lo)
                            sum[i] = s; largest[i] = hi; smallest[i] = lo
                        }
                        k += 4
                    }
                    while k < count {
                        let v = values + k * stride + first
                        for i in 0..<n {
                            var s = sum[i], hi = largest[i], lo = smallest[i]
                            add(v[i], &s, &hi, &lo)
                            sum[i] = s; largest[i] = hi; smallest[i] = lo
                        }
                        k += 1
                    }
                    // The fast entries' signed base-2³² digits, four entries to a vector: Double
                    // arithmetic is exact here (a multiple of the grid below 2⁹⁵, scaled by powers of
                    // two), and a digit below 2⁵¹ becomes an Int64 exactly (`MantissaTrick`). An entry that
                    // fails adds zero digits and is marked `slow`: it goes the per-sample way below.
                    // (Written with SIMD types: as a scalar loop the compiler left it unvectorised, and
                    // it was half the fold's time.)
                    typealias D4 = SIMD4<Double>
                    typealias U4 = SIMD4<UInt32>
                    // A block wholly inside pending chunks (the usual case: a layer's first fold of the
                    // step) takes its digits in place, with no copy of 24 bytes an entry afterwards.
                    let entries = base + FixedPointFormat.limbs * first
                    let inPlace = ((offset + first) / chunk...(offset + first + n - 1) / chunk).allSatisfy { fresh[$0] }
                    let out = inPlace ? entries : digits
                    var slowSeen = SIMDMask<SIMD4<Int64>>(repeating: false)
                    for i in Swift.stride(from: 0, to: padded, by: 4) {
                        let s = UnsafeRawPointer(sum + i).loadUnaligned(as: D4.self)
                        let hiBits = UnsafeRawPointer(largest + i).loadUnaligned(as: U4.self)
                        let loBits = UnsafeRawPointer(smallest + i).loadUnaligned(as: U4.self) &+ 1   // 0: no non-zero sample
                        let hi = D4(unsafeBitCast(hiBits, to: SIMD4<Float>.self))
                        // u = ulp(smallest) from its exponent field e (e < 24: below the grid anyway).
                        let e = (loBits &>> 23) & 0xFF
                        let u = D4(unsafeBitCast((pointwiseMax(e, U4(repeating: 24)) &- 23) &<< 23, to: SIMD4<Float>.self))
                        let zero = (hi .== 0) .& (s .== 0)                                   // every sample ±0
                        let inRange = (hi .< .infinity) .& (s .< limit) .& (s .> -limit)  // false for NaN
                        let fast = zero .| (inRange .& (u .>= grid) .& (samples * hi .< 0x1p53 * u))
                        let x = s * toGrid
                        let negative = x .< 0
                        let (d0, d1, d2) = FixedPointFormat.digits(x.replacing(with: -x, where: negative))
                        let sign = D4(repeating: 1).replacing(with: -1, where: negative)
                        let i0 = MantissaTrick.integer(sign * d0).replacing(with: 0, where: .!fast)
                        let i1 = MantissaTrick.integer(sign * d1).replacing(with: 0, where: .!fast)
                        let i2 = MantissaTrick.integer(sign * d2).replacing(with: 0, where: .!fast)
                        slowSeen .|= .!fast
                        // (In place, the padding lanes past n are not written: they are other entries.)
                        for lane in 0..<Swift.min(4, n - i) {
                            out[3 * (i + lane)] = i0[lane]
                            out[3 * (i + lane) + 1] = i1[lane]
                            out[3 * (i + lane) + 2] = i2[lane]
                            slow[i + lane] = fast[lane] ? 0 : 1
                        }
                    }
                    // Chunk by chunk: a pending one gets the digits, a cleared one adds them.
                    var i = inPlace ? n : 0
                    while i < n {
                        let c = (offset + first + i) / chunk, next = Swift.min(n, (c + 1) * chunk - offset - first)
                        let to = entries + FixedPointFormat.limbs * i, from = digits + FixedPointFormat.limbs * i
                        if fresh[c] {
                            to.update(from: from, count: FixedPointFormat.limbs * (next - i))
                        } else {
                            for j in 0..<(FixedPointFormat.limbs * (next - i)) { to[j] &+= from[j] }
                        }
                        i = next
                    }
                    guard any(slowSeen) else { continue }   // the usual case: no entry to redo
                    for i in 0..<n where slow[i] != 0 {
                        let entry = entries + FixedPointFormat.limbs * i
                        for k in 0..<count where !format.add(values[k * stride + first + i], to: entry) { bad += 1 }
                    }
                }
                counts[piece] = bad
            }
        }
        refused += refusedPerPiece.reduce(0, +)
    }

    /// Adds `other`'s sums to these (integer additions: exact, and the same total in any order) —
    /// one thread's share of the units. Both hold the same parameters in the same arrangement.
    public func add(_ other: ExactGradients) {
        precondition(other.parameterCount == parameterCount && other.arrangements.map(\.offset) == arrangements.map(\.offset),
                     "ExactGradients.add: sums of \(other.parameterCount) parameters for \(parameterCount)")
        let mine = limbs, theirs = UnsafePointer(other.limbs)   // (clears what either left pending)
        for i in 0..<(FixedPointFormat.limbs * count) { mine[i] &+= theirs[i] }
        refused += other.refused
    }

    /// Adds one Double to parameter entry `index` (a gradient computed in Double, e.g. BatchNorm's γ, β).
    public func add(_ value: Double, at index: Int) {
        precondition(index >= 0 && index < parameterCount, "ExactGradients.add: entry \(index) outside \(parameterCount)")
        let e = entry(of: index)
        clearPending(e..<(e + 1))
        if !format.add(value, to: storage + FixedPointFormat.limbs * e) { refused += 1 }
    }

    /// Parameter `index`'s sum as a Double.
    public func value(at index: Int) -> Double {
        let e = entry(of: index)
        clearPending(e..<(e + 1))
        return format.value(UnsafePointer(storage + FixedPointFormat.limbs * e))
    }

    /// Sums the limbs over the replicas (one integer allreduce: exact, order-independent) together
    /// with each replica's flag `bad` (a refused contribution, or whatever else the caller counts as
    /// a non-finite step). Returns how many replicas were bad.
    public func sumOverReplicas(_ group: ReplicaGroup, bad: Bool) -> Int {
        let all = limbs, flag = all + FixedPointFormat.limbs * parameterCount
        flag[0] = bad ? 1 : 0; flag[1] = 0; flag[2] = 0
        group.sum(all, count: FixedPointFormat.limbs * count)
        return Int(flag[0])
    }

    /// Writes the sums, rounded to Float, into `gradients` (parameterCount floats).
    public func write(into gradients: UnsafeMutablePointer<Float>, threads: Int = 1) {
        let n = parameterCount, pieces = n >= 1 << 15 ? workPieces(n, threads: threads) : 1
        let format = self.format, limbs = UnsafePointer(self.limbs)   // (clears what is pending)
        parallelFor(pieces, threads: threads) { piece in
            let range = splitRange(n, parts: pieces, piece)
            var i = range.lowerBound
            while i + 4 <= range.upperBound {
                if !Self.writeFour(limbs + FixedPointFormat.limbs * i, into: gradients + i, fromGrid: format.fromGrid) {
                    for j in i..<(i + 4) { gradients[j] = Float(format.value(limbs + FixedPointFormat.limbs * j)) }
                }
                i += 4
            }
            for j in i..<range.upperBound { gradients[j] = Float(format.value(limbs + FixedPointFormat.limbs * j)) }
        }
        // The arranged weights came out in their engines' order: each back to its places.
        guard !arrangements.isEmpty else { return }
        staging.withUnsafeMutableBufferPointer { staged in
            let stage = staged.baseAddress!
            for a in arrangements {
                let n = a.positions.count, out = gradients + a.offset
                stage.update(from: out, count: n)
                a.positions.withUnsafeBufferPointer { positions in
                    let pieces = n >= 1 << 15 ? workPieces(n, threads: threads) : 1
                    parallelFor(pieces, threads: threads) { piece in
                        for j in splitRange(n, parts: pieces, piece) { out[Int(positions[j])] = stage[j] }
                    }
                }
            }
        }
    }

    /// `write`'s vector path for four entries, the same bits as `FixedPointFormat.value` then Float:
    /// when every limb is small (|l₀|, |l₁| < 2⁵¹, |l₂| < 2¹⁹), l₂·2³² + l₁ is an integer Double holds
    /// exactly, so (l₂·2³² + l₁)·2³² + l₀ rounds the exact total once, to nearest even — what `value`
    /// does for a total below 2⁶⁴ (checked: below 2⁶³ after rounding). The usual case by far: a limb
    /// grows by at most 2³² per contribution. Returns false, writing nothing, otherwise.
    @inline(__always)
    private static func writeFour(_ p: UnsafePointer<Int64>, into out: UnsafeMutablePointer<Float>, fromGrid: Double) -> Bool {
        typealias I4 = SIMD4<Int64>
        // |x| < 2^b ⇔ x + 2^b, as unsigned, is below 2^(b+1). (Scalar on purpose: SIMD4<Int64>
        // comparisons compile to a loop here, not to vector compares.)
        @inline(__always) func above(_ x: Int64, _ b: Int) -> UInt64 { UInt64(bitPattern: x &+ (1 << b)) >> (b + 1) }
        var large: UInt64 = 0
        for j in 0..<4 { large |= above(p[3 * j], 51) | above(p[3 * j + 1], 51) | above(p[3 * j + 2], 19) }
        guard large == 0 else { return false }
        let l0 = I4(p[0], p[3], p[6], p[9]), l1 = I4(p[1], p[4], p[7], p[10]), l2 = I4(p[2], p[5], p[8], p[11])
        let total = (MantissaTrick.double(l2) * 0x1p32 + MantissaTrick.double(l1)) * 0x1p32 + MantissaTrick.double(l0)
        guard all((total .< 0x1p63) .& (total .> -0x1p63)) else { return false }
        UnsafeMutableRawPointer(out).storeBytes(of: SIMD4<Float>(total * fromGrid), as: SIMD4<Float>.self)
        return true
    }
}

/// Σ over `samples` of per-sample Double values, exactly, then over the replicas: the deterministic
/// form of a cross-sample statistic (BatchNorm's sums, a loss). `values[k·samples + i]` is sample
/// i's contribution to sum k; returns the `sums` totals. A value that cannot be represented makes
/// its total NaN, which the caller's non-finite checks then see.
public func exactSampleSums(_ values: [Double], sums: Int, samples: Int, group: ReplicaGroup,
                            format: FixedPointFormat = .statistics) -> [Double] {
    precondition(values.count == sums * samples, "exactSampleSums: \(values.count) values for \(sums) sums × \(samples) samples")
    let L = FixedPointFormat.limbs
    // The limbs of every sum, then one flag per sum for a refused contribution (summed with them).
    var limbs = [Int64](repeating: 0, count: sums * (L + 1))
    limbs.withUnsafeMutableBufferPointer { p in
        for k in 0..<sums {
            for i in 0..<samples where !format.add(values[k * samples + i], to: p.baseAddress! + k * L) {
                p[sums * L + k] += 1
            }
        }
        group.sum(p.baseAddress!, count: sums * (L + 1))
    }
    return limbs.withUnsafeBufferPointer { p in
        (0..<sums).map { k in p[sums * L + k] == 0 ? format.value(p.baseAddress! + k * L) : .nan }
    }
}
