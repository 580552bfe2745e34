/// What the trajectory frames of a shard hold (header offset 48, u16). Frame shards predate the
/// field and wrote zero there, so every existing frame shard reads as `.frames` unchanged.
public enum ShardPayload: UInt16, Sendable, Equatable {
    /// uint8 video frames, frame-major T×H×W×C (a dataset made by `generate` or `ingest`).
    case frames = 0
    /// Float32 little-endian latent vectors T×d, stored as H = 1, W = d, C = 1 (made by `encode`).
    case latents = 1

    /// Bytes of one element of a trajectory frame's raw content.
    public var elementBytes: Int { self == .frames ? 1 : 4 }

    public var name: String { self == .frames ? "frame" : "latent" }
}

/// Split of one trajectory as a latent shard records it (u32 per trajectory). Datasets split by
/// time (circle) put every trajectory in no id list: `.byFrames`.
enum ShardSplitCode {
    static let byFrames: UInt32 = 0xFFFF_FFFF

    static func code(_ split: SplitName?) -> UInt32 {
        switch split {
        case .train: return 0
        case .validation: return 1
        case .test: return 2
        case nil: return byFrames
        }
    }

    /// nil for `byFrames`; throws nothing, the caller reports an unknown code with its context.
    static func split(_ code: UInt32) -> SplitName?? {
        switch code {
        case 0: return .some(.train)
        case 1: return .some(.validation)
        case 2: return .some(.test)
        case byFrames: return .some(nil)
        default: return nil
        }
    }
}
