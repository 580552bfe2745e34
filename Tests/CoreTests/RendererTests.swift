import XCTest
import Foundation
@testable import Core

final class RendererTests: XCTestCase {
    private func pixel(_ frame: [UInt8], size: Int, row: Int, column: Int) -> RGBColour {
        let i = (row * size + column) * 3
        return RGBColour(frame[i], frame[i + 1], frame[i + 2])
    }

    func testSameSeedGivesIdenticalBytes() throws {
        for system in PhysicalSystem.allCases {
            let a = try system.generator(trajectories: 3, frames: 8, size: 32, channels: 3, seed: 9)
            let b = try system.generator(trajectories: 3, frames: 8, size: 32, channels: 3, seed: 9)
            for id in 0..<3 {
                XCTAssertEqual(try a.trajectory(id).frames, try b.trajectory(id).frames, "\(system) trajectory \(id)")
            }
            // Frames actually change over time (the system moves).
            let t = try a.trajectory(0)
            XCTAssertNotEqual(Array(t.frames[0..<t.bytesPerFrame]), Array(t.frames[(7 * t.bytesPerFrame)...]), "\(system)")
        }
    }

    func testEdgePixelsTakeCoverageWeightedValues() {
        // A box whose right edge is at x = 0.35 on a 10-px canvas: column 3 is half covered, which
        // an 8×8 grid samples exactly (4 of 8 columns inside).
        let box = OrientedBox(centre: SIMD2(0.175, 0.5), axis: SIMD2(0, 1), halfLength: 0.5, halfWidth: 0.175)
        let scene = Scene(background: RGBColour(200, 100, 0), shapes: [PaintedShape(.box(box), RGBColour(0, 200, 100))])
        let frame = SceneRasterizer.render(scene, width: 10, height: 10, channels: 3)
        XCTAssertEqual(pixel(frame, size: 10, row: 5, column: 2), RGBColour(0, 200, 100))
        XCTAssertEqual(pixel(frame, size: 10, row: 5, column: 3), RGBColour(100, 150, 50))
        XCTAssertEqual(pixel(frame, size: 10, row: 5, column: 4), RGBColour(200, 100, 0))

        // A rotated rod in a real frame has intermediate values along its edges.
        var p = DampedPendulum(); p.damping = 0
        var y = SimulationState(repeating: 0); y[0] = 0.6
        let rod = p.render(y, size: 64, channels: 3)
        let rodBlue = p.sprite.rodColour, background = RGBColour.datasetBackground
        var intermediate = 0
        for i in 0..<(64 * 64) {
            let c = RGBColour(rod[3 * i], rod[3 * i + 1], rod[3 * i + 2])
            if c != rodBlue && c != background && c != .black { intermediate += 1 }
        }
        XCTAssertGreaterThan(intermediate, 40, "anti-aliased edges")
    }

    func testDiscCoverageMatchesItsArea() {
        // White disc on black: the mean intensity is the disc's area fraction, to within the
        // supersampling error (edge pixels are estimated from 64 samples).
        let disc = Disc(centre: SIMD2(0.51, 0.47), radius: 0.213)
        let scene = Scene(background: .black, shapes: [PaintedShape(.disc(disc), RGBColour(255, 255, 255))])
        let frame = SceneRasterizer.render(scene, width: 40, height: 40, channels: 1)
        let covered = frame.reduce(0.0) { $0 + Double($1) / 255 } / 1600
        XCTAssertEqual(covered, Double.pi * 0.213 * 0.213, accuracy: 0.002)
    }

    func testRenderAtFrameTimeEqualsTheDatasetFrame() throws {
        for system in PhysicalSystem.allCases {
            let gen = try system.generator(trajectories: 2, frames: 12, size: 24, channels: 3, seed: 4)
            let s = gen.simulator
            let sequence = try gen.trajectory(1)
            let initial = SimulationState(packing: Array(sequence.states[0..<s.stateDimension]), dimension: s.stateDimension)
            for k in [0, 1, 5, 11] {
                let frame = s.render(at: Double(k) * s.frameInterval, from: initial, size: 24, channels: 3)
                XCTAssertEqual(frame, Array(sequence.frames[(k * sequence.bytesPerFrame)..<((k + 1) * sequence.bytesPerFrame)]),
                               "\(system) frame \(k)")
            }
            // Between frames: a different picture, and the state lies between its neighbours
            // (continuity in time, checked on the first component over a short interval).
            let mid = s.state(at: 5.5 * s.frameInterval, from: initial)
            let before = s.state(at: 5 * s.frameInterval, from: initial), after = s.state(at: 6 * s.frameInterval, from: initial)
            XCTAssertLessThan(abs(mid[0] - (before[0] + after[0]) / 2), abs(after[0] - before[0]) / 2 + 1e-3, "\(system)")
            let midFrame = s.render(mid, size: 24, channels: 3)
            XCTAssertNotEqual(midFrame, Array(sequence.frames[(5 * sequence.bytesPerFrame)..<(6 * sequence.bytesPerFrame)]), "\(system)")
        }
    }

