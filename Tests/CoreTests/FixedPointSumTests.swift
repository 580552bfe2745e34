@testable import Core
import XCTest

/// The deterministic mode's exact summation (`FixedPointFormat`, `ExactGradients`).
final class FixedPointSumTests: XCTestCase {
    private let format = FixedPointFormat.gradients

    private func sum(_ values: [Double], groups: [Range<Int>]) -> (limbs: [Int64], value: Double) {
        // Each group summed into its own limbs (a rank's share), then the groups' limbs added (the allreduce).
        var total = [Int64](repeating: 0, count: 3)
        for g in groups {
            var part = [Int64](repeating: 0, count: 3)
            part.withUnsafeMutableBufferPointer { p in
                for i in g { XCTAssertTrue(format.add(values[i], to: p.baseAddress!)) }
            }
            for k in 0..<3 { total[k] &+= part[k] }
        }
        return (total, total.withUnsafeBufferPointer { format.value($0.baseAddress!) })
    }

    /// Any order and any grouping of the same contributions gives the same bits — and the right
    /// value: contributions on the grid sum exactly, which a Double sum of them does not.
    func testSumsAreOrderAndGroupingIndependentAndExact() {
        var rng = RNG(seed: 11)
        // Magnitudes spread over 2^-60 … 2^20, both signs: a Double sum rounds these differently per order.
        let values: [Double] = (0..<4096).map { _ in
            let e = Int(rng.next() % 80) - 60
            let s = Double(Float(rng.uniform(-1, 1)))
            return s * Double(sign: .plus, exponent: e, significand: 1)
        }
        let whole = sum(values, groups: [0..<values.count])
        let shuffled = Array(values.reversed())
        XCTAssertEqual(sum(shuffled, groups: [0..<values.count]).value.bitPattern, whole.value.bitPattern, "reversed order")
        for parts in [2, 3, 8, 64] {
            let groups = (0..<parts).map { splitRange(values.count, parts: parts, $0) }
            XCTAssertEqual(sum(values, groups: groups).value.bitPattern, whole.value.bitPattern, "\(parts) groups")
        }
        // Exactness: values that are multiples of the grid and small enough that a Double holds every
        // partial sum exactly (integers × 2^-20 below 2^30) give the Double sum.
        let exact: [Double] = (0..<1000).map { _ in Double(Int(rng.next() % 2_000_001) - 1_000_000) * 0x1p-20 }
        XCTAssertEqual(sum(exact, groups: [0..<1000]).value, exact.reduce(0, +))
        // A cancellation a Float or Double sum loses entirely: 2^40 + 2^-40 − 2^40.
        let cancel = sum([0x1p20, 0x1p-40, -0x1p20], groups: [0..<1, 1..<3])
        XCTAssertEqual(cancel.value, 0x1p-40)
    }

    /// Negative values whose base-2³² digits need borrowing (−1 on the grid, −2³², −2⁶⁴ …) round-trip.
    func testNegativeValuesAndDigitBoundariesRoundTrip() {
        for v in [-1.0, -0x1p-72, -0x1p-40, -0x1p-8, -1.5, -0x1p20, 0x1p-72, 0x1p-40, 0x1p22, -0x1.fffffep22] {
            var limbs = [Int64](repeating: 0, count: 3)
            limbs.withUnsafeMutableBufferPointer { XCTAssertTrue(format.add(v, to: $0.baseAddress!)) }
            XCTAssertEqual(limbs.withUnsafeBufferPointer { format.value($0.baseAddress!) }, v, "\(v)")
        }
        // Below the grid: rounded to nearest, ties to even, one contribution at a time.
        var limbs = [Int64](repeating: 0, count: 3)
        limbs.withUnsafeMutableBufferPointer { p in
            _ = format.add(0x1p-74, to: p.baseAddress!)          // a quarter of the grid: 0
            _ = format.add(0x1.8p-72, to: p.baseAddress!)        // 1.5 grid units: 2 (even)
        }
        XCTAssertEqual(limbs.withUnsafeBufferPointer { format.value($0.baseAddress!) }, 0x1p-71)
    }

