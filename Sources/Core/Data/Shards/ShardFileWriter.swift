import CZstd

/// The one writer of the shard container, under both the frame (`DatasetWriter`) and the latent
/// (`LatentShardWriter`) shards: it compresses each trajectory's raw bytes into one zstd frame
/// (content size and checksum on) and writes header frame + trajectory frames + seek table
/// atomically, returning the manifest entry (size, SHA-256 of the exact bytes written).
final class ShardFileWriter {
    let compressionLevel: Int32
    private let cctx: OpaquePointer

    /// `owner` names the caller in error messages ("DatasetWriter(dir)").
    init(compressionLevel: Int32, owner: String) throws {
        let levels = ZSTD_minCLevel()...ZSTD_maxCLevel()
        guard levels.contains(compressionLevel) else {
            throw DatasetError(.invalidArgument, "\(owner): zstd level \(compressionLevel) outside \(levels.lowerBound)…\(levels.upperBound)")
        }
        guard let c = ZSTD_createCCtx() else { throw DatasetError(.compressor, "ZSTD_createCCtx failed (out of memory)") }
        cctx = c
        self.compressionLevel = compressionLevel
        try zstdCheck(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, compressionLevel))
        try zstdCheck(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1))
        try zstdCheck(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1))
    }

    deinit { ZSTD_freeCCtx(cctx) }

    /// One trajectory's raw bytes as one zstd frame. `what` names it in errors.
    func compress(_ raw: UnsafeRawBufferPointer, what: String) throws -> [UInt8] {
        let bound = ZSTD_compressBound(raw.count)
        let compressed = try [UInt8](unsafeUninitializedCapacity: bound) { out, count in
            let r = ZSTD_compress2(cctx, out.baseAddress, bound, raw.baseAddress, raw.count)
            count = 0
            try zstdCheck(r)
            count = r
        }
        guard compressed.count <= Int(UInt32.max) else {
            throw DatasetError(.invalidArgument, "\(what) compresses to \(compressed.count) bytes, over the seek-table limit of 4 GiB")
        }
        return compressed
    }

    /// Writes `directory/name` (atomically) holding `header` and the already compressed `frames`.
    func write(header: ShardHeader, frames: [[UInt8]], directory: String, name: String) throws -> Manifest.Shard {
        precondition(frames.count == header.trajectoryCount, "one frame per trajectory")
        let payload = header.encoded()
        var lead = ByteWriter()
        lead.u32(ShardFormat.skippableHeaderMagic)
        lead.u32(UInt32(payload.count))
        let table = SeekTable(headerFrameBytes: lead.data.count + payload.count, compressedSizes: frames.map(\.count),
                              rawSizes: Array(repeating: header.bytesPerTrajectory, count: frames.count)).encoded()
        let chunks = [lead.data, payload] + frames + [table]
        var sha = SHA256()
        for c in chunks { sha.update(c) }
        try AtomicFile.write(to: directory + "/" + name) { file in for chunk in chunks { try file.write(chunk) } }
        return Manifest.Shard(file: name, bytes: Int64(chunks.reduce(0) { $0 + $1.count }),
                              sha256: SHA256.hex(sha.finalize()), trajectoryCount: header.trajectoryCount,
                              trajectoryIDs: header.trajectoryIDs)
    }
}
