import CZstd

/// One opened, structurally validated shard. `init` reads only the header and the seek table
/// (a few KB) and checks every size against the file size before allocating anything a header
/// field sized; `trajectory(at:)` decompresses one frame, which zstd checks against its content checksum.
public final class ShardReader {
    public let path: String
    public let header: ShardHeader
    public let fileSize: Int64
    /// The header's stored (and verified) CRC32C.
    public let headerCRC: UInt32
    let seekTable: SeekTable
    /// Byte offset of each trajectory's zstd frame.
    let offsets: [Int64]
    /// What every "this file is damaged" message tells the user to do (rebuild the dataset, or the latents).
    let advice: String

    public init(path: String, ifDamaged advice: String = regenerateAdvice) throws {
        self.path = path
        self.advice = advice
        let file = try FileReader(path: path, ifDamaged: advice)
        fileSize = Int64(file.size)
        guard fileSize >= Int64(ShardFormat.minimumFileBytes) else {
            throw DatasetError(.truncated, "\(path): \(fileSize) bytes, shorter than the smallest shard (\(ShardFormat.minimumFileBytes) bytes) — truncated or not a shard; \(advice)")
        }
        let lead = try file.read(count: 8, at: 0)
        let leadReader = ByteReader(lead)
        guard leadReader.u32(0) == ShardFormat.skippableHeaderMagic else {
            throw DatasetError(.notAShard, "\(path) is not a cpae shard (first 4 bytes \(hex32(leadReader.u32(0))), expected zstd skippable magic 0x184d2a50) — \(advice)")
        }
        let payloadSize = Int(leadReader.u32(4))
        let room = fileSize - 8 - Int64(ShardFormat.seekTableBytes(trajectories: 0))
        guard payloadSize >= ShardFormat.fixedHeaderBytes, Int64(payloadSize) <= room else {
            throw DatasetError(.truncated, "\(path): header frame claims \(payloadSize) bytes but the file (\(fileSize) bytes) has room for at most \(room) — truncated or header corrupted; \(advice)")
        }
        let fixed = try file.read(count: ShardFormat.fixedHeaderBytes, at: 8)
        let expectedPayload = try ShardHeader.validateFixed(fixed, file: path, advice: advice)
        guard expectedPayload == payloadSize else {
            throw DatasetError(.sizeMismatch, "\(path): header frame is \(payloadSize) bytes but its fields imply \(expectedPayload) — header corrupted; \(advice)")
        }
        let n = Int(ByteReader(fixed).u32(36))
        // The seek table's size follows from n; make sure it fits before reading the header body.
        let tableBytes = ShardFormat.seekTableBytes(trajectories: n)
        guard Int64(8 + payloadSize + tableBytes) <= fileSize else {
            throw DatasetError(.truncated, "\(path): header (\(payloadSize) bytes) plus seek table for \(n) trajectories (\(tableBytes) bytes) exceed the file size \(fileSize) — truncated; \(advice)")
        }
        let payload = try file.read(count: payloadSize, at: 8)
        header = try ShardHeader.decode(payload, file: path, advice: advice)
        headerCRC = ByteReader(payload).u32(12)

        let table = try file.read(count: tableBytes, at: file.size - tableBytes)
        let t = ByteReader(table)
        let footer = tableBytes - ShardFormat.seekFooterBytes
        guard t.u32(footer + 5) == ShardFormat.seekableFooterMagic else {
            throw DatasetError(.seekTableCorrupted, "\(path): last 4 bytes are \(hex32(t.u32(footer + 5))), expected the zstd seekable magic 0x8f92eab1 — the file is truncated or has bytes appended; \(advice)")
        }
        // Bits 1–0 are "unused" in the seekable format: a compliant reader ignores them.
        let descriptor = table[footer + 4]
        guard descriptor & 0xFC == 0 else {
            throw DatasetError(.seekTableCorrupted, "\(path): seek-table descriptor byte is \(hex32(UInt32(descriptor))): \(descriptor & 0x80 != 0 ? "checksum flag set (cpae shards never set it)" : "reserved bits set") — \(advice)")
        }
        guard Int(t.u32(footer)) == n + 1 else {
            throw DatasetError(.seekTableCorrupted, "\(path): seek table lists \(t.u32(footer)) frames but the header lists \(n) trajectories (+1 header frame) — the file is truncated, appended to or corrupted; \(advice)")
        }
        guard t.u32(0) == ShardFormat.skippableSeekTableMagic, Int(t.u32(4)) == tableBytes - 8 else {
            throw DatasetError(.seekTableCorrupted, "\(path): seek-table frame header is (\(hex32(t.u32(0))), \(t.u32(4))), expected (0x184d2a5e, \(tableBytes - 8)) — \(advice)")
        }
        guard Int(t.u32(8)) == 8 + payloadSize, t.u32(12) == 0 else {
            throw DatasetError(.seekTableCorrupted, "\(path): seek-table entry 0 is (\(t.u32(8)), \(t.u32(12))), expected the header frame (\(8 + payloadSize), 0) — \(advice)")
        }
        let raw = header.bytesPerTrajectory
        var compressed: [Int] = [], raws: [Int] = [], offsets: [Int64] = []
        var offset = Int64(8 + payloadSize)
        for i in 0..<n {
            let c = Int(t.u32(16 + 8 * i)), d = Int(t.u32(20 + 8 * i))
            guard d == raw else {
                throw DatasetError(.sizeMismatch, "\(path), trajectory \(header.trajectoryIDs[i]) (frame \(i)): seek table says \(d) raw bytes, the shape \(header.frameCount)×\(header.height)×\(header.width)×\(header.channels) needs \(raw) — \(advice)")
            }
            guard c >= 9 else {   // smallest zstd frame: 4 magic + 2 header + 3 block header
                throw DatasetError(.seekTableCorrupted, "\(path), trajectory \(header.trajectoryIDs[i]): compressed size \(c) is too small for a zstd frame — \(advice)")
            }
            compressed.append(c); raws.append(d); offsets.append(offset)
            offset += Int64(c)
        }
        guard offset + Int64(tableBytes) == fileSize else {
            throw DatasetError(.sizeMismatch, "\(path): header + \(n) frames + seek table add up to \(offset + Int64(tableBytes)) bytes but the file has \(fileSize) — truncated, appended to or corrupted; \(advice)")
        }
        seekTable = SeekTable(headerFrameBytes: 8 + payloadSize, compressedSizes: compressed, rawSizes: raws)
        self.offsets = offsets
    }

