import Foundation
import TensorCore
import XCTest

/// Kernel choices through the real binary: `bench step --tune` measures and saves them, later
/// runs read them, and a damaged file is a warning for runs and an error for `--tune`.
final class KernelChoiceRunTests: TrainingRunTestCase {
    let small = ["bench", "step", "--sequence", "64", "--dim", "16", "--mlp", "32", "--heads", "2", "--depth", "1",
                 "--batch", "2", "--repeats", "1", "--warmup", "1"]

    func testTuneSavesChoicesThatLaterRunsReadAndTrainReportsThem() throws {
        if let reason = Matmul.oneDNNUnavailableReason { throw XCTSkip("choices pick between oneDNN and OpenBLAS: \(reason)") }
        let wisdom = "\(folder!)/choices/kernel-choices.tsv"
        let tuned = try ParsevalProcess.run(small + ["--tune", "--wisdom", wisdom], in: folder, timeout: 300)
        let fftWisdom = "\(folder!)/choices/fftw-wisdom/\(KernelChoices.cpuFileName).txt"
        assertExit(tuned, 0, mentions: ["measured and saved to \(wisdom)", "FFTW wisdom saved to \(fftWisdom)", "FFTW measure"])
        XCTAssertTrue(try String(contentsOfFile: fftWisdom, encoding: .utf8).contains("fftw"))
        let text = try String(contentsOfFile: wisdom, encoding: .utf8)
        let parsed = try KernelWisdom(parsing: text, source: wisdom)
        XCTAssertTrue(parsed.entries.contains { if case .attention = $0.decision { return true } else { return false } }, text)
        XCTAssertTrue(parsed.entries.contains { if case .gemm = $0.decision { return true } else { return false } }, text)
        XCTAssertTrue(parsed.entries.allSatisfy { $0.cpu == KernelChoices.cpu && !$0.timings.isEmpty }, text)
        let count = parsed.entries.count + KernelWisdom.defaults.entries.filter { $0.cpu == KernelChoices.cpu }.count
        // Read back by a run; measuring again finds nothing new.
        assertExit(try ParsevalProcess.run(small + ["--wisdom", wisdom], in: folder, timeout: 300), 0,
                   mentions: ["kernel choices: \(count) in force for this CPU; FFTW wisdom: \(fftWisdom)", "FFTW estimate"])
        assertExit(try ParsevalProcess.run(small + ["--tune", "--wisdom", wisdom], in: folder, timeout: 300), 0,
                   mentions: ["kernel choices: nothing new to measure"])
        assertExit(try ParsevalProcess.run(small + ["--no-kernel-choices", "--wisdom", wisdom], in: folder, timeout: 300), 0,
                   mentions: ["kernel choices: off"])
        // train reads the user's file ($XDG_CACHE_HOME/parseval/kernel-choices.tsv).
        try FileManager.default.createDirectory(atPath: "\(folder!)/.cache/parseval", withIntermediateDirectories: true)
        try text.write(toFile: "\(folder!)/.cache/parseval/kernel-choices.tsv", atomically: true, encoding: .utf8)
        let trained = try ParsevalProcess.run(["train", "--config", configuration, "--set", "training.steps=2",
                                               "--set", "output.directory=\(runFolder("choices"))"], in: folder, timeout: 300)
        assertExit(trained, 0, mentions: ["kernel choices: \(count) measured for this CPU"])
    }

    func testADamagedFileWarnsRunsAndStopsTune() throws {
        let wisdom = "\(folder!)/damaged.tsv"
        try "# header\nnot a choice\n".write(toFile: wisdom, atomically: true, encoding: .utf8)
        let run = try ParsevalProcess.run(small + ["--wisdom", wisdom], in: folder, timeout: 300)
        assertExit(run, 0, mentions: ["\(wisdom):2: expected 6 tab-separated fields", "the file is ignored"])
        // FFTW wisdom it cannot read: runs warn and plan without it.
        let fftFolder = "\(folder!)/fftw-wisdom"
        try FileManager.default.createDirectory(atPath: fftFolder, withIntermediateDirectories: true)
        let fftWisdom = "\(fftFolder)/\(KernelChoices.cpuFileName).txt"
        try "(fftw-3.3.10 fftwf_wisdom #x0\n  (damaged".write(toFile: fftWisdom, atomically: true, encoding: .utf8)
        assertExit(try ParsevalProcess.run(small + ["--wisdom", "\(folder!)/empty.tsv"], in: folder, timeout: 300), 0,
                   mentions: ["FFTW wisdom: \(fftWisdom): FFTW cannot read it", "FFTW wisdom: none for this CPU"])
        if Matmul.oneDNNUnavailableReason == nil {
            assertExit(try ParsevalProcess.run(small + ["--tune", "--wisdom", wisdom], in: folder, timeout: 300), 2,
                       mentions: ["\(wisdom):2: expected 6 tab-separated fields", "fix or delete the file"])
        }
        assertExit(try ParsevalProcess.run(small + ["--tune", "--no-kernel-choices"], in: folder), 2,
                   mentions: ["--tune and --no-kernel-choices exclude each other"])
    }
}
