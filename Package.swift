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
        // Thin C shims over Debian's system libraries (see platform notes §2).
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
        // All numerics and file formats. Imports no MPI: everything here runs in one process.
        .target(name: "Core", dependencies: ["COpenBLAS", "CZstd", "CPNG", "CJPEG", "COpenSSL", "CCairo"],
                swiftSettings: releaseFast),
        // The communicator over MPI and the data-parallel training phases.
        .target(name: "Distributed", dependencies: ["Core", "CMPI"], swiftSettings: releaseFast),
        .executableTarget(name: "cpae-mpi",
                          dependencies: ["Core", "Distributed",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: releaseFast),
        .testTarget(name: "CoreTests", dependencies: ["Core"], exclude: ["Fixtures"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "Core"]),
    ],
    swiftLanguageModes: [.v5]
)
