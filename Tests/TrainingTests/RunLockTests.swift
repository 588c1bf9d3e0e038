import Foundation
@testable import Training
import XCTest

/// A run lock's holder counts as gone once it has exited, even before its parent reaps it.
final class RunLockTests: XCTestCase {
    func testAZombieHolderHasExited() throws {
        XCTAssertFalse(RunLock.hasExited(getpid()), "this process lives")
        var pid: pid_t = 0
        let program = strdup("/bin/true")
        defer { free(program) }
        var arguments: [UnsafeMutablePointer<CChar>?] = [program, nil]
        XCTAssertEqual(posix_spawn(&pid, "/bin/true", nil, nil, &arguments, environ), 0)
        // Not reaped yet: a zombie once it has run.
        let deadline = Date().addingTimeInterval(10)
        while !RunLock.hasExited(pid) && Date() < deadline { usleep(10_000) }
        XCTAssertTrue(RunLock.hasExited(pid), "an exited, unreaped child is a zombie: it holds no lock")
        var status: Int32 = 0
        XCTAssertEqual(waitpid(pid, &status, 0), pid)
        XCTAssertTrue(RunLock.hasExited(pid), "and once reaped it is gone")
    }
}