    /// The Float path (from the bits) gives the Double path's digits for every kind of Float: normal,
    /// subnormal, tiny (rounded to the grid, ties to even), near the range's top, beyond it, NaN, ∞.
    func testFloatPathMatchesTheDoublePath() {
        var rng = RNG(seed: 5)
        var values: [Float] = [0, -0, .leastNonzeroMagnitude, -.leastNormalMagnitude, 0x1p-73, 0x1.8p-72, 0x1.4p-71,
                               0x1.8p-71, -0x1.8p-70, 0x1.fffffep22, 0x1p23, -0x1p23, .greatestFiniteMagnitude, .nan, .infinity, -.infinity]
        for _ in 0..<20_000 {
            let e = Int(rng.next() % 140) - 110          // 2^-110 … 2^29: below the grid to beyond the range
            values.append(Float(sign: rng.next() & 1 == 0 ? .plus : .minus, exponent: e,
                                significand: 1 + rng.uniformFloat()))
        }
        for v in values {
            var a = [Int64](repeating: 0, count: 3), b = a
            let okFloat = a.withUnsafeMutableBufferPointer { format.add(v, to: $0.baseAddress!) }
            let okDouble = b.withUnsafeMutableBufferPointer { format.add(Double(v), to: $0.baseAddress!) }
            XCTAssertEqual(okFloat, okDouble, "\(v) accepted")
            XCTAssertEqual(a, b, "\(v)")
        }
    }

    /// Folding many samples at once (Double fast path, per-sample fallback) gives the values and the
    /// refusals that folding them one by one gives, for entries that take either path: ordinary
    /// gradients, values off the grid, sums beyond the range, NaN, ∞, samples spread over many
    /// binades, all-zero entries, sums that cancel exactly, and sums whose digits fill all three limbs.
    func testFoldingSamplesTogetherEqualsFoldingThemOneByOne() {
        var rng = RNG(seed: 9)
        let samples = 13, length = 5000
        var values = [Float](repeating: 0, count: samples * length)
        for i in 0..<length {
            let kind = i % 11
            for k in 0..<samples {
                let r = Float(rng.uniform(-1, 1))
                switch kind {
                case 0, 1, 2: values[k * length + i] = r * 1e-3                        // ordinary: fast path
                case 3: values[k * length + i] = r * Float(sign: .plus, exponent: -60 + k, significand: 1)   // some off the grid
                case 4: values[k * length + i] = k == 0 ? 3e6 : (k == 1 ? 6e6 : r)      // sum beyond the range, samples within
                case 5: values[k * length + i] = k == 5 ? .nan : r                       // refused
                case 7: values[k * length + i] = k % 2 == 0 ? 0 : -0.0                   // nothing to add
                case 8: values[k * length + i] = k == 2 ? .infinity : r                  // refused
                case 9: values[k * length + i] = (k % 2 == 0 ? 1 : -1) * Float(k / 2 + 1) * 1e-3 * (k == samples - 1 ? 0 : 1)  // cancels
                case 10: values[k * length + i] = r * 0.5 - 0.2                          // all three digits, negative sums
                default: values[k * length + i] = r * Float(sign: .plus, exponent: Int(rng.next() % 60) - 40, significand: 1)
                }
            }
        }
        let together = ExactGradients(parameterCount: length), oneByOne = ExactGradients(parameterCount: length)
        values.withUnsafeBufferPointer { together.fold(samples: $0.baseAddress!, count: samples, stride: length, at: 0, length: length, threads: 2) }
        var copy = values
        copy.withUnsafeMutableBufferPointer { p in
            for k in 0..<samples { oneByOne.fold(p.baseAddress! + k * length, at: 0, length: length) }
        }
        XCTAssertEqual(together.refused, oneByOne.refused)
        XCTAssertEqual(together.refused, (0..<length).filter { $0 % 11 == 5 || $0 % 11 == 8 }.count)
        for i in 0..<length {
            XCTAssertEqual(together.value(at: i).bitPattern, oneByOne.value(at: i).bitPattern, "entry \(i) (kind \(i % 11))")
        }
        XCTAssertEqual(together.value(at: 9), 0, "an exactly cancelling entry sums to zero")
        XCTAssertEqual(together.value(at: 7).bitPattern, Double(0).bitPattern, "an all-zero entry stays +0")
    }

