import Foundation
import XCTest
@testable import Core

final class VPNetTests: XCTestCase {
    /// The reference's state_dict keys of LAVPNet(dim, layers 3, sublayers 2), in order.
    private static let keys = ["LinM1.params.S1", "LinM1.params.S2", "LinM1.params.bp", "LinM1.params.bq",
                               "ActM1.params.a",
                               "LinM2.params.S1", "LinM2.params.S2", "LinM2.params.bp", "LinM2.params.bq",
                               "ActM2.params.a",
                               "LinMout.params.S1", "LinMout.params.S2", "LinMout.params.bp", "LinMout.params.bq"]
        .map { "modus." + $0 }

    /// A VPNet whose parameters are all drawn from N(0, std²), large enough that every term matters.
    private func makeNet(dimension: Int, seed: UInt64, std: Float = 0.7) throws -> (ParameterStore, VPNet) {
        let store = ParameterStore(seed: seed)
        let net = try VPNet(store: store, name: "vpnet", dimension: dimension)
        var rng = RNG(seed: seed &+ 1)
        for i in 0..<store.parameterCount { store.values[i] = Float(rng.normal()) * std }
        return (store, net)
    }

    func testParameterNamesShapesAndCount() throws {
        for (d, total) in [(2, 14), (4, 40), (8, 128)] {
            let store = ParameterStore(seed: 1)
            _ = try VPNet(store: store, name: "vpnet", dimension: d)
            XCTAssertEqual(store.parameterCount, total, "d = \(d)")
            XCTAssertEqual(store.parameters.map(\.name), Self.keys.map { "vpnet." + $0 })
            let m = d / 2
            for e in store.parameters {
                XCTAssertEqual(e.shape, e.name.hasSuffix(".S1") || e.name.hasSuffix(".S2") ? [m, m] : [m], e.name)
            }
        }
    }

