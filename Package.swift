// swift-tools-version:6.0
import PackageDescription

// Hot loops (im2col, col2im, BatchNorm) gain ~10% from dropping overflow checks; only in release,
// so debug builds and tests keep every check.
let releaseFast: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

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