    /// `write` (four entries to a vector when the limbs are small) gives Float(value) for every
    /// entry: limbs in carry-save form of every size, on both sides of the vector path's limits
    /// (|l₀|, |l₁| < 2⁵¹, |l₂| < 2¹⁹, a total below 2⁶³ grid units), both signs, zeros, and a tail
    /// that is not a whole vector.
    func testWriteGivesEachEntrysValueRoundedToFloat() {
        var rng = RNG(seed: 21)
        let count = 4 * 9000 + 3      // above write's threshold for splitting: pieces start off a vector boundary
        let exact = ExactGradients(parameterCount: count)
        func limb(_ bits: Int) -> Int64 {
            let magnitude = bits >= 63 ? Int64(bitPattern: rng.next() >> 1) : Int64(bitPattern: rng.next() % (UInt64(1) << UInt64(bits)))
            return rng.next() & 1 == 0 ? magnitude : 0 &- magnitude
        }
        for i in 0..<count {
            let entry = exact.limbs + FixedPointFormat.limbs * i
            switch i % 7 {
            case 0: entry[0] = 0; entry[1] = 0; entry[2] = 0                                // zero
            case 1: entry[0] = limb(40); entry[1] = limb(40); entry[2] = limb(8)              // ordinary sums
            case 2: entry[0] = limb(51); entry[1] = limb(51); entry[2] = limb(19)             // near the limits, within
            case 3: entry[0] = limb(52); entry[1] = limb(52); entry[2] = limb(20)             // around the limits
            case 4: entry[0] = limb(63); entry[1] = limb(63); entry[2] = limb(63)             // anything an allreduce can give
            case 5: entry[0] = Int64(i % 5) - 2; entry[1] = 1 << 21; entry[2] = 0              // 2⁵³ − 2 … 2⁵³ + 2: ties
            default: entry[0] = limb(33); entry[1] = (1 << 31) - Int64(i % 3); entry[2] = 0    // totals around 2⁶³
            }
        }
        for threads in [1, 2] {
            var written = [Float](repeating: .nan, count: count)
            written.withUnsafeMutableBufferPointer { exact.write(into: $0.baseAddress!, threads: threads) }
            for i in 0..<count {
                XCTAssertEqual(written[i].bitPattern, Float(exact.value(at: i)).bitPattern, "entry \(i) (kind \(i % 7)), \(threads) threads")
            }
        }
    }

