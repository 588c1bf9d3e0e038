import Datasets
import Distributed
import Foundation

/// A tiny ListOps set for the MPI training tests: every rank writes its own copy (generation
/// is deterministic), and all ranks learn rank 0's folder, which they share (the tests run on
/// one machine). `remove()` waits for every rank before deleting.
struct ListOpsFixture {
    let world: Communicator
    /// This rank's own folder; the data is in `folder/data`.
    let folder: String
    /// Rank 0's folder, shared by every rank (run folders of whole-world trainers go here).
    let shared: String

    init(world: Communicator, maxLength: Int) throws {
        self.world = world
        folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("parseval-mpi-\(getpid())-\(UUID().uuidString)").path
        var settings = ListOpsGenerator.Settings()
        (settings.trainCount, settings.validationCount, settings.testCount) = (40, 10, 4)
        (settings.minLength, settings.maxLength, settings.seed) = (5, maxLength, 3)
        _ = try ListOpsGenerator.write(ListOpsGenerator(settings: settings).generate(), to: "\(folder)/data")
        shared = try world.broadcast(folder)
    }

    func remove() {
        try? world.barrier()
        try? FileManager.default.removeItem(atPath: folder)
    }
}
