import CMPI
import Foundation
import Synchronization

/// Who has arrived at a collective: the part of the stall check that names the rank that hangs.
///
/// A rank waiting in a blocking collective cannot tell which peer is missing: MPI reports
/// nothing until everyone arrives. Horovod answers with a coordinator that hears every rank's
/// readiness; this is the same idea for MPI collectives. While the `CollectiveWatchdog` is
/// armed, each collective on a communicator of two or more ranks is numbered (every rank makes
/// the same collectives in the same order, so the numbers agree), and on entering collective
/// number `n` a rank sends a note holding `n` to its peers, on a private duplicate of the
/// communicator:
///
/// - rank 0 of the communicator (the coordinator) hears every other rank and tells each of
///   them when it arrives itself;
/// - every other rank hears only rank 0.
///
/// The collective then runs non-blocking and the waiting rank polls it, reading notes as they
/// come. Past the stall times, rank 0 names every rank whose last note is older than `n`
/// (in `MPI_COMM_WORLD` numbering), and another rank names rank 0 if rank 0 never arrived;
/// where rank 0 did arrive, the other ranks leave the verdict to it and abort on their own
/// only if it has not done so a short grace period later.
///
/// Cost: 2·(P−1) eight-byte messages per collective on rank 0 and 2 on every other rank.
/// Notes are point-to-point on their own communicator, so they never match the collectives'
/// traffic or FFTW-MPI's. Only the main thread uses a ledger (MPI is initialised FUNNELED).
final class ArrivalLedger {
    /// The private duplicate the notes travel on.
    let notes: MPI_Comm
    let rank: Int
    let size: Int
    /// `MPI_COMM_WORLD` rank of each rank of the communicator.
    let worldRanks: [Int]
    /// Rank 0: every other rank. Other ranks: rank 0.
    let peers: [Int]
    /// Collectives this rank has entered on the communicator.
    private(set) var sequence: Int64 = 0
    /// The latest collective number each peer has announced, and when this rank heard it.
    private(set) var heard: [Int64]
    private(set) var heardAt: [ContinuousClock.Instant]
    /// One receive posted per peer at all times, into `inbox[i]`.
    private let inbox: UnsafeMutablePointer<Int64>
    private var receives: [MPI_Request?]
    /// Sends still in flight and the buffers they read.
    private var sends: [(buffer: UnsafeMutablePointer<Int64>, requests: [MPI_Request?])] = []
    private var closed = false
    static let tag: Int32 = 0x5AE

    init(communicator: MPI_Comm, rank: Int, size: Int) throws {
        var duplicate: MPI_Comm? = nil
        try check(MPI_Comm_dup(communicator, &duplicate), "MPI_Comm_dup(arrival notes)", rank: rank)
        guard let duplicate else { throw MPIError(call: "MPI_Comm_dup returned no communicator", code: -1, rank: rank) }
        MPI_Comm_set_errhandler(duplicate, pv_mpi_errors_return())
        notes = duplicate
        self.rank = rank
        self.size = size
        worldRanks = ArrivalLedger.worldRanks(of: communicator, size: size)
        peers = rank == 0 ? Array(1..<size) : [0]
        heard = Array(repeating: 0, count: peers.count)
        heardAt = Array(repeating: .now, count: peers.count)
        inbox = .allocate(capacity: peers.count)
        inbox.initialize(repeating: 0, count: peers.count)
        receives = Array(repeating: pv_mpi_request_null(), count: peers.count)
        for index in peers.indices { try post(index) }
        ArrivalLedger.open.withLock { $0.append(UInt(bitPattern: Unmanaged.passUnretained(self).toOpaque())) }
    }

    deinit {
        close()
        inbox.deallocate()
    }

