/// A training checkpoint as one safetensors file:
///
/// | tensor                      | dtype | content                                             |
/// |-----------------------------|-------|-----------------------------------------------------|
/// | `<parameter name>`          | F32   | every trainable tensor of the ParameterStore        |
/// | `<buffer name>`             | F32/I64 | every buffer, in its `Entry.stored` type (BatchNorm's `num_batches_tracked` is I64, as in PyTorch) |
/// | `optimizer.m.<parameter>`   | F32   | Adam's first moment for that parameter (optional)   |
/// | `optimizer.v.<parameter>`   | F32   | Adam's second moment for that parameter             |
/// | `optimizer.step`            | I64, shape [] | Adam's step count                           |
///
/// Names are the PyTorch state_dict names, so the model part loads into the reference with
/// `safetensors.torch.load_file` + `load_state_dict`; the moments are per parameter (not one
/// whole-buffer tensor) so they stay meaningful if parameters are ever reordered.
/// `__metadata__` holds the caller's free-form strings (config JSON, sampler position, RNG state
/// words…) plus `format` = `Checkpoint.formatName` and, with an optimizer, its hyperparameters
/// under `optimizer.*` keys (informational; loading does not enforce them).
public enum Checkpoint {
    public static let formatName = "cpae-mpi.checkpoint.v1"
    public static let stepTensor = "optimizer.step"
    public static func firstMomentName(_ parameter: String) -> String { "optimizer.m.\(parameter)" }
    public static func secondMomentName(_ parameter: String) -> String { "optimizer.v.\(parameter)" }

    /// Writes `store` (and `optimizer`, if given) atomically to `path`. Metadata keys `format` and
    /// `optimizer.*` are reserved and overwritten.
    public static func save(to path: String, store: ParameterStore, optimizer: Adam? = nil,
                            metadata: [String: String] = [:]) throws {
        try makeWriter(store: store, optimizer: optimizer, metadata: metadata, path: path).write(to: path)
    }

    /// The file's content without writing it (tests, and callers that send bytes elsewhere).
    public static func makeWriter(store: ParameterStore, optimizer: Adam?, metadata: [String: String],
                                  path: String = "<checkpoint>") throws -> SafeTensorsWriter {
        var meta = metadata
        meta["format"] = formatName
        var w = SafeTensorsWriter()
        for e in store.parameters {
            w.add(e.name, shape: e.shape, floats: store.values + e.offset)
        }
        for e in store.buffers {
            let p = store.bufferValues + e.offset
            switch e.stored {
            case .f32:
                w.add(e.name, shape: e.shape, floats: p)
            case .i64:
                let ints = try (0..<e.count).map { i -> Int64 in
                    guard let v = Int64(exactly: p[i]) else {
                        throw FileError(path: path, item: e.name, problem: "holds \(p[i]), not an integer, so it cannot be stored as I64",
                                        advice: "This is a bug in the code that updates the buffer; report it")
                    }
                    return v
                }
                w.add(e.name, shape: e.shape, int64s: ints)
            }
        }
        if let optimizer {
            precondition(optimizer.parameterCount == store.parameterCount,
                         "Adam has \(optimizer.parameterCount) parameters, the store \(store.parameterCount)")
            for e in store.parameters {
                w.add(firstMomentName(e.name), shape: e.shape, floats: optimizer.firstMoment + e.offset)
                w.add(secondMomentName(e.name), shape: e.shape, floats: optimizer.secondMoment + e.offset)
            }
            w.add(stepTensor, shape: [], int64s: [Int64(optimizer.step)])
            meta["optimizer"] = "adam"
            meta["optimizer.beta1"] = "\(optimizer.beta1)"
            meta["optimizer.beta2"] = "\(optimizer.beta2)"
            meta["optimizer.epsilon"] = "\(optimizer.epsilon)"
            meta["optimizer.weight_decay"] = "\(optimizer.weightDecay)"
        }
        w.metadata = meta
        return w
    }

    /// Reads `path` into `store` (and `optimizer`, if given) and returns the file's metadata.
    ///
    /// Everything is checked before anything is changed, so a failed load leaves the store and the
    /// optimizer as they were: every parameter and buffer must be present with the right shape and
    /// dtype; with an optimizer, every moment and the step must be present too; with `strict`, a
    /// tensor the model does not have is an error (optimizer tensors are never unexpected).
    @discardableResult
    public static func load(from path: String, into store: ParameterStore, optimizer: Adam? = nil,
                            strict: Bool = true) throws -> [String: String] {
        try load(try SafeTensorsFile.read(path), into: store, optimizer: optimizer, strict: strict)
    }

