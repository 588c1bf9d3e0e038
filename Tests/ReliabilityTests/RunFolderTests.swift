import Foundation
import Training
import XCTest

/// Damaged checkpoints, a missing `latest`, `--fresh`, a resume with another configuration,
/// and `eval`: what a run folder survives and what never changes it.
final class RunFolderTests: TrainingRunTestCase {
    /// Flips one bit of `file` at `offset` (from the end when negative).
    func flipBit(_ path: String, at offset: Int) throws {
        var data = try XCTUnwrap(FileManager.default.contents(atPath: path))
        let index = offset >= 0 ? offset : data.count + offset
        data[index] ^= 0x10
        try data.write(to: URL(fileURLWithPath: path))
    }

    func stepFolder(_ run: String, _ step: Int) -> String {
        "\(Checkpoint.folder(run: runFolder(run)))/" + String(format: "step-%08d", step)
    }

    /// One bit flipped in the newest checkpoint's metadata (its JSON header), or in its
    /// optimizer state: resume names the damage, falls back to the previous checkpoint (step 28),
    /// trains steps 29 and 30 again and ends bit-identical to the run before the damage.
    func testADamagedNewestCheckpointFallsBackToTheNewestIntactOne() throws {
        assertExit(try train(run: "straight"), 0)
        for (label, file, offset) in [("metadata", "model.safetensors", 60), ("optimizer", "optimizer.safetensors", -8)] {
            let run = "damaged-\(label)"
            assertExit(try train(run: run), 0)
            try flipBit("\(stepFolder(run, 30))/\(file)", at: offset)
            let resumed = try train(run: run)
            assertExit(resumed, 0, mentions: ["skipped step-00000030", "does not match its manifest",
                                              "resumed from \(stepFolder(run, 28))"])
            assertBitIdentical(try finalParameters(run: run), try finalParameters(run: "straight"),
                               "\(label) damaged at step 30, resumed from step 28")
            XCTAssertEqual(try metrics(run: run), try metrics(run: "straight"))
            XCTAssertEqual(try latestName(run: run), "step-00000030")
        }
    }

    func testEveryCheckpointDamagedIsACheckpointErrorNamingThem() throws {
        assertExit(try train(run: "ruined", ["training.steps=8"]), 0)
        for step in [4, 8] { try flipBit("\(stepFolder("ruined", step))/model.safetensors", at: -4) }
        assertExit(try train(run: "ruined"), 4, mentions: ["no intact checkpoint", "skipped step-00000008", "skipped step-00000004"])
    }

    /// Without `latest` the run resumes from the newest intact step folder, not from step 0,
    /// and pruning keeps what the run references.
    func testAMissingLatestResumesFromTheNewestStepFolder() throws {
        assertExit(try train(run: "straight"), 0)
        assertExit(try train(run: "pointerless"), 0)
        try FileManager.default.removeItem(atPath: "\(Checkpoint.folder(run: runFolder("pointerless")))/latest")
        try FileManager.default.removeItem(atPath: stepFolder("pointerless", 30))
        assertExit(try train(run: "pointerless"), 0, mentions: ["latest is missing", "resumed from \(stepFolder("pointerless", 28))"])
        assertBitIdentical(try finalParameters(run: "pointerless"), try finalParameters(run: "straight"), "resumed without latest")
        XCTAssertEqual(try latestName(run: "pointerless"), "step-00000030")
        let left = try FileManager.default.contentsOfDirectory(atPath: Checkpoint.folder(run: runFolder("pointerless")))
            .filter { $0.hasPrefix("step-") }.sorted()
        XCTAssertEqual(left, ["step-00000028", "step-00000030"])
    }

    /// `--fresh` over an old run: no old checkpoint or metrics line survives.
    func testFreshStartsACleanHistory() throws {
        assertExit(try train(run: "clean", ["training.seed=9"]), 0)
        assertExit(try train(run: "reused", ["training.seed=3", "training.steps=20"]), 0)
        let fresh = try ParsevalProcess.run(trainArguments(run: "reused", ["training.seed=9"]) + ["--fresh"], in: folder)
        assertExit(fresh, 0)
        XCTAssertEqual(try metrics(run: "reused"), try metrics(run: "clean"), "metrics.jsonl holds only the fresh run")
        assertBitIdentical(try finalParameters(run: "reused"), try finalParameters(run: "clean"), "fresh run")
    }

