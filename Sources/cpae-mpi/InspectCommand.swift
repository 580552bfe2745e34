import ArgumentParser
import Core
import Foundation

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Validate a dataset directory and print its summary.",
        discussion: """
            Always checks manifest.json against every shard's header and seek table (cheap; training does the same \
            at start-up). --verify also hashes every shard (SHA-256 vs the manifest) and decompresses every \
            trajectory (zstd content checksums) — seconds per GB, so training does not do it.
            """)

    @Argument(help: "Dataset directory (holds manifest.json and *.cpz shards).")
    var directory: String

    @Flag(help: "Also check SHA-256 of every shard and decompress every trajectory.")
    var verify = false

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func run() throws {
        let reader = try DatasetReader(directory: directory)
        if verify {
            // Progress on stderr: a full verify reads every byte (seconds per GB).
            _ = try reader.verify { done, total in
                FileHandle.standardError.write(Data("verified shard \(done)/\(total)\r".utf8))
                if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
            }
        }
        let summary = DatasetSummary(reader: reader, verified: verify)
        if json {
            print(try JSONCoding.string(summary, pretty: true))
        } else {
            print(summary.text)
        }
    }
}