    @discardableResult
    public static func load(_ file: SafeTensorsFile, into store: ParameterStore, optimizer: Adam? = nil,
                            strict: Bool = true) throws -> [String: String] {
        let path = file.path
        func check(_ name: String, shape: [Int], dtype: SafeTensorsDType, why: String) throws -> SafeTensorsEntry {
            guard let e = file.entry(named: name) else {
                throw FileError(path: path, item: name, problem: "missing \(why)",
                                advice: "The checkpoint was written for a different model configuration, or is incomplete; use a matching checkpoint")
            }
            guard e.shape == shape else {
                throw FileError(path: path, item: name, problem: "has shape \(e.shape), the model expects \(shape)",
                                advice: "The checkpoint was written for a different model configuration (check latent dimension, width, image size)")
            }
            guard e.dtype == dtype else {
                throw FileError(path: path, item: name, problem: "has dtype \(e.dtype.rawValue), expected \(dtype.rawValue)",
                                advice: "The checkpoint was written by a different program or version; convert the tensor to \(dtype.rawValue)")
            }
            return e
        }

        // 1. Validate everything.
        for e in store.parameters { _ = try check(e.name, shape: e.shape, dtype: .f32, why: "parameter") }
        for e in store.buffers {
            _ = try check(e.name, shape: e.shape, dtype: e.stored == .i64 ? .i64 : .f32, why: "buffer")
        }
        if let optimizer {
            precondition(optimizer.parameterCount == store.parameterCount,
                         "Adam has \(optimizer.parameterCount) parameters, the store \(store.parameterCount)")
            let why = "optimizer state (load without an optimizer to start Adam afresh)"
            for e in store.parameters {
                _ = try check(firstMomentName(e.name), shape: e.shape, dtype: .f32, why: why)
                _ = try check(secondMomentName(e.name), shape: e.shape, dtype: .f32, why: why)
            }
            _ = try check(stepTensor, shape: [], dtype: .i64, why: why)
        }
        let step = optimizer == nil ? 0 : Int(try file.int64s(stepTensor)[0])
        if optimizer != nil, step < 0 {
            throw FileError(path: path, item: stepTensor, problem: "is negative (\(step))", advice: FileError.corrupt)
        }
        if strict {
            let known = Set(store.parameters.map(\.name) + store.buffers.map(\.name))
            for name in file.names where !known.contains(name) && !name.hasPrefix("optimizer.") {
                throw FileError(path: path, item: name, problem: "is not part of this model",
                                advice: "The checkpoint was written for a different model; load with strict: false to ignore extra tensors")
            }
        }

        // 2. Copy.
        for e in store.parameters { try file.copyFloats(e.name, to: store.values + e.offset, count: e.count) }
        for e in store.buffers {
            let p = store.bufferValues + e.offset
            switch e.stored {
            case .f32: try file.copyFloats(e.name, to: p, count: e.count)
            case .i64: for (i, v) in try file.int64s(e.name).enumerated() { p[i] = Float(v) }
            }
        }
        if let optimizer {
            for e in store.parameters {
                try file.copyFloats(firstMomentName(e.name), to: optimizer.firstMoment + e.offset, count: e.count)
                try file.copyFloats(secondMomentName(e.name), to: optimizer.secondMoment + e.offset, count: e.count)
            }
            optimizer.step = step
        }
        return file.metadata
    }
}

extension Checkpoint {
    /// A JSON record a checkpoint's metadata holds under `key` (training state, run configuration);
    /// one this build cannot read (missing, or from another version) is named with its field.
    public static func metadataRecord<T: Decodable>(_ type: T.Type, _ key: String, in meta: [String: String],
                                                    path: String, advice: String) throws -> T {
        guard let text = meta[key] else {
            throw FileError(path: path, problem: "no '\(key)' in the metadata", advice: advice)
        }
        do { return try JSONCoding.decode(type, from: Array(text.utf8), file: path, field: key) } catch let e as JSONDecodingError {
            throw FileError(path: path, problem: e.detail, advice: advice)
        }
    }
}
