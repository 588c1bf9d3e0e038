// swift-tools-version: 6.0
// Parseval: FFT-based token mixers trained from one process to MPI clusters.
// Module map and decisions: docs/architecture.md.
import PackageDescription

let package = Package(
    name: "Parseval",
    products: [
        .executable(name: "parseval", targets: ["parseval"]),
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "Distributed", targets: ["Distributed"]),
        .library(name: "Layers", targets: ["Layers"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: - Native engines (system libraries; scripts/setup.sh installs them)
        .systemLibrary(
            name: "CMPI", pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .systemLibrary(
            name: "CFFTW", pkgConfig: "ompi-c",  // fftw3-mpi.h includes mpi.h; FFTW ships no MPI .pc
            providers: [.apt(["libfftw3-dev", "libfftw3-mpi-dev"])]),
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CImageCodecs", pkgConfig: "libpng",
            providers: [.apt(["libjpeg-dev", "libpng-dev"])]),

        // MARK: - Parseval
        .target(name: "TensorCore", dependencies: ["CFFTW", "CBLAS"]),
        .target(name: "Layers", dependencies: ["TensorCore"]),
        .target(name: "Distributed", dependencies: ["TensorCore", "CMPI", "CFFTW"]),
        .target(name: "SpectralMixing", dependencies: ["TensorCore", "Layers"]),
        .executableTarget(
            name: "parseval",
            dependencies: [
                "TensorCore", "Layers", "SpectralMixing", "Distributed", "CMPI", "CFFTW", "CBLAS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // MARK: - Tests (DistributedTests also run under mpirun: scripts/test.sh)
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore"]),
        .testTarget(name: "LayersTests", dependencies: ["Layers", "TensorCore"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "TensorCore"]),
        .testTarget(name: "SpectralMixingTests", dependencies: ["SpectralMixing", "Layers", "TensorCore"]),
    ],
    swiftLanguageModes: [.v6]
)