    func testPendulumGeometry() {
        let p = DampedPendulum()
        let size = 128
        var y = SimulationState(repeating: 0)
        // θ = 0: the rod hangs down from the centre; the blue core is about 52 px long.
        var frame = p.render(y, size: size, channels: 3)
        XCTAssertEqual(pixel(frame, size: size, row: 64 + 30, column: 64), p.sprite.rodColour)
        XCTAssertEqual(pixel(frame, size: size, row: 64 - 10, column: 64), .datasetBackground)
        XCTAssertEqual(pixel(frame, size: size, row: 64 + 56, column: 64), .datasetBackground)
        // θ = π/2: rotated counter-clockwise on screen, so the rod points to the right.
        y[0] = .pi / 2
        frame = p.render(y, size: size, channels: 3)
        XCTAssertEqual(pixel(frame, size: size, row: 64, column: 64 + 30), p.sprite.rodColour)
        XCTAssertEqual(pixel(frame, size: size, row: 64 + 30, column: 64), .datasetBackground)
        // The dark outline (the sprite's unmasked margin) shows just outside the blue core.
        let across = (50..<80).map { Int(pixel(frame, size: size, row: $0, column: 64 + 30).b) }
        XCTAssertLessThan(across.min()!, 150, "dark outline pixels along the rod's side")
    }

    func testElasticPendulumGeometry() {
        let e = ElasticDoublePendulum()
        var y = SimulationState(repeating: 0)     // both rods hanging down, spring at rest
        let frame = e.render(y, size: 128, channels: 3)
        // Rod 1 covers the pivot region and occludes rod 2 on the overlap; rod 2 shows below.
        XCTAssertEqual(pixel(frame, size: 128, row: 64 + 10, column: 64), e.drawing.rod1Colour)
        let rod2Row = 64 + Int(((300 - 35 + 125) / 1600.0 * 128).rounded())
        XCTAssertEqual(pixel(frame, size: 128, row: rod2Row, column: 64), e.drawing.rod2Colour)
        XCTAssertEqual(pixel(frame, size: 128, row: 64 - 10, column: 64), .datasetBackground)
        // Extension lengthens rod 1: its end pixel changes colour.
        y[2] = 0.05
        let stretched = e.render(y, size: 128, channels: 3)
        let endRow = 64 + Int((300.0 / 1600 * 128).rounded()) + 2
        XCTAssertEqual(pixel(stretched, size: 128, row: endRow, column: 64), e.drawing.rod1Colour)
        XCTAssertNotEqual(pixel(frame, size: 128, row: endRow, column: 64), e.drawing.rod1Colour)
    }

    func testGreyIsTheLumaOfRGB() throws {
        let gen = try PhysicalSystem.elasticPendulum.generator(trajectories: 1, frames: 3, size: 32, channels: 3, seed: 2)
        let grey = try PhysicalSystem.elasticPendulum.generator(trajectories: 1, frames: 3, size: 32, channels: 1, seed: 2)
        let rgb = try gen.trajectory(0).frames, g = try grey.trajectory(0).frames
        for i in 0..<g.count {
            let luma = Int(PixelImage.luma(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]))
            XCTAssertLessThanOrEqual(abs(luma - Int(g[i])), 1, "pixel \(i)")
        }
    }

    func testDirectRenderMatchesALargeRenderShrunkByArea() throws {
        // Two routes to an anti-aliased 64-px frame over the same sample grid (16×16 per pixel at
        // 64 px = 4×4 per pixel at 256 px): supersampling directly, or a 256-px render averaged
        // down by the area resizer. They differ only by the extra rounding to uint8 in between.
        let e = ElasticDoublePendulum()
        var y = SimulationState(repeating: 0); y[0] = 0.7; y[1] = -1.9; y[2] = 0.02
        let direct = e.render(y, size: 64, channels: 3, samplesPerAxis: 16)
        let large = PixelImage(width: 256, height: 256, channels: 3, pixels: e.render(y, size: 256, channels: 3, samplesPerAxis: 4))
        let shrunk = ImageResizer.resize(large, width: 64, height: 64).pixels
        var total = 0, worst = 0
        for i in 0..<direct.count {
            let d = abs(Int(direct[i]) - Int(shrunk[i])); total += d; worst = max(worst, d)
        }
        XCTAssertLessThan(Double(total) / Double(direct.count), 0.01, "mean difference")
        XCTAssertLessThanOrEqual(worst, 1, "largest difference (one rounding step)")
    }

    func testRigidDoublePendulumGeometry() {
        let d = RigidDoublePendulum()
        var y = SimulationState(repeating: 0)
        y[0] = .pi / 2; y[1] = 0          // rod 1 points right, rod 2 hangs down from its end
        let size = 160, scale = Double(size) / d.drawing.canvas
        let frame = d.render(y, size: size, channels: 3)
        let pivot = d.drawing.pivot * scale
        let h1 = d.length1 * d.drawing.pixelsPerMetre * scale, h2 = d.length2 * d.drawing.pixelsPerMetre * scale
        func at(_ x: Double, _ yy: Double) -> RGBColour { pixel(frame, size: size, row: Int(yy), column: Int(x)) }
        XCTAssertEqual(at(pivot.x + h1 / 2, pivot.y), d.drawing.rod1Colour, "middle of rod 1")
        XCTAssertEqual(at(pivot.x + h1, pivot.y), d.drawing.rod1Colour, "rod 1 covers the joint")
        XCTAssertEqual(at(pivot.x + h1, pivot.y + h2 * 0.6), d.drawing.rod2Colour, "rod 2 below the joint")
        XCTAssertEqual(at(pivot.x + h1, pivot.y + h2 - 1), d.drawing.rod2Colour, "rod 2 reaches the tip")
        XCTAssertEqual(at(pivot.x + h1, pivot.y + h2 + 6), .datasetBackground, "nothing past the rounded end")
        XCTAssertEqual(at(pivot.x - 8, pivot.y), .datasetBackground, "nothing behind the pivot")
    }
}

