import XCTest
@testable import Core

final class CheckpointTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A small model shaped like a conv + BatchNorm block, named as in a PyTorch state_dict.
    private func makeStore(seed: UInt64, kernel: Int = 2, extra: Bool = false) -> ParameterStore {
        let s = ParameterStore(seed: seed)
        s.addParameter("encoder.0.weight", shape: [4, 3, kernel, kernel], initializer: .uniform(bound: 0.3))
        s.addParameter("encoder.0.bias", shape: [4], initializer: .uniform(bound: 0.3))
        s.addParameter("encoder.1.weight", shape: [4], initializer: .constant(1))
        s.addParameter("encoder.1.bias", shape: [4], initializer: .constant(0))
        if extra { s.addParameter("head.weight", shape: [2, 4], initializer: .normal(std: 0.1)) }
        s.addBuffer("encoder.1.running_mean", shape: [4], value: 0)
        s.addBuffer("encoder.1.running_var", shape: [4], value: 1)
        s.addBuffer("encoder.1.num_batches_tracked", shape: [], value: 0, stored: .i64)
        return s
    }

    /// Takes `steps` Adam steps with seeded pseudo-gradients and buffer updates.
    private func train(_ s: ParameterStore, _ adam: Adam, steps: Int, seed: UInt64) {
        var rng = RNG(seed: seed)
        for _ in 0..<steps {
            s.zeroGradients()
            for i in 0..<s.parameterCount { s.gradients[i] = rng.uniformFloat() - 0.5 }
            adam.update(s, learningRate: 1e-2)
            for i in 0..<8 { s.bufferValues[i] = 0.9 * s.bufferValues[i] + 0.1 * rng.uniformFloat() }
            s.bufferValues[8] += 1
        }
    }

    private func bits(_ p: UnsafePointer<Float>, _ n: Int) -> [UInt32] { (0..<n).map { p[$0].bitPattern } }

    private func assertSameState(_ a: ParameterStore, _ b: ParameterStore, _ oa: Adam?, _ ob: Adam?,
                                 file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(bits(a.values, a.parameterCount), bits(b.values, b.parameterCount), "parameters", file: file, line: line)
        XCTAssertEqual(bits(a.bufferValues, a.bufferCount), bits(b.bufferValues, b.bufferCount), "buffers", file: file, line: line)
        if let oa, let ob {
            XCTAssertEqual(bits(oa.firstMoment, oa.parameterCount), bits(ob.firstMoment, ob.parameterCount), "m", file: file, line: line)
            XCTAssertEqual(bits(oa.secondMoment, oa.parameterCount), bits(ob.secondMoment, ob.parameterCount), "v", file: file, line: line)
            XCTAssertEqual(oa.step, ob.step, "step", file: file, line: line)
        }
    }

    private func savedBytes(_ path: String) throws -> [UInt8] {
        let r = try FileReader(path: path)
        return try r.read(count: r.size, at: 0)
    }

    private func assertLoadFails(_ path: String, into store: ParameterStore, optimizer: Adam? = nil, strict: Bool = true,
                                 tensor: String?, _ phrase: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Checkpoint.load(from: path, into: store, optimizer: optimizer, strict: strict),
                             file: file, line: line) { error in
            guard let e = error as? FileError else { return XCTFail("not a FileError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.path, path, file: file, line: line)
            if let tensor { XCTAssertEqual(e.item, tensor, "\(e)", file: file, line: line) }
            XCTAssertTrue("\(e)".contains(phrase), "expected '\(phrase)' in: \(e)", file: file, line: line)
        }
    }

    // MARK: Round trip

    func testBitExactRoundTripAndExactResume() throws {
        let a = makeStore(seed: 1), adamA = Adam(store: a, weightDecay: 1e-4)
        train(a, adamA, steps: 5, seed: 10)
        var rngState = RNG(seed: 77)
        _ = rngState.next()
        let meta = ["config": #"{"latent": 8, "name": "single \"pendulum\""}"#,
                    "sampler.position": "epoch=3 index=1234",
                    "rng": rngState.stateWords.map(String.init).joined(separator: " ")]
        let path = directory + "/model.safetensors"
        try Checkpoint.save(to: path, store: a, optimizer: adamA, metadata: meta)

        let b = makeStore(seed: 2), adamB = Adam(store: b, weightDecay: 1e-4)
        let loaded = try Checkpoint.load(from: path, into: b, optimizer: adamB)
        assertSameState(a, b, adamA, adamB)
        XCTAssertEqual(b.bufferValues[8], 5, "num_batches_tracked")
        for (k, v) in meta { XCTAssertEqual(loaded[k], v, k) }
        XCTAssertEqual(loaded["format"], Checkpoint.formatName)
        XCTAssertEqual(loaded["optimizer"], "adam")
        XCTAssertEqual(RNG(state: loaded["rng"]!.split(separator: " ").map { UInt64($0)! }), rngState)

        // Resuming gives exactly the run that was never interrupted.
        train(a, adamA, steps: 3, seed: 11)
        train(b, adamB, steps: 3, seed: 11)
        assertSameState(a, b, adamA, adamB)
    }

    func testFileLayout() throws {
        let a = makeStore(seed: 1), adam = Adam(store: a)
        train(a, adam, steps: 2, seed: 3)
        let path = directory + "/layout.safetensors"
        try Checkpoint.save(to: path, store: a, optimizer: adam)
        let f = try SafeTensorsFile.read(path)
        let nbt = try XCTUnwrap(f.entry(named: "encoder.1.num_batches_tracked"))
        XCTAssertEqual(nbt.dtype, .i64)
        XCTAssertEqual(nbt.shape, [])
        XCTAssertEqual(try f.int64s("encoder.1.num_batches_tracked"), [2])
        XCTAssertEqual(try f.int64s("optimizer.step"), [2])
        XCTAssertEqual(f.entry(named: "optimizer.m.encoder.0.weight")?.shape, [4, 3, 2, 2])
        XCTAssertEqual(f.entry(named: "optimizer.v.encoder.1.bias")?.dtype, .f32)
        XCTAssertEqual(f.entries.count, 4 + 3 + 2 * 4 + 1)
        // Without an optimizer only the model is written.
        try Checkpoint.save(to: path, store: a)
        XCTAssertEqual(try SafeTensorsFile.read(path).entries.count, 7)
        // A model-only file loads into a model; asking for optimizer state from it is an error.
        let b = makeStore(seed: 9)
        try Checkpoint.load(from: path, into: b)
        assertSameState(a, b, nil, nil)
        assertLoadFails(path, into: b, optimizer: Adam(store: b), tensor: "optimizer.m.encoder.0.weight", "missing optimizer state")
    }

    /// The format is pinned by a committed file that tools/check_safetensors_torch.py loads into
    /// PyTorch: the writer must keep producing exactly these bytes. Regenerate (after a deliberate
    /// format change) with CPAE_REGENERATE_FIXTURES=1 and re-run the Python check.
    func testGoldenCheckpointBytes() throws {
        let a = makeStore(seed: 42), adam = Adam(store: a)
        train(a, adam, steps: 2, seed: 7)
        let bytes = try Checkpoint.makeWriter(store: a, optimizer: adam, metadata: ["config": #"{"d":8}"#, "epoch": "2"]).fileBytes()
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/swift_checkpoint.safetensors").path
        if ProcessInfo.processInfo.environment["CPAE_REGENERATE_FIXTURES"] == "1" {
            try AtomicFile.write(bytes, to: golden)
        }
        XCTAssertEqual(bytes, try savedBytes(golden), "checkpoint bytes changed; see the comment above")
        let b = makeStore(seed: 0), adamB = Adam(store: b)
        XCTAssertEqual(try Checkpoint.load(from: golden, into: b, optimizer: adamB)["epoch"], "2")
        assertSameState(a, b, adam, adamB)
    }

    /// Save and load at the full CpAE's size (1.3 M parameters + Adam state ≈ 15.7 MB); timings
    /// are reported, not asserted (shared machine), the round trip is asserted.
    func testModelSizedSaveAndLoadTimes() throws {
        let s = ParameterStore(seed: 1)
        s.addParameter("w", shape: [1_304_818], initializer: .uniform(bound: 0.1))
        s.addBuffer("bn.num_batches_tracked", shape: [], value: 123, stored: .i64)
        let adam = Adam(store: s)
        for i in 0..<s.parameterCount { s.gradients[i] = Float(i % 7) - 3 }
        adam.update(s, learningRate: 1e-3)
        let path = directory + "/big.safetensors"
        let t0 = DispatchTime.now().uptimeNanoseconds
        try Checkpoint.save(to: path, store: s, optimizer: adam)
        let t1 = DispatchTime.now().uptimeNanoseconds
        let t = ParameterStore(seed: 2)
        t.addParameter("w", shape: [1_304_818], initializer: .constant(0))
        t.addBuffer("bn.num_batches_tracked", shape: [], value: 0, stored: .i64)
        let adamT = Adam(store: t)
        try Checkpoint.load(from: path, into: t, optimizer: adamT)
        let t2 = DispatchTime.now().uptimeNanoseconds
        assertSameState(s, t, adam, adamT)
        print(String(format: "checkpoint of %.1f MB: save %.1f ms (incl. fsync), load %.1f ms",
                     Double(try FileReader(path: path).size) / 1e6, Double(t1 - t0) / 1e6, Double(t2 - t1) / 1e6))
    }

    // MARK: Mismatches

    func testWrongShapesMissingUnexpectedAndWrongDtype() throws {
        let a = makeStore(seed: 1)
        let path = directory + "/a.safetensors"
        try Checkpoint.save(to: path, store: a)

        assertLoadFails(path, into: makeStore(seed: 1, kernel: 3), tensor: "encoder.0.weight", "has shape [4, 3, 2, 2], the model expects [4, 3, 3, 3]")
        assertLoadFails(path, into: makeStore(seed: 1, extra: true), tensor: "head.weight", "missing parameter")

        let bigger = makeStore(seed: 1, extra: true)
        let biggerPath = directory + "/bigger.safetensors"
        try Checkpoint.save(to: biggerPath, store: bigger)
        assertLoadFails(biggerPath, into: makeStore(seed: 5), tensor: "head.weight", "is not part of this model")
        let relaxed = makeStore(seed: 5)
        XCTAssertNoThrow(try Checkpoint.load(from: biggerPath, into: relaxed, strict: false))
        XCTAssertEqual(bits(relaxed.values, relaxed.parameterCount), bits(bigger.values, relaxed.parameterCount))

        // num_batches_tracked written as F32 by some other tool.
        var w = try Checkpoint.makeWriter(store: a, optimizer: nil, metadata: [:])
        var w2 = SafeTensorsWriter(metadata: w.metadata)
        let f = try SafeTensorsFile(bytes: w.fileBytes())
        for e in f.entries {
            if e.name == "encoder.1.num_batches_tracked" { w2.add(e.name, shape: [], floats: [3]) }
            else { try f.bytes(of: e.name).withUnsafeBytes { w2.add(e.name, dtype: e.dtype, shape: e.shape, bytes: $0) } }
        }
        w = w2
        let dtypePath = directory + "/dtype.safetensors"
        try w.write(to: dtypePath)
        assertLoadFails(dtypePath, into: makeStore(seed: 1), tensor: "encoder.1.num_batches_tracked", "has dtype F32, expected I64")
    }

    // MARK: Corruption

    func testCorruptedFilesGiveClearErrorsAndLeaveTheModelUntouched() throws {
        let a = makeStore(seed: 1), adam = Adam(store: a)
        train(a, adam, steps: 3, seed: 4)
        let path = directory + "/good.safetensors"
        try Checkpoint.save(to: path, store: a, optimizer: adam)
        let good = try savedBytes(path)
        let headerLength = Int(good[0]) | Int(good[1]) << 8 | Int(good[2]) << 16

        let target = makeStore(seed: 8), targetAdam = Adam(store: target)
        let before = makeStore(seed: 8)
        let bad = directory + "/bad.safetensors"
        func check(_ bytes: [UInt8], _ phrases: String..., label: String) throws {
            try AtomicFile.write(bytes, to: bad)
            XCTAssertThrowsError(try Checkpoint.load(from: bad, into: target, optimizer: targetAdam), label) { error in
                let text = "\(error)"
                XCTAssertTrue(error is FileError && text.hasPrefix(bad) && phrases.contains { text.contains($0) }, "\(label): \(text)")
            }
            assertSameState(target, before, nil, nil)   // nothing was copied
            XCTAssertEqual(targetAdam.step, 0)
        }
        // Truncated at several points: inside the length, inside the header, at the end of the
        // header, inside the data, one byte short.
        try check([], "file is empty", label: "empty")
        for cut in [4, 8, 9, 8 + headerLength / 2, 8 + headerLength - 1] {
            try check(Array(good.prefix(cut)), cut < 8 ? "too short" : "only", label: "cut at \(cut)")
        }
        for cut in [8 + headerLength, 8 + headerLength + 100, good.count - 1] {
            try check(Array(good.prefix(cut)), "truncated", label: "cut at \(cut)")
        }
        // Garbage.
        var rng = RNG(seed: 1)
        try check((0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, "header length field", label: "garbage")
        try check(Array("hello, this is not a checkpoint\n".utf8), "header length field", label: "text file")
        // Flipped bits in the header length: a length past the file or the limit is caught before
        // reading; a smaller or slightly larger one cuts or overruns the JSON.
        for i in 0..<8 {
            for mask: UInt8 in [0x01, 0x10, 0x80] {
                var b = good
                b[i] ^= mask
                try check(b, "header length field", "not valid JSON", label: "length byte \(i) ^ \(mask)")
            }
        }
    }

    /// Every single-bit flip in the JSON header must either be rejected with a FileError or leave
    /// every tensor intact (a flip inside a metadata string or padding cannot be detected, and
    /// must not matter).
    func testNoHeaderBitFlipSilentlyChangesTensors() throws {
        let a = makeStore(seed: 1), adam = Adam(store: a)
        train(a, adam, steps: 2, seed: 4)
        let good = try Checkpoint.makeWriter(store: a, optimizer: adam, metadata: ["note": "abc"]).fileBytes()
        let headerLength = Int(good[0]) | Int(good[1]) << 8
        var rejected = 0, accepted = 0
        let target = makeStore(seed: 2), targetAdam = Adam(store: target)
        for i in 8..<(8 + headerLength) {
            for mask: UInt8 in [0x01, 0x04, 0x80] {
                var b = good
                b[i] ^= mask
                do {
                    let f = try SafeTensorsFile(bytes: b, path: "flip")
                    try Checkpoint.load(f, into: target, optimizer: targetAdam)
                    assertSameState(a, target, adam, targetAdam)
                    accepted += 1
                } catch let e as FileError {
                    XCTAssertEqual(e.path, "flip")
                    rejected += 1
                }
            }
        }
        print("header bit flips: \(rejected) rejected, \(accepted) harmless (metadata text / whitespace)")
        XCTAssertGreaterThan(rejected, 10 * accepted)
    }

    func testNonexistentAndDirectoryPaths() {
        let store = makeStore(seed: 1)
        assertLoadFails(directory + "/missing.safetensors", into: store, tensor: nil, "No such file or directory")
        assertLoadFails(directory, into: store, tensor: nil, "directory")
    }

    // MARK: Atomic writes

    func testKilledWriteLeavesThePreviousCheckpointReadable() throws {
        let a = makeStore(seed: 1), adam = Adam(store: a)
        let path = directory + "/ckpt.safetensors"
        try Checkpoint.save(to: path, store: a, optimizer: adam, metadata: ["epoch": "1"])
        let first = try savedBytes(path)

        // A writer killed mid-write leaves a partial temporary file and never renames it.
        train(a, adam, steps: 2, seed: 5)
        let second = try Checkpoint.makeWriter(store: a, optimizer: adam, metadata: ["epoch": "2"]).fileBytes()
        let stale = AtomicFile.temporaryPath(for: path)
        let otherPid = path + ".tmp.999999"
        XCTAssertTrue(FileManager.default.createFile(atPath: stale, contents: Data(second.prefix(second.count / 2))))
        XCTAssertTrue(FileManager.default.createFile(atPath: otherPid, contents: Data(second.prefix(100))))

        let b = makeStore(seed: 3), adamB = Adam(store: b)
        XCTAssertEqual(try Checkpoint.load(from: path, into: b, optimizer: adamB)["epoch"], "1")
        XCTAssertEqual(try savedBytes(path), first)
        XCTAssertEqual(adamB.step, 0)

        // The next save replaces the stale temporary file of this pid and the target.
        try Checkpoint.save(to: path, store: a, optimizer: adam, metadata: ["epoch": "2"])
        XCTAssertEqual(try savedBytes(path), second)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
        XCTAssertEqual(try Checkpoint.load(from: path, into: b, optimizer: adamB)["epoch"], "2")
        assertSameState(a, b, adam, adamB)
    }

    func testFailedAtomicWriteKeepsTargetAndRemovesTemporary() throws {
        let path = directory + "/f.bin"
        try AtomicFile.write([1, 2, 3], to: path)
        struct Boom: Error {}
        XCTAssertThrowsError(try AtomicFile.write(to: path) { w in
            try w.write([9, 9, 9, 9])
            throw Boom()
        })
        XCTAssertEqual(try savedBytes(path), [1, 2, 3])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["f.bin"])
        // Relative paths work too (directory fsync of ".").
        let cwd = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(directory))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(cwd) }
        try AtomicFile.write([4], to: "rel.bin")
        XCTAssertEqual(try savedBytes(directory + "/rel.bin"), [4])
    }
}
