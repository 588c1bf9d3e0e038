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
        .library(name: "Optimizers", targets: ["Optimizers"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "SequenceParallel", targets: ["SequenceParallel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
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
        // libjpeg's setjmp/longjmp error handling, which Swift cannot express (jpeglib.h is in /usr/include).
        .target(name: "CJPEGDecoding", linkerSettings: [.linkedLibrary("jpeg")]),

        // MARK: - Parseval
        .target(name: "CKernels"),  // elementwise loops compiled per instruction set (target_clones)
        // Matrix products through oneDNN, loaded at run time (dlopen) so one binary runs with or without it.
        .target(name: "CMatmul", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "TensorCore", dependencies: ["CFFTW", "CBLAS", "CKernels", "CMatmul"]),
        .target(name: "Layers", dependencies: ["TensorCore", "CKernels"]),
        .target(name: "Optimizers", dependencies: ["TensorCore", "Layers"]),
        .target(name: "Models", dependencies: ["TensorCore", "Layers", "SpectralMixing", "SequenceParallel", "Distributed"]),
        .target(name: "Datasets", dependencies: ["TensorCore", "CImageCodecs", "CJPEGDecoding"]),
        .target(name: "Distributed", dependencies: ["TensorCore", "Layers", "CMPI", "CFFTW"]),
        .target(name: "SpectralMixing", dependencies: ["TensorCore", "Layers", "CKernels"]),
        .target(name: "SequenceParallel", dependencies: ["TensorCore", "Layers", "SpectralMixing", "Distributed", "CFFTW", "CKernels"]),
        .target(
            name: "Training",
            dependencies: ["TensorCore", "Layers", "Models", "Optimizers", "Datasets", "Distributed", "SequenceParallel",
                           .product(name: "Yams", package: "Yams")]),
        .executableTarget(
            name: "parseval",
            dependencies: [
                "TensorCore", "Layers", "SpectralMixing", "SequenceParallel", "Optimizers", "Models", "Datasets", "Distributed", "Training", "CMPI", "CFFTW", "CBLAS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // MARK: - Tests (DistributedTests, ParallelTrainingTests and SequenceParallelTests also run under mpirun: scripts/test.sh)
        // Shared test helpers: the gradient checker, tolerances, random tensors.
        .target(name: "ParsevalTestSupport", dependencies: ["TensorCore", "Layers"], path: "Tests/ParsevalTestSupport"),
        .testTarget(name: "TensorCoreTests", dependencies: ["ParsevalTestSupport", "TensorCore"]),
        .testTarget(name: "LayersTests", dependencies: ["ParsevalTestSupport", "Layers", "TensorCore"]),
        .testTarget(name: "OptimizersTests", dependencies: ["Optimizers", "Layers", "TensorCore"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Optimizers", "Layers", "SpectralMixing", "TensorCore"]),
        .testTarget(name: "TrainingTests", dependencies: ["ParsevalTestSupport", "Training", "Models", "Optimizers", "Layers", "TensorCore"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "TensorCore"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "Layers", "TensorCore"]),
        .testTarget(name: "ParallelTrainingTests", dependencies: ["Training", "Datasets", "Distributed", "Models", "TensorCore"]),
        .testTarget(name: "SequenceParallelTests",
                    dependencies: ["ParsevalTestSupport", "SequenceParallel", "SpectralMixing", "Distributed", "Layers", "TensorCore"]),
        .testTarget(name: "SpectralMixingTests", dependencies: ["ParsevalTestSupport", "SpectralMixing", "Layers", "TensorCore"]),
        // Faults, bad input, determinism and fuzzing; runs the parseval binary (and mpirun) as child processes.
        .testTarget(name: "ReliabilityTests", dependencies: ["Training", "Datasets", "Models", "Optimizers", "Layers", "TensorCore"]),
    ],
    swiftLanguageModes: [.v6]
)