    static func worldRanks(of communicator: MPI_Comm, size: Int) -> [Int] {
        var group: MPI_Group? = nil, worldGroup: MPI_Group? = nil
        MPI_Comm_group(communicator, &group)
        MPI_Comm_group(pv_mpi_comm_world(), &worldGroup)
        var local = (0..<Int32(size)).map { $0 }
        var world = [Int32](repeating: -1, count: size)
        MPI_Group_translate_ranks(group, Int32(size), &local, worldGroup, &world)
        MPI_Group_free(&group)
        MPI_Group_free(&worldGroup)
        return world.enumerated().map { $0.element >= 0 ? Int($0.element) : $0.offset }
    }

    private func post(_ index: Int) throws {
        try check(MPI_Irecv(inbox + index, 1, pv_mpi_int64(), Int32(peers[index]), ArrivalLedger.tag, notes,
                            &receives[index]), "MPI_Irecv(arrival note)", rank: rank, timed: false)
    }

    /// Enters the next collective: numbers it and tells the peers. Returns its number.
    func arrive() throws -> Int64 {
        sequence += 1
        try reapSends()
        let buffer = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        buffer.initialize(to: sequence)
        var requests = [MPI_Request?](repeating: pv_mpi_request_null(), count: peers.count)
        for (index, peer) in peers.enumerated() {
            try check(MPI_Isend(buffer, 1, pv_mpi_int64(), Int32(peer), ArrivalLedger.tag, notes, &requests[index]),
                      "MPI_Isend(arrival note)", rank: rank, timed: false)
        }
        sends.append((buffer, requests))
        return sequence
    }

    /// Reads every note that has come in and posts the next receive for it.
    func drain() throws {
        for index in peers.indices {
            while true {
                var flag: Int32 = 0
                try check(MPI_Test(&receives[index], &flag, pv_mpi_status_ignore()), "MPI_Test(arrival note)",
                          rank: rank, timed: false)
                guard flag != 0 else { break }
                heard[index] = inbox[index]
                heardAt[index] = .now
                try post(index)
            }
        }
    }

    /// Frees the buffers of sends that have completed (in practice at once: notes are small).
    private func reapSends() throws {
        var kept: [(buffer: UnsafeMutablePointer<Int64>, requests: [MPI_Request?])] = []
        for var entry in sends {
            var flag: Int32 = 0
            try check(MPI_Testall(Int32(entry.requests.count), &entry.requests, &flag, nil),
                      "MPI_Testall(arrival notes)", rank: rank, timed: false)
            if flag != 0 { entry.buffer.deallocate() } else { kept.append(entry) }
        }
        sends = kept
    }

    /// The world ranks that have not announced collective `number` (rank 0 knows them all;
    /// another rank knows only whether rank 0 has), each with the last number it announced.
    func missing(_ number: Int64) -> [(worldRank: Int, last: Int64)] {
        peers.indices.filter { heard[$0] < number }.map { (worldRanks[peers[$0]], heard[$0]) }
    }

    /// When rank 0's note for collective `number` arrived here (another rank only).
    func coordinatorArrival(_ number: Int64) -> ContinuousClock.Instant? {
        rank != 0 && heard[0] >= number ? heardAt[0] : nil
    }

    /// Cancels the posted receives and lets the sends finish on their own; before the
    /// communicator is freed or MPI finalised.
    func close() {
        guard !closed else { return }
        closed = true
        let me = UInt(bitPattern: Unmanaged.passUnretained(self).toOpaque())
        ArrivalLedger.open.withLock { $0.removeAll { $0 == me } }
        guard MPIRuntime.isActive else { return }
        for index in receives.indices where receives[index] != pv_mpi_request_null() {
            MPI_Cancel(&receives[index])
            MPI_Wait(&receives[index], pv_mpi_status_ignore())
        }
        for var entry in sends {
            for index in entry.requests.indices where entry.requests[index] != pv_mpi_request_null() {
                MPI_Request_free(&entry.requests[index])
            }
        }
        sends.removeAll()  // their buffers stay: MPI may still read them
        var comm: MPI_Comm? = notes
        MPI_Comm_free(&comm)
    }

