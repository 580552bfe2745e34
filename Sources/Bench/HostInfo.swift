import Core
import Foundation

/// What a timing depends on besides our code: the CPU, whether it has AVX-512 (PyTorch's oneDNN and
/// OpenBLAS both pick wider kernels with it), and the OpenBLAS kernel set chosen at load time (which
/// OPENBLAS_CORETYPE can override). Printed beside every same-run comparison with a peer.
public struct HostInfo: Codable, Sendable {
    /// /proc/cpuinfo's first "model name" ("unknown" where it is unreadable).
    public var cpu: String
    public var avx512f: Bool
    public var cores: Int
    public var blas_core: String

    public static func current() -> HostInfo {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        func field(_ key: String) -> String? {
            cpuinfo.split(separator: "\n").first { $0.hasPrefix(key) && $0.contains(":") }
                .map { $0.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces) }
        }
        let flags = Set((field("flags") ?? "").split(separator: " "))
        return HostInfo(cpu: field("model name") ?? "unknown", avx512f: flags.contains("avx512f"),
                        cores: ProcessInfo.processInfo.activeProcessorCount, blas_core: BLASThreads.coreName)
    }

    /// "host: AMD EPYC, 2 cores, AVX-512F yes, OpenBLAS core Cooperlake".
    public var line: String {
        "host: \(cpu), \(cores) core\(cores == 1 ? "" : "s"), AVX-512F \(avx512f ? "yes" : "no"), OpenBLAS core \(blas_core)"
    }
}
