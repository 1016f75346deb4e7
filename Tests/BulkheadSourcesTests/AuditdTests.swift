import BulkheadEvent
import Foundation
import Testing
@testable import BulkheadSources

@Suite("auditd")
struct AuditdTests {
    let format = AuditdFormat()

    func run() throws -> TextRun { try FixtureFiles.decode(format, "auditd", "audit.log") }

    func event(_ run: TextRun, serial: String) throws -> DecodedRecord {
        try #require(run.records.first { $0.value("serial") == serial }, "no event with serial \(serial)")
    }

    @Test func mappingKinds() {
        #expect(format.mapping.id == "auditd")
        #expect(format.mapping.kinds.map { $0.logsource.category } == [nil, "process_creation", "network_connection"])
        #expect(format.mapping.kinds.allSatisfy { $0.logsource.product == "linux" && $0.logsource.service == "auditd" })
    }

    @Test func assemblesEventsAndReportsBadLines() throws {
        let r = try run()
        #expect(r.records.count == 8)
        #expect(r.records.allSatisfy { $0.isValidJSON })
        #expect(r.errors.map { $0.line } == [12, 13])
        // Each serial once.
        #expect(Set(r.records.compactMap { $0.value("serial") }).count == r.records.count)
    }

    @Test func execveRaw() throws {
        let e = try event(try run(), serial: "92733")
        #expect(e.kind == 1)
        #expect(e.position == 1)
        #expect(e.values("type") == ["SYSCALL", "EXECVE", "CWD", "PATH", "PROCTITLE"])
        #expect(e.value("syscall") == "execve")
        #expect(e.value("a0") == "arp")
        #expect(e.value("a1") == "-a")
        #expect(e.value("argc") == "2")
        #expect(e.values("name") == ["/usr/sbin/arp", "/lib64/ld-linux-x86-64.so.2"])
        #expect(e.values("nametype") == ["NORMAL", "NORMAL"])
        #expect(e.value("proctitle") == "arp -a")
        #expect(e.value("Image") == "/usr/sbin/arp")
        #expect(e.value("CommandLine") == "arp -a")
        #expect(e.value("User") == "1000")
        #expect(e.value("ProcessId") == "1631")
        #expect(e.value("ParentProcessId") == "29002")
        #expect(e.value("CurrentDirectory") == "/home/wardog")
        #expect(e.value("key") == nil)
        #expect(e.value("@timestamp") == "2025-11-23T12:13:20.155Z")
        #expect(e.value("entity.user") == "1000")
    }

    @Test func hexArgumentsAndSplitArgs() throws {
        let e = try event(try run(), serial: "92734")
        #expect(e.kind == 1)
        #expect(e.value("a2") == "echo \"hello world\" > /tmp/x")
        #expect(e.value("a3") == "abcdefghij")
        #expect(e.value("CommandLine") == "sh -c echo \"hello world\" > /tmp/x abcdefghij")
        #expect(e.value("cwd") == "/tmp/dir with space")
        #expect(e.values("name") == ["/tmp/evil bin"])
        #expect(e.value("key") == "exec_watch")
        #expect(!e.values("type").contains("EOE"))
        #expect(e.value("exe") == "/usr/bin/dash")
    }

    @Test func enrichedConnect() throws {
        let e = try event(try run(), serial: "800")
        #expect(e.kind == 2)
        #expect(e.value("syscall") == "connect")
        #expect(e.value("SYSCALL") == "connect")
        #expect(e.value("UID") == "www-data")
        #expect(e.value("euid") == "33")
        #expect(e.value("DestinationIp") == "192.168.1.10")
        #expect(e.value("DestinationPort") == "443")
        #expect(e.value("saddr_fam") == "inet")
        #expect(e.value("Initiated") == "true")
        #expect(e.value("proctitle") == "curl https://192.168.1.10")
        #expect(e.value("CommandLine") == "curl https://192.168.1.10")
        #expect(e.value("a0") == "3") // register argument when there is no EXECVE
        #expect(e.value("entity.user") == "www-data")
        #expect(e.value("key") == "net_connect")
    }

    @Test func interleavedSerialAndUnknownFields() throws {
        let e = try event(try run(), serial: "801")
        #expect(e.kind == 0)
        #expect(e.value("syscall") == "memfd_create")
        #expect(e.value("SYSCALL") == "memfd_create") // as ENRICHED logs and SigmaHQ rules name it
        #expect(e.value("brand_new_field") == "surprise")
        #expect(e.value("exe")?.hasSuffix("/ecasound") == true)
    }

    @Test func syslogWrappedAndNode() throws {
        let e = try event(try run(), serial: "900")
        #expect(e.value("syscall") == "openat")
        #expect(e.values("name").contains("/etc/ld.so.preload"))
        #expect(e.value("node") == "node-a")
        #expect(e.value("entity.node") == "node-a")
        #expect(e.values("type") == ["SYSCALL", "PATH"])
    }