    /// `zero()` clears lazily and a fold that covers a whole chunk writes its sums instead of adding
    /// them: after sums of every kind, `zero()` and a mix of folds (ranges that start and end inside
    /// chunks, a range folded twice, single adds, a per-sample fold), every entry equals what a fresh
    /// instance gets from the same mix, and entries nothing touched since read 0.
    func testZeroThenFoldsGiveWhatAFreshInstanceGives() {
        var rng = RNG(seed: 33)
        let length = 10_000, samples = 3
        func randomValues(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.uniform(-1, 1)) * 1e-2 } }
        let reused = ExactGradients(parameterCount: length), fresh = ExactGradients(parameterCount: length)
        let garbage = randomValues(samples * length)
        garbage.withUnsafeBufferPointer { reused.fold(samples: $0.baseAddress!, count: samples, stride: length, at: 0, length: length) }
        reused.add(7, at: 3)
        reused.zero()
        let a = randomValues(samples * 5000), b = randomValues(samples * 4900), c = randomValues(samples * 4900)
        let single = randomValues(60)
        // Entries 2045..<4096 are blocks [2045, 4093) and [4093, 4096); the second lies in a pending
        // chunk (2048..<4096, all in the range) and is written in place, with 3 entries and a
        // vector of 4: entry 4096, in a chunk that an earlier fold already wrote, must be left alone.
        let neighbour = randomValues(samples * 52), straddling = randomValues(samples * 2051)
        for exact in [reused, fresh] {
            neighbour.withUnsafeBufferPointer { exact.fold(samples: $0.baseAddress!, count: samples, stride: 52, at: 4096, length: 52) }
            straddling.withUnsafeBufferPointer { exact.fold(samples: $0.baseAddress!, count: samples, stride: 2051, at: 2045, length: 2051) }
            a.withUnsafeBufferPointer { exact.fold(samples: $0.baseAddress!, count: samples, stride: 5000, at: 100, length: 5000) }
            b.withUnsafeBufferPointer { exact.fold(samples: $0.baseAddress!, count: samples, stride: 4900, at: 5100, length: 4900) }
            c.withUnsafeBufferPointer { exact.fold(samples: $0.baseAddress!, count: samples, stride: 4900, at: 5100, length: 4900) }
            exact.add(3, at: 50)
            var copy = single
            copy.withUnsafeMutableBufferPointer { exact.fold($0.baseAddress!, at: 40, length: 60) }
        }
        // The same folds sample by sample (`fold(_:at:length:)`, no block path): what both must hold.
        let oneByOne = ExactGradients(parameterCount: length)
        for (values, offset, n) in [(neighbour, 4096, 52), (straddling, 2045, 2051), (a, 100, 5000), (b, 5100, 4900), (c, 5100, 4900)] {
            for k in 0..<samples {
                var sample = Array(values[(k * n)..<((k + 1) * n)])
                sample.withUnsafeMutableBufferPointer { oneByOne.fold($0.baseAddress!, at: offset, length: n) }
            }
        }
        oneByOne.add(3, at: 50)
        var copy = single
        copy.withUnsafeMutableBufferPointer { oneByOne.fold($0.baseAddress!, at: 40, length: 60) }
        XCTAssertEqual(reused.refused, 0)
        var mismatches = 0
        for i in 0..<length {
            let expected = oneByOne.value(at: i).bitPattern
            if reused.value(at: i).bitPattern != expected || fresh.value(at: i).bitPattern != expected { mismatches += 1 }
        }
        XCTAssertEqual(mismatches, 0, "entries whose block-folded sums differ from the sample-by-sample ones")
        for i in 0..<40 { XCTAssertEqual(reused.value(at: i), 0, "entry \(i) was not touched after zero()") }
        XCTAssertNotEqual(reused.value(at: 6000), 0)
    }

    /// An arranged weight (`arrange`): its folds take the values in the order given and every read
    /// (`write`, `value(at:)`, `add(_:at:)`) sees each sum in its parameter's place — the same sums a
    /// plain instance gets from the values in the parameters' own order. The entries around it (a
    /// second, unarranged weight and one before it) are untouched by the rearranging; repeating the
    /// same order is a no-op, and it lasts across `zero()`.
    func testArrangedEntriesAreReadInTheirParametersPlaces() {
        let before = 5, length = 3 * 4096 + 7, after = 11, count = before + length + after, samples = 3
        var rng = RNG(seed: 31)
        // A permutation of the weight's entries: entry j holds parameter positions[j].
        var positions = (0..<length).map { Int32($0) }
        for i in stride(from: length - 1, to: 0, by: -1) { positions.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        let values = (0..<(samples * count)).map { _ in rng.uniformFloat() * 2 - 1 }
        var ordered = values   // sample k's values for entry j of the arranged weight, in entry order
        for k in 0..<samples { for j in 0..<length { ordered[k * count + before + j] = values[k * count + before + Int(positions[j])] } }
        let plain = ExactGradients(parameterCount: count), arranged = ExactGradients(parameterCount: count)
        let order = EntryOrder(key: [7]) { positions }
        for round in 0..<2 {
            plain.zero(); arranged.zero()
            arranged.arrange(at: before, length: length, as: order)
            values.withUnsafeBufferPointer { plain.fold(samples: $0.baseAddress!, count: samples, stride: count, at: 0, length: count, threads: 2) }
            ordered.withUnsafeBufferPointer { arranged.fold(samples: $0.baseAddress!, count: samples, stride: count, at: 0, length: count, threads: 2) }
            plain.add(0.25, at: before + 3); arranged.add(0.25, at: before + 3)
            for threads in [1, 2] {
                var expected = [Float](repeating: .nan, count: count), got = expected
                expected.withUnsafeMutableBufferPointer { plain.write(into: $0.baseAddress!, threads: threads) }
                got.withUnsafeMutableBufferPointer { arranged.write(into: $0.baseAddress!, threads: threads) }
                let wrong = (0..<count).filter { got[$0].bitPattern != expected[$0].bitPattern }
                XCTAssertEqual(wrong.count, 0, "round \(round), \(threads) threads: first wrong parameter \(wrong.first ?? -1)")
            }
            for i in [0, before, before + 3, before + length - 1, count - 1] {
                XCTAssertEqual(arranged.value(at: i).bitPattern, plain.value(at: i).bitPattern, "round \(round), parameter \(i)")
            }
        }
        XCTAssertNotEqual(positions, (0..<length).map { Int32($0) }, "the order is not the identity")
    }

    /// Sums split over instances (the threads' shares of the units) and added together
    /// (`add(_: ExactGradients)`) are the sums one instance gets from every fold, refusals included,
    /// whichever instance took which contribution.
    func testSumsOfSeveralInstancesAddUpToOnesSums() {
        let count = 5000, samples = 7
        var rng = RNG(seed: 41)
        let values = (0..<(samples * count)).map { i in i == 3 * count + 17 ? Float.nan : (rng.uniformFloat() - 0.5) * 1e-3 }
        let whole = ExactGradients(parameterCount: count)
        for k in 0..<samples {
            var v = Array(values[(k * count)..<((k + 1) * count)])
            v.withUnsafeMutableBufferPointer { whole.fold($0.baseAddress!, at: 0, length: count, scale: 0.125) }
        }
        for split in [[0, 1, 2, 3, 4, 5, 6], [6, 0, 3, 1, 5, 2, 4]] {
            let first = ExactGradients(parameterCount: count), second = ExactGradients(parameterCount: count)
            first.zero(); second.zero()
            for (i, k) in split.enumerated() {
                var v = Array(values[(k * count)..<((k + 1) * count)])
                v.withUnsafeMutableBufferPointer { (i % 3 == 0 ? first : second).fold($0.baseAddress!, at: 0, length: count, scale: 0.125) }
            }
            first.add(second)
            XCTAssertEqual(first.refused, 1, "the NaN is refused once")
            let wrong = (0..<count).filter { first.value(at: $0).bitPattern != whole.value(at: $0).bitPattern }
            XCTAssertEqual(wrong.count, 0, "split \(split): first differing entry \(wrong.first ?? -1)")
        }
    }

    /// What cannot be represented is refused (and counted), never wrapped into a wrong sum.
    func testOutOfRangeAndNonFiniteContributionsAreRefused() {
        var limbs = [Int64](repeating: 0, count: 3)
        limbs.withUnsafeMutableBufferPointer { p in
            XCTAssertFalse(format.add(format.limit, to: p.baseAddress!))
            XCTAssertFalse(format.add(-format.limit * 2, to: p.baseAddress!))
            XCTAssertFalse(format.add(Double.nan, to: p.baseAddress!))
            XCTAssertFalse(format.add(Double.infinity, to: p.baseAddress!))
            XCTAssertTrue(format.add(format.limit.nextDown, to: p.baseAddress!))
        }
        let exact = ExactGradients(parameterCount: 4)
        var values: [Float] = [1, .nan, 3, -.infinity]
        values.withUnsafeMutableBufferPointer { exact.fold($0.baseAddress!, at: 0, length: 4) }
        XCTAssertEqual(exact.refused, 2)
        XCTAssertEqual(values, [0, 0, 0, 0], "fold leaves the Float buffer zeroed for the next sample")
        XCTAssertEqual(exact.value(at: 0), 1)
        XCTAssertEqual(exact.value(at: 2), 3)
        XCTAssertEqual(exact.sumOverReplicas(SingleProcess(), bad: exact.refused > 0), 1)
    }
}