    /// Ledgers not yet closed, for `MPIRuntime.finalize`.
    static let open = Mutex<[UInt]>([])

    static func closeAll() {
        let ledgers = open.withLock { $0 }
        for address in ledgers {
            guard let pointer = UnsafeRawPointer(bitPattern: address) else { continue }
            Unmanaged<ArrivalLedger>.fromOpaque(pointer).takeUnretainedValue().close()
        }
    }

    // MARK: - Waiting

    /// Polls `request` (collective number `number`, described by `call`) to completion,
    /// reading notes while it waits; warns and aborts per the watchdog's times, naming the
    /// ranks that never arrived.
    func wait(_ request: inout MPI_Request?, call: () -> String, number: Int64) throws {
        let started = ContinuousClock.now
        var warned = false, polls = 0
        let times = CollectiveWatchdog.times()
        while true {
            var flag: Int32 = 0
            try check(MPI_Test(&request, &flag, pv_mpi_status_ignore()), call(), rank: rank, timed: false)
            if flag != 0 {
                if warned { CollectiveWatchdog.report("\(call()) completed after \(CollectiveWatchdog.describe(.now - started))") }
                return
            }
            polls += 1
            // Spin briefly (small collectives finish in microseconds), then yield the core.
            if polls < 256 { continue }
            sched_yield()
            guard polls % 64 == 0 else { continue }
            try drain()
            let waited = ContinuousClock.now - started
            if times.abort > .zero && waited >= times.abort, let verdict = abortVerdict(number, waited: waited, times: times) {
                MPIRuntime.abort("\(call())\(times.doing) \(verdict)", code: 6)
            }
            if times.warning > .zero && waited >= times.warning && !warned {
                warned = true
                CollectiveWatchdog.report("warning: \(call())\(times.doing) has waited \(CollectiveWatchdog.describe(waited)) "
                                          + "(parallel.stall_warning_seconds: \(CollectiveWatchdog.describe(times.warning))); "
                                          + waitingFor(number))
            }
        }
    }

    /// "waiting for rank 1 (still at collective 10 of this communicator; this is 11)".
    func waitingFor(_ number: Int64) -> String {
        let missing = missing(number)
        if missing.isEmpty {
            return rank == 0 ? "every rank has arrived; MPI has not completed the call"
                : "rank 0 has arrived; waiting for another rank (rank 0 names it)"
        }
        return "waiting for " + Self.describe(missing, number: number)
    }

    static func describe(_ missing: [(worldRank: Int, last: Int64)], number: Int64) -> String {
        let names = missing.prefix(16).map { "rank \($0.worldRank) (still at collective \($0.last))" }
        let more = missing.count > 16 ? " and \(missing.count - 16) more" : ""
        return names.joined(separator: ", ") + more + "; this is collective \(number) of this communicator"
    }

    /// The abort message, or nil to keep waiting: another rank whose rank 0 has arrived gives
    /// rank 0 a grace period to name the missing rank first.
    func abortVerdict(_ number: Int64, waited: Duration, times: CollectiveWatchdog.Times) -> String? {
        let limit = "aborting the job (parallel.stall_abort_seconds: \(CollectiveWatchdog.describe(times.abort)))"
        let missing = missing(number)
        let waitedText = "has waited \(CollectiveWatchdog.describe(waited))"
        if !missing.isEmpty {
            return "\(waitedText); never arrived: \(Self.describe(missing, number: number)); \(limit)"
        }
        if rank == 0 { return "\(waitedText); every rank arrived but MPI has not completed the call; \(limit)" }
        if let arrival = coordinatorArrival(number), ContinuousClock.now - arrival < times.abort + .seconds(2) {
            return nil
        }
        return "\(waitedText); rank 0 arrived but has not named the missing rank; \(limit)"
    }
}
