/// Every failure of a dataset's content or structure. `kind` lets callers and tests tell cases apart;
/// `message` names the file (and trajectory) and says what to do about it. When the file itself
/// cannot be opened or read, the I/O layer's `FileError` (IO/FileError.swift) is thrown instead.
public struct DatasetError: Error, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable {
        case notAShard          // wrong magic: not a cpae shard at all
        case unsupportedVersion // a shard/manifest version this build does not read
        case truncated          // file shorter than its own header says, or than the manifest says
        case sizeMismatch       // sizes disagree (file vs manifest, frames vs table, content size vs shape)
        case headerCorrupted    // header CRC32C mismatch
        case implausibleHeader  // header fields out of any sane range (e.g. 2^40 frames)
        case seekTableCorrupted // zstd seekable footer malformed or inconsistent
        case frameCorrupted     // zstd refused the trajectory frame (checksum, bad block, …)
        case manifest           // manifest.json missing, unreadable or inconsistent
        case missingShard       // listed in the manifest, not on disk
        case extraShard         // on disk, not listed in the manifest
        case checksumMismatch   // SHA-256 of a shard differs from the manifest
        case inconsistent       // shard header disagrees with the manifest / description
        case invalidArgument    // caller error: unknown id, shape mismatch on append, …
        case compressor         // zstd refused to compress (out of memory, bad parameter)
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) { self.kind = kind; self.message = message }

    public var description: String { message }
}

import Foundation

/// Lets Foundation and ArgumentParser print the message instead of "The operation couldn't be completed".
extension DatasetError: LocalizedError {
    public var errorDescription: String? { message }
}

/// The advice appended to every "this dataset file is damaged" error (the default of `ShardReader`).
public let regenerateAdvice = "re-run `cpae-mpi generate` (or `cpae-mpi ingest`) to rebuild the dataset, or restore it from a copy"