    /// Resuming with another seed or model is a configuration error naming the keys, and the
    /// folder's config.json stays the run's.
    func testResumingWithAnotherSeedOrModelNamesTheKeys() throws {
        assertExit(try train(run: "fingerprint", ["training.steps=8"]), 0)
        let configPath = "\(runFolder("fingerprint"))/config.json"
        let before = try String(contentsOfFile: configPath, encoding: .utf8)
        assertExit(try train(run: "fingerprint", ["training.seed=6"]), 2, mentions: ["training.seed 5 → 6", "--fresh"])
        assertExit(try train(run: "fingerprint", ["model.dim=32"]), 2, mentions: ["model.dim 16 → 32"])
        XCTAssertEqual(try String(contentsOfFile: configPath, encoding: .utf8), before, "a failed resume must not rewrite config.json")
        // Run length, cadence and precision may change.
        assertExit(try train(run: "fingerprint", ["training.steps=10", "training.log_every=2", "training.precision=bf16"]), 0,
                   mentions: ["resumed from"])
    }

    func testEvalLeavesTheRunFolderAlone() throws {
        assertExit(try train(run: "evaluated", ["training.steps=4"]), 0)
        let configPath = "\(runFolder("evaluated"))/config.json"
        let before = try String(contentsOfFile: configPath, encoding: .utf8)
        let eval = try ParsevalProcess.run(["eval", "--run", runFolder("evaluated"), "--set", "training.eval_batches=1",
                                            "--set", "training.seed=77"], in: folder)
        assertExit(eval, 0, mentions: ["validation accuracy"])
        XCTAssertEqual(try String(contentsOfFile: configPath, encoding: .utf8), before)
    }

