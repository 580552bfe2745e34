// swift-tools-version:6.0
import Foundation
import PackageDescription

// The shipped release binary drops Swift's overflow and precondition checks (-Ounchecked): measured
// 2026-12-02 on Zen 3, `cpae-mpi bench train --threads 1 --objectives reference`, 3 alternating runs
// each, median step 2239 ms with -Ounchecked against 2650 ms with -O (15% faster; busy machine).
// scripts/test.sh sets CPAE_MPI_CHECKED=1 (and its own --scratch-path .build-test) so the tests'
// release build keeps every check (-O). Debug builds keep them too.
let checked = ProcessInfo.processInfo.environment["CPAE_MPI_CHECKED"] == "1"
let releaseFast: [SwiftSetting] = checked ? [] : [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
// Core's loops (the Winograd tile transforms above all) are compiled for AVX2 (`-target-cpu haswell`):
// every machine this runs on (AMD Zen 3 and Zen 4, any x86 HPC node since 2013) has it, and the
// transforms run 8 floats per instruction instead of SSE's 4. No fast-math: LLVM still neither
// fuses multiply-adds nor reorders sums, so results are bit-identical to the SSE build.
let vectorISA: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]

let package = Package(
    name: "cpae-mpi",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cpae-mpi", targets: ["cpae-mpi"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Module maps over Debian's system libraries, one per library (README §Dependencies says why
        // each; docs/machines.md how they link).
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev"])]),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", pkgConfig: "libturbojpeg",
                       providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CCairo", path: "Sources/CCairo", pkgConfig: "cairo",
                       providers: [.apt(["libcairo2-dev"])]),
        // The product's numerics and files, in one process: tensors and the one parameter buffer
        // (Tensor), layers with forward/backward pairs (Layers), the CpAE, VPNet and regularizer
        // (Model), Adam (Optim), the training loop over the `ReplicaGroup` protocol with its
        // in-process k-replica group (Training), shards, loaders, simulators and image codecs (Data),
        // checkpoints, safetensors and JSON (IO), metrics and cairo figures (Metrics, Reports), the
        // one clock and median (Support). Imports no MPI.
        .target(name: "Core", dependencies: ["COpenBLAS", "CZstd", "CPNG", "CJPEG", "COpenSSL", "CCairo"],
                swiftSettings: releaseFast + vectorISA),
        // The MPI communicator: `ReplicaGroup` over MPI, broadcasts/agreement, abort and the
        // collective watchdog, so a failing rank ends the job instead of hanging it.
        .target(name: "Distributed", dependencies: ["Core", "CMPI"], swiftSettings: releaseFast),
        // Harnesses apart from the product: the guarded timer, sgemm peak, layer/step/data
        // benchmarks, the allreduce timing and scaling worker, and the MPI self-test.
        .target(name: "Bench", dependencies: ["Core", "Distributed", "CMPI"], swiftSettings: releaseFast),
        // The command line: one type per subcommand; bench and self-test commands in Bench/, the
        // hidden --debug-* hooks in Debug/.
        .executableTarget(name: "cpae-mpi",
                          dependencies: ["Core", "Distributed", "Bench",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: releaseFast),
        // Starts the built cpae-mpi, alone or under mpirun, with a timeout: shared by the test targets
        // that run the product (a plain target under Tests/, since test targets cannot share sources).
        .target(name: "TestLauncher", path: "Tests/TestLauncher"),
        .testTarget(name: "CoreTests", dependencies: ["Core"], exclude: ["Fixtures"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "Core", "Bench", "TestLauncher"]),
        .testTarget(name: "BenchTests", dependencies: ["Bench", "Core", "TestLauncher"]),
        // cpae-mpi under a real one-node Slurm that the tests start and stop (SlurmCluster.swift).
        .testTarget(name: "SlurmTests", dependencies: ["Core", "TestLauncher"]),
    ],
    swiftLanguageModes: [.v5]
)
