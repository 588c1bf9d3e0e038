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
        .library(name: "Parameters", targets: ["Parameters"]),
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
        // The parameter arena: every parameter and gradient in two contiguous buffers.
        .target(name: "Parameters", dependencies: ["TensorCore"]),
        .target(name: "Layers", dependencies: ["TensorCore", "Parameters", "CKernels"]),
        .target(name: "Optimizers", dependencies: ["TensorCore", "Parameters"]),
        .target(name: "Models", dependencies: ["TensorCore", "Parameters", "Layers", "SpectralMixing", "SequenceParallel", "Distributed"]),
        .target(name: "Datasets", dependencies: ["TensorCore", "CImageCodecs", "CJPEGDecoding"]),
        .target(name: "Distributed", dependencies: ["TensorCore", "Parameters", "CMPI", "CFFTW"]),
        .target(name: "SpectralMixing", dependencies: ["TensorCore", "Parameters", "Layers", "CKernels"]),
        .target(name: "SequenceParallel", dependencies: ["TensorCore", "Parameters", "Layers", "SpectralMixing", "Distributed", "CFFTW"]),
        .target(
            name: "Training",
            dependencies: ["TensorCore", "Parameters", "Layers", "Models", "Optimizers", "Datasets", "Distributed", "SequenceParallel",
                           .product(name: "Yams", package: "Yams")]),
        .executableTarget(
            name: "parseval",
            dependencies: [
                "TensorCore", "Parameters", "Layers", "SpectralMixing", "SequenceParallel", "Optimizers", "Models", "Datasets", "Distributed", "Training", "CMPI", "CFFTW", "CBLAS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // MARK: - Tests (DistributedTests, ParallelTrainingTests and SequenceParallelTests also run under mpirun: scripts/test.sh)
        // Shared test helpers: the gradient checker, tolerances, random tensors.
        .target(name: "ParsevalTestSupport", dependencies: ["Parameters", "TensorCore", "Layers"], path: "Tests/ParsevalTestSupport"),
        .testTarget(name: "TensorCoreTests", dependencies: ["Parameters", "ParsevalTestSupport", "TensorCore"]),
        .testTarget(name: "LayersTests", dependencies: ["Parameters", "ParsevalTestSupport", "Layers", "TensorCore"]),
        .testTarget(name: "OptimizersTests", dependencies: ["Parameters", "Optimizers", "Layers", "TensorCore"]),
        .testTarget(name: "ModelsTests", dependencies: ["Parameters", "Models", "Optimizers", "Layers", "SpectralMixing", "TensorCore"]),
        .testTarget(name: "TrainingTests", dependencies: ["Parameters", "ParsevalTestSupport", "Training", "Datasets", "Models", "Optimizers", "Layers", "TensorCore"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Parameters", "Datasets", "TensorCore"]),
        .testTarget(name: "DistributedTests", dependencies: ["Parameters", "Distributed", "Layers", "TensorCore"]),
        .testTarget(name: "ParallelTrainingTests", dependencies: ["Parameters", "Training", "Datasets", "Distributed", "Models", "TensorCore"]),
        .testTarget(name: "SequenceParallelTests",
                    dependencies: ["Parameters", "ParsevalTestSupport", "SequenceParallel", "SpectralMixing", "Distributed", "Layers", "TensorCore"]),
        .testTarget(name: "SpectralMixingTests", dependencies: ["Parameters", "ParsevalTestSupport", "SpectralMixing", "Layers", "TensorCore"]),
        // Faults, bad input, determinism and fuzzing; runs the parseval binary (and mpirun) as child processes.
        .testTarget(name: "ReliabilityTests", dependencies: ["Parameters", "Training", "Datasets", "Models", "Optimizers", "Layers", "TensorCore"]),
    ],
    swiftLanguageModes: [.v6]
)
