import Foundation

/// The output directory of `encode`: created if missing; refused when it already holds latents,
/// unless the caller asks to replace them. Replacing removes latents.json FIRST, so from then until
/// the new manifest is written the directory reads as an unfinished encode, never as a mix of old
/// and new shards under the old manifest.
public enum LatentDirectory {
    public static func prepare(_ directory: String, overwrite: Bool) throws {
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw FileError(path: directory, problem: "cannot create the latent directory (\(error.localizedDescription))",
                            advice: "Choose a writable --out directory and check the free disk space")
        }
        let existing = ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        let ours = existing.filter { $0 == LatentManifest.fileName || $0.hasSuffix("." + ShardFormat.fileExtension) }
        if ours.isEmpty { return }
        guard overwrite else {
            throw DatasetError(.invalidArgument, "\(directory) already holds latents (\(ours.prefix(3).joined(separator: ", "))\(ours.count > 3 ? ", …" : "")) — pass --overwrite to replace them, or choose another --out")
        }
        if existing.contains(Manifest.fileName) {
            throw DatasetError(.invalidArgument, "\(directory) holds a frame dataset (manifest.json); refusing to delete its shards — choose another --out")
        }
        for name in [LatentManifest.fileName] + ours.filter({ $0 != LatentManifest.fileName }) {
            do { try fm.removeItem(atPath: directory + "/" + name) } catch {
                throw FileError(path: directory + "/" + name, problem: "cannot remove the old latent file (\(error.localizedDescription))",
                                advice: "Check the directory's permissions, or choose another --out")
            }
        }
    }
}