    func testInitialization() throws {
        let store = ParameterStore(seed: 5)
        _ = try VPNet(store: store, name: "vpnet", dimension: 8)
        var squares = 0.0, n = 0
        for e in store.parameters {
            let v = Array(UnsafeBufferPointer(start: store.values + e.offset, count: e.count))
            if e.name.hasSuffix(".bp") || e.name.hasSuffix(".bq") {
                XCTAssertTrue(v.allSatisfy { $0 == 0 }, e.name)
            } else {
                XCTAssertTrue(v.allSatisfy { abs($0) < 0.06 }, e.name)
                squares += v.reduce(0) { $0 + Double($1 * $1) }; n += v.count
            }
        }
        XCTAssertEqual((squares / Double(n)).squareRoot(), 0.01, accuracy: 0.003)   // N(0, 0.01²)
        let again = ParameterStore(seed: 5)
        _ = try VPNet(store: again, name: "vpnet", dimension: 8)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: again.values, count: again.parameterCount)),
                       Array(UnsafeBufferPointer(start: store.values, count: store.parameterCount)))
    }

    func testOddDimensionThrowsClearError() {
        for d in [3, 1, 0] {
            XCTAssertThrowsError(try VPNet(store: ParameterStore(seed: 1), name: "vpnet", dimension: d)) { error in
                XCTAssertEqual(error as? VPNetError, .oddDimension(d))
                XCTAssertTrue(String(describing: error).contains("\(d)"))
                XCTAssertTrue(String(describing: error).contains("even"))
            }
        }
    }

    /// Output, dz and every parameter gradient of ⟨dy, Φ(z)⟩ against the torch LA-VPNet
    /// (tools/make_regularizer_fixtures.py), parameters loaded by state_dict key.
    func testMatchesTorchFixture() throws {
        let file = try RegFixtureLoader.load("vpnet_fixtures.json", as: RegFixtureLoader.VPNetFile.self)
        XCTAssertEqual(file.cases.map(\.dimension), [2, 8])
        for c in file.cases {
            XCTAssertEqual(c.stateDictKeys, Self.keys)
            let store = ParameterStore(seed: 0)
            let net = try VPNet(store: store, name: "vpnet", dimension: c.dimension)
            for key in c.stateDictKeys {
                let entry = try XCTUnwrap(store.parameter(named: "vpnet." + key), key)
                let t = try XCTUnwrap(c.parameters[key], key)
                XCTAssertEqual(entry.shape, t.shape, key)
                for i in 0..<entry.count { store.values[entry.offset + i] = t.value[i] }
            }
            store.zeroGradients()
            let z = Tensor(shape: [c.batch, c.dimension], values: c.z)
            let (y, cache) = net.forward(z)
            assertClose(y.array, c.y, tolerance: 1e-5, "y d=\(c.dimension)")
            let dz = net.backward(Tensor(shape: [c.batch, c.dimension], values: c.dy), cache: cache)
            assertClose(dz.array, c.dz, tolerance: 1e-5, "dz d=\(c.dimension)")
            for key in c.stateDictKeys {
                let entry = store.parameter(named: "vpnet." + key)!
                let g = Array(UnsafeBufferPointer(start: store.gradients + entry.offset, count: entry.count))
                assertClose(g, c.parameters[key]!.gradient, tolerance: 1e-5, "grad \(key) d=\(c.dimension)")
            }
        }
    }

    func testGradientsMatchFiniteDifferences() throws {
        for d in [2, 4, 8] {
            let (store, net) = try makeNet(dimension: d, seed: UInt64(20 + d))
            let z = GradientCheck.random([7, d], seed: UInt64(40 + d), lo: -2, hi: 2)
            let r = GradientCheck.random([7, d], seed: UInt64(60 + d))
            store.zeroGradients()
            let (_, cache) = net.forward(z)
            let dz = net.backward(r, cache: cache)
            let loss = { GradientCheck.dot(r, net.forward(z).0) }
            GradientCheck.compare(values: z.data, count: z.count, analytic: dz.array, step: 1e-2, rtol: 1e-2,
                                  atol: 1e-3, label: "dz d=\(d)", loss: loss)
            for e in store.parameters {
                let analytic = Array(UnsafeBufferPointer(start: store.gradients + e.offset, count: e.count))
                GradientCheck.compare(values: store.values + e.offset, count: e.count, analytic: analytic,
                                      step: 1e-2, rtol: 1e-2, atol: 1e-3, label: "\(e.name) d=\(d)", loss: loss)
            }
        }
    }

    /// Every step is a shear, so det ∂Φ/∂z = 1 exactly: checked on the Jacobian assembled from
    /// backward (rows = vector–Jacobian products, tight) and from central differences of forward.
    func testUnitJacobianDeterminant() throws {
        for d in [2, 4] {
            let (store, net) = try makeNet(dimension: d, seed: UInt64(80 + d), std: 1.0)
            defer { withExtendedLifetime(store) {} }   // the net holds its store unowned
            let points = 3
            let z = GradientCheck.random([points, d], seed: UInt64(90 + d), lo: -2, hi: 2)
            let (_, cache) = net.forward(z)
            for k in 0..<points {
                var analytic = [Double](repeating: 0, count: d * d)
                for row in 0..<d {
                    let e = Tensor(zeros: [points, d]); e[k * d + row] = 1
                    let g = net.backward(e, cache: cache)
                    for col in 0..<d { analytic[row * d + col] = Double(g[k * d + col]) }
                }
                var numeric = [Double](repeating: 0, count: d * d)
                let h: Float = 1e-2
                for col in 0..<d {
                    let plus = z.copy(), minus = z.copy()
                    plus[k * d + col] += h; minus[k * d + col] -= h
                    let yp = net.forward(plus).0, ym = net.forward(minus).0
                    for row in 0..<d {
                        numeric[row * d + col] = Double(yp[k * d + row] - ym[k * d + row]) / Double(2 * h)
                    }
                }
                XCTAssertGreaterThan(zip(analytic, (0..<d * d).map { $0 % (d + 1) == 0 ? 1.0 : 0.0 })
                    .map { abs($0 - $1) }.max()!, 0.05, "Jacobian should be far from identity to mean anything")
                XCTAssertEqual(determinant(analytic, d), 1, accuracy: 1e-4, "backward Jacobian d=\(d) point \(k)")
                XCTAssertEqual(determinant(numeric, d), 1, accuracy: 2e-3, "finite-difference Jacobian d=\(d) point \(k)")
            }
        }
    }

    // MARK: - helpers

    private func assertClose(_ a: [Float], _ b: [Double], tolerance: Double, _ label: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, label, file: file, line: line)
        for (x, y) in zip(a, b) where abs(Double(x) - y) > tolerance * max(1, abs(y)) {
            XCTFail("\(label): \(x) vs \(y)", file: file, line: line)
            return
        }
    }

    /// Determinant by Gaussian elimination with partial pivoting.
    private func determinant(_ matrix: [Double], _ n: Int) -> Double {
        var a = matrix, det = 1.0
        for c in 0..<n {
            let pivot = (c..<n).max { abs(a[$0 * n + c]) < abs(a[$1 * n + c]) }!
            if a[pivot * n + c] == 0 { return 0 }
            if pivot != c {
                for j in 0..<n { a.swapAt(c * n + j, pivot * n + j) }
                det = -det
            }
            det *= a[c * n + c]
            for r in (c + 1)..<n {
                let f = a[r * n + c] / a[c * n + c]
                for j in c..<n { a[r * n + j] -= f * a[c * n + j] }
            }
        }
        return det
    }
}