    @Test func userSpaceRecordWithNestedMsg() throws {
        let e = try event(try run(), serial: "950")
        #expect(e.values("type") == ["SERVICE_STOP"])
        #expect(e.value("unit") == "firewalld")
        #expect(e.value("res") == "success")
        #expect(e.value("exe") == "/usr/lib/systemd/systemd")
        #expect(e.value("subj") == "system_u:system_r:init_t:s0")
    }

    @Test func ipv6Connect() throws {
        let e = try event(try run(), serial: "960")
        #expect(e.kind == 2)
        #expect(e.value("DestinationIp") == "2001:db8::1")
        #expect(e.value("DestinationPort") == "8080")
        #expect(e.value("saddr_fam") == "inet6")
        #expect(e.value("entity.node") == "node-b")
    }

    @Test func pendingEventFlushedAtFinish() throws {
        let e = try event(try run(), serial: "970")
        #expect(e.value("syscall") == "ptrace")
        #expect(e.value("key") == "ptrace")
    }

    @Test func staleEventsFlushWithoutEOE() {
        var lines: [String] = []
        for i in 0..<300 {
            lines.append("type=USER_CMD msg=audit(1763900100.000:\(1000 + i)): pid=1 uid=0 auid=0 ses=1 msg='cwd=\"/\" cmd=6964 terminal=pts/0 res=success'")
        }
        let r = FixtureFiles.decode(format, lines: lines)
        #expect(r.records.count == 300)
        #expect(r.errors.isEmpty)
        #expect(r.records.first?.value("cmd") == "id")
        #expect(r.records.map { $0.position } == Array(1...300))
    }

    @Test func sniff() throws {
        #expect(format.sniff(try FixtureFiles.head("auditd", "audit.log")))
        #expect(!format.sniff(["#separator \\x09", "#set_separator\t,"]))
        #expect(!format.sniff(["2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1 2 ACCEPT OK"]))
        #expect(!format.sniff(["{\"type\":\"x\"}"]))
        #expect(!format.sniff(["{\"message\":\"type=SYSCALL msg=audit(1604994496.155:92733): arch=c000003e\"}"]))
    }

    @Test func syscallTable() {
        let expected: [Int: String] = [59: "execve", 322: "execveat", 101: "ptrace", 310: "process_vm_readv", 311: "process_vm_writev",
                                       175: "init_module", 313: "finit_module", 176: "delete_module", 165: "mount", 166: "umount2",
                                       308: "setns", 272: "unshare", 42: "connect", 43: "accept", 288: "accept4", 49: "bind",
                                       2: "open", 257: "openat", 87: "unlink", 263: "unlinkat", 82: "rename", 90: "chmod",
                                       268: "fchmodat", 62: "kill", 319: "memfd_create", 321: "bpf", 56: "clone", 435: "clone3",
                                       41: "socket", 44: "sendto", 1: "write", 76: "truncate", 135: "personality", 250: "keyctl"]
        for (n, name) in expected { #expect(LinuxSyscalls.name(String(n), arch: "c000003e") == name) }
        #expect(LinuxSyscalls.name("59", arch: "c00000b7") == nil)
    }
}

@Suite struct AuditdFailedExecTests {
    @Test func failedExecveDuringPathSearchIsNotAProcessCreation() {
        let log = """
        type=SYSCALL msg=audit(1763900000.100:700): arch=c000003e syscall=59 success=no exit=-2 a0=55d1 a1=55d2 a2=55d3 a3=0 items=1 ppid=10 pid=11 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 comm="nsenter" exe="/usr/bin/nsenter" key="exec"
        type=PATH msg=audit(1763900000.100:700): item=0 name="/usr/local/sbin/hostname" nametype=UNKNOWN
        type=EOE msg=audit(1763900000.100:700):
        type=SYSCALL msg=audit(1763900000.200:701): arch=c000003e syscall=59 success=yes exit=0 a0=55d1 a1=55d2 a2=55d3 a3=0 items=2 ppid=10 pid=11 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 comm="hostname" exe="/usr/bin/hostname" key="exec"
        type=EXECVE msg=audit(1763900000.200:701): argc=1 a0="hostname"
        type=EOE msg=audit(1763900000.200:701):
        """
        var decoder = AuditdFormat().makeDecoder()
        var kinds: [Int] = []
        for (i, line) in log.split(separator: "\n").enumerated() {
            let bytes = Array(line.utf8)
            _ = bytes.withUnsafeBufferPointer { decoder.feed($0, lineNumber: i + 1) { _, kind, _ in kinds.append(kind) } }
        }
        decoder.finish { _, kind, _ in kinds.append(kind) }
        #expect(kinds == [0, 1])
    }
}