    /// `eval` reads only the split it evaluates: with the training file gone it still runs.
    /// And it writes nothing: on a read-only mount of the run folder (a mount namespace, where
    /// the machine allows one) it evaluates, and every file is unchanged.
    func testEvalNeedsNoTrainingDataAndWorksOnAReadOnlyRunFolder() throws {
        assertExit(try train(run: "readonly", ["training.steps=4"]), 0)
        let run = runFolder("readonly")
        func snapshot() throws -> [String: Data] {
            var files: [String: Data] = [:]
            let enumerator = FileManager.default.enumerator(atPath: run)
            while let path = enumerator?.nextObject() as? String {
                var directory: ObjCBool = false
                if FileManager.default.fileExists(atPath: "\(run)/\(path)", isDirectory: &directory), !directory.boolValue {
                    files[path] = FileManager.default.contents(atPath: "\(run)/\(path)")
                }
            }
            return files
        }
        let before = try snapshot()
        try FileManager.default.removeItem(atPath: "\(folder!)/data/basic_train.tsv")
        // The run folder bind-mounted read-only over itself in a mount namespace of its own, where
        // the machine allows one (a write there fails with exit 9 before eval runs).
        let readOnly = "mount --bind \(run) \(run) && mount -o remount,bind,ro \(run) && ! touch \(run)/probe 2>/dev/null"
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        probe.arguments = ["--mount", "--propagation", "private", "/bin/sh", "-c", readOnly]
        probe.standardError = FileHandle.nullDevice
        let canMount = (try? probe.run()) != nil && { probe.waitUntilExit(); return probe.terminationStatus == 0 }()
        let wrapper = canMount ? ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                                  "\(readOnly) || exit 9; exec \"$0\" \"$@\""] : nil
        let eval = try ParsevalProcess.run(["eval", "--run", run, "--split", "test"], wrapper: wrapper, in: folder)
        assertExit(eval, 0, mentions: ["test accuracy"])
        XCTAssertEqual(try snapshot(), before, "eval must not change the run folder")
    }

    // MARK: - One job per run folder

    func testASecondJobOnARunFolderInUseIsRefusedAndADeadJobsLockIsTakenOver() throws {
        let settings = ["training.steps=2000"]
        let first = try ParsevalProcess(trainArguments(run: "shared", settings), in: folder)
        let deadline = Date().addingTimeInterval(60)
        while first.isRunning && Date() < deadline
                && ((try? String(contentsOfFile: "\(runFolder("shared"))/metrics.jsonl", encoding: .utf8)) ?? "").count < 300 {
            usleep(5_000)
        }
        let second = try train(run: "shared", settings)
        assertExit(second, 2, mentions: ["is in use by another training job", "\"pid\""])
        first.send(SIGKILL)
        _ = first.wait(timeout: 10)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(runFolder("shared"))/\(RunLock.fileName)"), "SIGKILL leaves the lock")
        let third = try train(run: "shared", ["training.steps=40"])
        assertExit(third, 0, mentions: ["took over a stale lock", "has exited", "resumed from"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(runFolder("shared"))/\(RunLock.fileName)"),
                       "the lock goes when the job ends")
    }

    /// A lock from another host is honoured while its heartbeat is fresh and taken over once it
    /// is older than `RunLock.staleSeconds`.
    func testALockFromAnotherHostIsStaleOnlyWithoutAHeartbeat() throws {
        let run = runFolder("remote")
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        let lock = "\(run)/\(RunLock.fileName)"
        try #"{"host": "node-17", "pid": 4242, "started": "2026-01-01T00:00:00Z"}"#.write(toFile: lock, atomically: true, encoding: .utf8)
        assertExit(try train(run: "remote", ["training.steps=2"]), 2, mentions: ["node-17"])
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-RunLock.staleSeconds - 60)], ofItemAtPath: lock)
        assertExit(try train(run: "remote", ["training.steps=2"]), 0, mentions: ["took over a stale lock (no heartbeat for"])
    }

    // MARK: - Evaluation

    /// `eval_every: 0` (the tiny config's): the end-of-run evaluation makes the last checkpoint
    /// `best`, so the README's `eval --checkpoint best` works.
    func testARunWithoutPeriodicEvaluationStillHasABestCheckpoint() throws {
        assertExit(try train(run: "final-only"), 0)
        let eval = try ParsevalProcess.run(["eval", "--run", runFolder("final-only"), "--checkpoint", "best"], in: folder)
        assertExit(eval, 0, mentions: ["step-00000030 (step 30): validation accuracy"])
    }

    /// Sequence parallelism: the two ranks of a sequence share each example; `eval --logits`
    /// writes each example once, as one process does.
    func testSequenceParallelEvalWritesEachExampleOnce() throws {
        let settings = ["model.mixer=fftnet", "parallel.seq_parallel=2", "training.steps=4"]
        assertExit(try train(run: "sharded", settings, ranks: 2), 0)
        let (two, one) = ("\(folder!)/two.tsv", "\(folder!)/one.tsv")
        assertExit(try ParsevalProcess.run(["eval", "--run", runFolder("sharded"), "--logits", two], ranks: 2, in: folder), 0)
        assertExit(try ParsevalProcess.run(["eval", "--run", runFolder("sharded"), "--logits", one,
                                            "--set", "parallel.seq_parallel=1"], in: folder), 0)
        let rows = { (path: String) in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst() }
        let (sharded, single) = (try rows(two), try rows(one))
        XCTAssertEqual(sharded.count, 16, "16 validation examples, each once")
        XCTAssertEqual(sharded.map { $0.split(separator: "\t").prefix(2) }, single.map { $0.split(separator: "\t").prefix(2) })
    }

    /// A completed run evaluates its best checkpoint on the test split (LRA's reported number)
    /// into metrics.jsonl; `eval --split test` gives the same; a missing test file is reported
    /// and skipped, never a failed run.
    func testACompletedRunReportsTheTestSplitOfItsBestCheckpoint() throws {
        let outcome = try train(run: "tested")
        assertExit(outcome, 0, mentions: ["test accuracy", "best checkpoint, step 30"])
        let last = try XCTUnwrap(try metrics(run: "tested").split(separator: "\n").last)
        XCTAssertTrue(last.contains(#""split":"test""#) && last.contains(#""examples":4"#), String(last))
        let eval = try ParsevalProcess.run(["eval", "--run", runFolder("tested"), "--checkpoint", "best", "--split", "test"], in: folder)
        assertExit(eval, 0, mentions: ["test accuracy", "over 4 examples"])
        let accuracy = { (text: String) in text.range(of: #"test accuracy [0-9.]+"#, options: .regularExpression).map { String(text[$0].suffix(6)) } }
        XCTAssertEqual(accuracy(eval.output), accuracy(outcome.output))

        assertExit(try train(run: "untested", ["training.final_test=false"]), 0)
        XCTAssertFalse(try metrics(run: "untested").contains(#""split":"test""#))

        let data = "\(folder!)/no-test"
        try FileManager.default.copyItem(atPath: "\(folder!)/data", toPath: data)
        try FileManager.default.removeItem(atPath: "\(data)/basic_test.tsv")
        assertExit(try train(run: "no-test", ["data.directory=\(data)"]), 0, mentions: ["test split not evaluated", "basic_test.tsv"])
    }
}
