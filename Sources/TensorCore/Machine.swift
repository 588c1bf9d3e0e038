import Foundation


/// What this process may run on: the CPU's name for reports, and how many cores it may use —
/// the CPUs of its affinity mask (set by `taskset`, SLURM's cpusets, mpirun's `--bind-to`),
/// capped by a cgroup CPU quota (`docker --cpus`, Kubernetes limits). `activeProcessorCount`
/// sees none of these: it counts every online CPU of the node.
public enum Machine {
    /// "AMD EPYC 9B45 (family 26, model 2)": `/proc/cpuinfo`'s model name, with family and model
    /// numbers when the name alone does not tell the generation; the architecture elsewhere.
    public static let cpuModel: String = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return architecture }
        return describeCPU(cpuinfo: text) ?? architecture
    }()

    /// `describeCPU` reads the first processor's fields of a `/proc/cpuinfo` text.
    public static func describeCPU(cpuinfo: String) -> String? {
        var fields: [String: String] = [:]
        for line in cpuinfo.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty { if !fields.isEmpty { break } else { continue } }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            if fields[key] == nil { fields[key] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        guard let name = fields["model name"] ?? fields["Model"] ?? fields["uarch"] else { return nil }
        let squeezed = name.split(separator: " ").joined(separator: " ")
        if let family = fields["cpu family"], let model = fields["model"] {
            return "\(squeezed) (family \(family), model \(model))"
        }
        return squeezed
    }

    static var architecture: String {
        var names = utsname()
        uname(&names)
        return withUnsafeBytes(of: &names.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// The CPU numbers this process may run on (its affinity mask, `Cpus_allowed_list` of
    /// `/proc/self/status`); every configured CPU when that cannot be read.
    public static func affinity() -> [Int] {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }),
           let cpus = parseCPUList(String(line.dropFirst("Cpus_allowed_list:".count))), !cpus.isEmpty {
            return cpus
        }
        return Array(0..<max(1, ProcessInfo.processInfo.processorCount))
    }

    /// "0-3,8" → [0, 1, 2, 3, 8]; nil when the text is not such a list.
    public static func parseCPUList(_ text: String) -> [Int]? {
        var cpus: [Int] = []
        for part in text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",") {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            switch bounds.count {
            case 1: guard let cpu = bounds[0] else { return nil }; cpus.append(cpu)
            case 2: guard let low = bounds[0], let high = bounds[1], low <= high else { return nil }; cpus += Array(low...high)
            default: return nil
            }
        }
        return cpus
    }

    /// "0-3,8": CPU numbers as ranges, as `taskset` and `/proc/self/status` write them.
    public static func cpuList(_ cpus: [Int]) -> String {
        var parts: [String] = []
        var index = 0
        let sorted = cpus.sorted()
        while index < sorted.count {
            var end = index
            while end + 1 < sorted.count && sorted[end + 1] == sorted[end] + 1 { end += 1 }
            parts.append(end == index ? "\(sorted[index])" : "\(sorted[index])-\(sorted[end])")
            index = end + 1
        }
        return parts.joined(separator: ",")
    }

    /// Cores this process may use: its affinity mask's CPUs, capped by the cgroup's CPU quota
    /// (rounded up, as Go's and .NET's runtimes do), at least 1.
    public static func usableCores() -> Int {
        let cpus = affinity().count
        guard let quota = cgroupQuota() else { return max(1, cpus) }
        return max(1, min(cpus, Int(quota.rounded(.up))))
    }

    /// The cgroup CPU quota in cores of this process's cgroup and its ancestors (the smallest;
    /// cgroup v2 `cpu.max`, else v1 `cpu.cfs_quota_us` over `cpu.cfs_period_us`); nil when none.
    public static func cgroupQuota() -> Double? {
        let membership = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? ""
        var quotas: [Double] = []
        for (directory, version) in cgroupDirectories(membership: membership) {
            let quota: Double?
            if version == 2 {
                quota = (try? String(contentsOfFile: "\(directory)/cpu.max", encoding: .utf8)).flatMap(parseCPUMax)
            } else {
                let q = try? String(contentsOfFile: "\(directory)/cpu.cfs_quota_us", encoding: .utf8)
                let p = try? String(contentsOfFile: "\(directory)/cpu.cfs_period_us", encoding: .utf8)
                quota = q.flatMap { q in p.flatMap { parseCFS(quota: q, period: $0) } }
            }
            if let quota { quotas.append(quota) }
        }
        return quotas.min()
    }

    /// The folders that may hold this process's CPU quota: its cgroup's folder under
    /// /sys/fs/cgroup (as `/proc/self/cgroup` names it) and each ancestor up to the mount.
    static func cgroupDirectories(membership: String) -> [(String, Int)] {
        var found: [(String, Int)] = []
        func addLineage(mount: String, path: Substring, version: Int) {
            var parts = path.split(separator: "/").map(String.init)
            while true {
                found.append((([mount] + parts).joined(separator: "/"), version))
                if parts.isEmpty { break }
                parts.removeLast()
            }
        }
        for line in membership.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            if parts[0] == "0" && parts[1].isEmpty {
                addLineage(mount: "/sys/fs/cgroup", path: parts[2], version: 2)
            } else if parts[1].split(separator: ",").contains("cpu") {
                addLineage(mount: "/sys/fs/cgroup/cpu,cpuacct", path: parts[2], version: 1)
                addLineage(mount: "/sys/fs/cgroup/cpu", path: parts[2], version: 1)
            }
        }
        return found.filter { FileManager.default.fileExists(atPath: $0.0) }
    }

    /// cgroup v2 `cpu.max`: "max 100000" (no quota) or "150000 100000" (1.5 cores).
    public static func parseCPUMax(_ text: String) -> Double? {
        let fields = text.split(whereSeparator: \.isWhitespace)
        guard fields.count == 2, fields[0] != "max", let quota = Double(fields[0]), let period = Double(fields[1]),
              quota > 0, period > 0 else { return nil }
        return quota / period
    }

    /// cgroup v1: a quota of -1 means none.
    public static func parseCFS(quota: String, period: String) -> Double? {
        guard let q = Double(quota.trimmingCharacters(in: .whitespacesAndNewlines)),
              let p = Double(period.trimmingCharacters(in: .whitespacesAndNewlines)), q > 0, p > 0 else { return nil }
        return q / p
    }

    /// A rank's fair share of its cores when several ranks of one node may run on the same
    /// CPUs: each of its CPUs counts 1 / (the ranks whose masks hold it). `ranksPerCPU[c]` is how
    /// many of the node's ranks may run on CPU c. Ranks bound to their own cores keep them all;
    /// ranks that share one mask (`--bind-to none`, a SLURM job's cpuset) split it evenly.
    public static func fairShare(of cpus: [Int], ranksPerCPU: [Int]) -> Int {
        let share = cpus.reduce(0.0) { sum, cpu in
            sum + 1.0 / Double(max(1, cpu < ranksPerCPU.count ? ranksPerCPU[cpu] : 1))
        }
        return max(1, Int((share + 1e-9).rounded(.down)))
    }
}

/// Ends the process with `code` after printing `message` as a Parseval error: for the failures
/// of native libraries (FFTW, MPI, allocation) deep in code that cannot throw, where a trap
/// would print a stack instead of the cause. The codes are the CLI's (`parseval train --help`).
public func exitWithMessage(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data("parseval: error: \(message)\n".utf8))
    exit(code)
}