    public var trajectoryCount: Int { header.trajectoryCount }
    public var compressedBytes: [Int] { seekTable.compressedSizes }

    /// Decompresses trajectory `index` (position within this shard) into a FrameSequence.
    /// `context` may be shared by calls on one thread (reusing it saves ~100 KB of setup per call).
    public func trajectory(at index: Int, context: DecompressionContext? = nil) throws -> FrameSequence {
        let h = header
        guard h.payload == .frames else {
            throw DatasetError(.inconsistent, "\(path) is a \(h.payload.name) shard, not a frame shard — open its directory with the matching reader (LatentDataset for `encode` output)")
        }
        let frames = try rawTrajectory(at: index, context: context)
        let perTrajectory = h.frameCount * h.stateDimension
        let states = Array(h.states[(index * perTrajectory)..<((index + 1) * perTrajectory)])
        return FrameSequence(id: h.trajectoryIDs[index], frameCount: h.frameCount, height: h.height, width: h.width,
                             channels: h.channels, frames: frames, stateDimension: h.stateDimension, states: states)
    }

    /// The raw content of trajectory `index` (`header.bytesPerTrajectory` bytes, laid out as the
    /// header's payload kind says), read from its own zstd frame and checked by zstd's content checksum.
    func rawTrajectory(at index: Int, context: DecompressionContext? = nil) throws -> [UInt8] {
        precondition(index >= 0 && index < trajectoryCount, "trajectory index \(index) out of 0..<\(trajectoryCount)")
        let h = header
        let id = h.trajectoryIDs[index]
        let where_ = "\(path), trajectory \(id) (frame \(index) at byte offset \(offsets[index]))"
        let file = try FileReader(path: path, ifDamaged: advice)
        guard Int64(file.size) == fileSize else {
            throw DatasetError(.sizeMismatch, "\(path) changed size since it was opened (\(fileSize) → \(file.size) bytes) — do not modify a dataset while it is in use; \(advice)")
        }
        let src = try file.read(count: seekTable.compressedSizes[index], at: Int(offsets[index]))
        let raw = h.bytesPerTrajectory
        let ctx = context ?? DecompressionContext()
        return try src.withUnsafeBytes { s in
            var fh = ZSTD_frameHeader()
            let hr = ZSTD_getFrameHeader(&fh, s.baseAddress, s.count)
            guard hr == 0 else {
                let why = ZSTD_isError(hr) != 0 ? String(cString: ZSTD_getErrorName(hr)) : "header incomplete"
                throw DatasetError(.frameCorrupted, "\(where_): not a valid zstd frame (\(why)) — \(advice)")
            }
            guard fh.frameType == ZSTD_frame, fh.frameContentSize == UInt64(raw) else {
                throw DatasetError(.sizeMismatch, "\(where_): zstd frame declares \(fh.frameContentSize == ZSTD_CONTENTSIZE_UNKNOWN ? "no" : String(fh.frameContentSize)) content bytes, expected \(raw) — \(advice)")
            }
            guard fh.checksumFlag != 0 else {
                throw DatasetError(.frameCorrupted, "\(where_): zstd frame has no content checksum (every cpae shard frame has one) — \(advice)")
            }
            let found = ZSTD_findFrameCompressedSize(s.baseAddress, s.count)
            guard ZSTD_isError(found) == 0, found == s.count else {
                let why = ZSTD_isError(found) != 0 ? String(cString: ZSTD_getErrorName(found)) : "frame is \(found) bytes"
                throw DatasetError(.frameCorrupted, "\(where_): zstd frame does not span its \(s.count) seek-table bytes (\(why)) — \(advice)")
            }
            return try [UInt8](unsafeUninitializedCapacity: raw) { out, count in
                let r = ZSTD_decompressDCtx(ctx.dctx, out.baseAddress, raw, s.baseAddress, s.count)
                guard ZSTD_isError(r) == 0 else {
                    count = 0
                    throw DatasetError(.frameCorrupted, "\(where_): zstd refused the frame: \(String(cString: ZSTD_getErrorName(r))) — the shard is corrupted; \(advice)")
                }
                guard r == raw else {
                    count = 0
                    throw DatasetError(.sizeMismatch, "\(where_): decompressed to \(r) bytes, expected \(raw) — \(advice)")
                }
                count = raw
            }
        }
    }
}

/// A reusable zstd decompression context (not thread-safe: one per thread).
public final class DecompressionContext {
    let dctx: OpaquePointer
    public init() { dctx = ZSTD_createDCtx() }
    deinit { ZSTD_freeDCtx(dctx) }
}
