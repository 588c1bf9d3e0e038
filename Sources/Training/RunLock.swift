#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// One training job per run folder: rank 0 holds `RUN/.lock` while it trains. Two jobs on one
/// folder would prune and overwrite each other's checkpoints and interleave metrics.jsonl.
///
/// The lock is a file made with `O_CREAT | O_EXCL` (atomic on local file systems and on NFS
/// v3 and later), holding the holder's host, pid and start time; a thread touches it every
/// `heartbeatSeconds` while the job lives. A lock is stale — and taken over, with a message —
/// when its holder's host is this one and the pid is gone, or when it has not been touched for
/// `staleSeconds` (a job on another host that died). It is removed when the process exits.
public enum RunLock {
    public static let fileName = ".lock"
    static let heartbeatSeconds: UInt32 = 20
    public static let staleSeconds: Double = 120

    /// The run folder's lock, taken; throws `RunLockError` while another live job holds it.
    /// Returns a note when a stale lock was taken over.
    @discardableResult
    public static func acquire(run: String) throws -> String? {
        do {
            try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        } catch {
            // A folder that cannot be made (a file in the path, a read-only or virtual file
            // system) is a bad output.directory: a configuration error, not Foundation's raw text.
            throw RunLockError("output.directory \(run): cannot create the run folder: \(error.localizedDescription)")
        }
        let path = "\(run)/\(fileName)"
        let host = ProcessInfo.processInfo.hostName, pid = getpid()
        let content = "{\"host\": \"\(host)\", \"pid\": \(pid), \"started\": \"\(ISO8601DateFormatter().string(from: Date()))\"}\n"
        var note: String?
        for _ in 0..<3 {
            let descriptor = open(path, O_CREAT | O_EXCL | O_WRONLY, 0o644)
            if descriptor >= 0 {
                _ = content.withCString { write(descriptor, $0, strlen($0)) }
                fsync(descriptor)
                close(descriptor)
                hold(path)
                return note
            }
            guard errno == EEXIST else { throw RunLockError("\(path): cannot create the lock: \(String(cString: strerror(errno)))") }
            let holder = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            guard let reason = staleness(of: path, holder: holder, host: host) else {
                throw RunLockError("\(run) is in use by another training job (\(path): \(holder.trimmingCharacters(in: .whitespacesAndNewlines))). "
                                   + "Two jobs on one run folder overwrite each other's checkpoints: stop that job or use another "
                                   + "output.directory. A lock left by a job that died is taken over at once on its own host, "
                                   + "after \(Int(staleSeconds)) s without a heartbeat elsewhere")
            }
            // Move the stale lock aside (one taker wins the rename), check it is the one judged.
            let aside = "\(path).stale-\(pid)"
            if rename(path, aside) == 0 {
                let moved = (try? String(contentsOfFile: aside, encoding: .utf8)) ?? ""
                if moved != holder {
                    _ = rename(aside, path)  // someone else's fresh lock: put it back
                    continue
                }
                unlink(aside)
                note = "took over a stale lock (\(reason)): \(holder.trimmingCharacters(in: .whitespacesAndNewlines))"
            }
        }
        throw RunLockError("\(path): could not take the lock (other jobs are starting on this run folder)")
    }

    /// Whether process `pid` of this host has ended: gone, or a zombie its parent has not yet
    /// reaped (a rank that just exited, before its mpirun daemon collects it — seen on the
    /// multi-host rig when a job is restarted the moment the last one ended).
    static func hasExited(_ pid: pid_t) -> Bool {
        if kill(pid, 0) != 0 && errno == ESRCH { return true }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        // "pid (comm) S …": the state follows the command name's closing parenthesis.
        let state = stat[stat.index(after: close)...].drop { $0 == " " }.first
        return state == "Z" || state == "X"
    }

    /// Why the lock at `path` is stale, or nil while its holder lives.
    static func staleness(of path: String, holder: String, host: String) -> String? {
        let fields = (try? JSONSerialization.jsonObject(with: Data(holder.utf8))) as? [String: Any]
        if let holderHost = fields?["host"] as? String, holderHost == host, let pid = fields?["pid"] as? Int {
            return hasExited(pid_t(pid)) ? "pid \(pid) on this host has exited" : nil
        }
        guard let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date else {
            return "unreadable lock"
        }
        let age = Date().timeIntervalSince(modified)
        return age > staleSeconds ? "no heartbeat for \(Int(age)) s" : nil
    }

    nonisolated(unsafe) static var heldPath: [CChar] = []

    /// Heartbeat while the process lives; removal when it exits.
    static func hold(_ path: String) {
        heldPath = Array(path.utf8CString)
        atexit {
            RunLock.heldPath.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        }
        let thread = Thread {
            while true {
                sleep(RunLock.heartbeatSeconds)
                RunLock.heldPath.withUnsafeBufferPointer { _ = utimes($0.baseAddress!, nil) }
            }
        }
        thread.name = "run lock heartbeat"
        thread.start()
    }
}

/// Another live job holds the run folder.
public struct RunLockError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
