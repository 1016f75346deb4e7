import BulkheadEvent

/// Linux audit logs as auditd writes them (`log_format = RAW` or `ENRICHED`), also behind
/// syslog headers (`... audispd: node=h type=...`). Records of one event (same serial in
/// `msg=audit(ts:serial)`) are assembled into one JSON object.
public struct AuditdFormat: TextFormat {
    public let mapping = SourceMapping.load("auditd")
    public init() {}

    public func sniff(_ firstLines: [String]) -> Bool {
        var hits = 0
        for line in firstLines where !line.isEmpty {
            if line.hasPrefix("{") || line.hasPrefix("[") { return false } // JSON (e.g. auditd inside syslog JSON)
            if line.contains("type=") && line.contains("msg=audit(") { hits += 1 } else if hits == 0 { return false }
        }
        return hits > 0
    }

    public func makeDecoder() -> any TextDecoder { AuditdDecoder() }
}

/// x86_64 syscall names by number (from asm/unistd_64.h).
enum LinuxSyscalls {
    static let x86_64: [String] = [
        "read", "write", "open", "close", "stat", "fstat", "lstat", "poll",
        "lseek", "mmap", "mprotect", "munmap", "brk", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
        "ioctl", "pread64", "pwrite64", "readv", "writev", "access", "pipe", "select",
        "sched_yield", "mremap", "msync", "mincore", "madvise", "shmget", "shmat", "shmctl",
        "dup", "dup2", "pause", "nanosleep", "getitimer", "alarm", "setitimer", "getpid",
        "sendfile", "socket", "connect", "accept", "sendto", "recvfrom", "sendmsg", "recvmsg",
        "shutdown", "bind", "listen", "getsockname", "getpeername", "socketpair", "setsockopt", "getsockopt",
        "clone", "fork", "vfork", "execve", "exit", "wait4", "kill", "uname",
        "semget", "semop", "semctl", "shmdt", "msgget", "msgsnd", "msgrcv", "msgctl",
        "fcntl", "flock", "fsync", "fdatasync", "truncate", "ftruncate", "getdents", "getcwd",
        "chdir", "fchdir", "rename", "mkdir", "rmdir", "creat", "link", "unlink",
        "symlink", "readlink", "chmod", "fchmod", "chown", "fchown", "lchown", "umask",
        "gettimeofday", "getrlimit", "getrusage", "sysinfo", "times", "ptrace", "getuid", "syslog",
        "getgid", "setuid", "setgid", "geteuid", "getegid", "setpgid", "getppid", "getpgrp",
        "setsid", "setreuid", "setregid", "getgroups", "setgroups", "setresuid", "getresuid", "setresgid",
        "getresgid", "getpgid", "setfsuid", "setfsgid", "getsid", "capget", "capset", "rt_sigpending",
        "rt_sigtimedwait", "rt_sigqueueinfo", "rt_sigsuspend", "sigaltstack", "utime", "mknod", "uselib", "personality",
        "ustat", "statfs", "fstatfs", "sysfs", "getpriority", "setpriority", "sched_setparam", "sched_getparam",
        "sched_setscheduler", "sched_getscheduler", "sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval", "mlock", "munlock", "mlockall",
        "munlockall", "vhangup", "modify_ldt", "pivot_root", "_sysctl", "prctl", "arch_prctl", "adjtimex",
        "setrlimit", "chroot", "sync", "acct", "settimeofday", "mount", "umount2", "swapon",
        "swapoff", "reboot", "sethostname", "setdomainname", "iopl", "ioperm", "create_module", "init_module",
        "delete_module", "get_kernel_syms", "query_module", "quotactl", "nfsservctl", "getpmsg", "putpmsg", "afs_syscall",
        "tuxcall", "security", "gettid", "readahead", "setxattr", "lsetxattr", "fsetxattr", "getxattr",
        "lgetxattr", "fgetxattr", "listxattr", "llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr",
        "tkill", "time", "futex", "sched_setaffinity", "sched_getaffinity", "set_thread_area", "io_setup", "io_destroy",
        "io_getevents", "io_submit", "io_cancel", "get_thread_area", "lookup_dcookie", "epoll_create", "epoll_ctl_old", "epoll_wait_old",
        "remap_file_pages", "getdents64", "set_tid_address", "restart_syscall", "semtimedop", "fadvise64", "timer_create", "timer_settime",
        "timer_gettime", "timer_getoverrun", "timer_delete", "clock_settime", "clock_gettime", "clock_getres", "clock_nanosleep", "exit_group",
        "epoll_wait", "epoll_ctl", "tgkill", "utimes", "vserver", "mbind", "set_mempolicy", "get_mempolicy",
        "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr", "kexec_load", "waitid",
        "add_key", "request_key", "keyctl", "ioprio_set", "ioprio_get", "inotify_init", "inotify_add_watch", "inotify_rm_watch",
        "migrate_pages", "openat", "mkdirat", "mknodat", "fchownat", "futimesat", "newfstatat", "unlinkat",
        "renameat", "linkat", "symlinkat", "readlinkat", "fchmodat", "faccessat", "pselect6", "ppoll",
        "unshare", "set_robust_list", "get_robust_list", "splice", "tee", "sync_file_range", "vmsplice", "move_pages",
        "utimensat", "epoll_pwait", "signalfd", "timerfd_create", "eventfd", "fallocate", "timerfd_settime", "timerfd_gettime",
        "accept4", "signalfd4", "eventfd2", "epoll_create1", "dup3", "pipe2", "inotify_init1", "preadv",
        "pwritev", "rt_tgsigqueueinfo", "perf_event_open", "recvmmsg", "fanotify_init", "fanotify_mark", "prlimit64", "name_to_handle_at",
        "open_by_handle_at", "clock_adjtime", "syncfs", "sendmmsg", "setns", "getcpu", "process_vm_readv", "process_vm_writev",
        "kcmp", "finit_module", "sched_setattr", "sched_getattr", "renameat2", "seccomp", "getrandom", "memfd_create",
        "kexec_file_load", "bpf", "execveat", "userfaultfd", "membarrier", "mlock2", "copy_file_range", "preadv2",
        "pwritev2", "pkey_mprotect", "pkey_alloc", "pkey_free", "statx", "io_pgetevents", "rseq", "",
        "", "", "", "", "", "", "", "",
        "", "", "", "", "", "", "", "",
        "", "", "", "", "", "", "", "",
        "", "", "", "", "", "", "", "",
        "", "", "", "", "", "", "", "",
        "", "", "", "", "", "", "", "",
        "", "", "", "", "", "", "", "",
        "", "", "", "", "", "", "", "",
        "", "", "", "", "", "", "", "",
        "", "", "", "", "", "", "", "",
        "", "", "", "", "", "", "", "",
        "pidfd_send_signal", "io_uring_setup", "io_uring_enter", "io_uring_register", "open_tree", "move_mount", "fsopen", "fsconfig",
        "fsmount", "fspick", "pidfd_open", "clone3", "close_range", "openat2", "pidfd_getfd", "faccessat2",
        "process_madvise", "epoll_pwait2", "mount_setattr", "quotactl_fd", "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self", "memfd_secret",
        "process_mrelease", "futex_waitv", "set_mempolicy_home_node",
    ]

    static func name(_ number: String, arch: String?) -> String? {
        guard arch == nil || arch == "c000003e" || arch == "x86_64" else { return nil }
        guard let n = Int(number), n >= 0, n < x86_64.count, !x86_64[n].isEmpty else { return nil }
        return x86_64[n]
    }
}

struct AuditKV {
    var key: String
    var value: [UInt8]
    var quoted: Bool
    /// A single-quoted `msg='...'` list.
    var nested: Bool
}

struct AuditdDecoder: TextDecoder {
    struct Record {
        var type: String
        var kvs: [AuditKV]
    }
    struct Pending {
        var ts: String
        var serial: String
        var firstLine: Int
        var lastSeen: Int
        var node: String?
        var records: [Record] = []
        var enriched: [AuditKV] = []
    }

    static let maxPending = 256
    static let staleAfter = 64

    var pending: [String: Pending] = [:]
    var recordCount = 0

    mutating func feed(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int, emit: ([UInt8], Int, Int) -> Void) -> String? {
        let l = TextBytes.trimmed(line)
        if l.isEmpty { return nil }
        var bytes = Array(l)
        var enrichedPart: [UInt8] = []
        if let gs = bytes.firstIndex(of: 0x1D) {
            enrichedPart = Array(bytes[(gs + 1)...])
            bytes = Array(bytes[..<gs])
        }
        guard let typeAt = Self.findTypeKey(bytes) else {
            return "not an auditd record (no type=...)"
        }
        var node: String? = nil
        if typeAt > 0 { node = Self.node(fromPrefix: Array(bytes[..<typeAt])) }
        let kvs = Self.parseKVs(bytes[typeAt...])
        guard kvs.count >= 2, kvs[0].key == "type", !kvs[0].value.isEmpty, kvs[1].key == "msg" else {
            return "not an auditd record (expected type=... msg=audit(...))"
        }
        let type = TextBytes.string(kvs[0].value)
        guard let (ts, serial) = Self.parseStamp(kvs[1].value) else {
            // auditd writes records of types it does not know with whatever text the kernel
            // sent (`type=UNKNOWN[1329] msg=g`): kept as a minimal record, not an error.
            if type.hasPrefix("UNKNOWN[") {
                var w = TextRecordWriter()
                w.strings("type", [type])
                w.string("msg", TextBytes.string(kvs[1].value))
                w.string("raw", TextBytes.string(bytes[typeAt...]))
                if let node { w.string("node", node) }
                w.entity([("node", node)])
                emit(w.finish(), 0, lineNumber)
                return nil
            }
            return "bad auditd time stamp: \(TextBytes.string(kvs[1].value.prefix(60)))"
        }
        var body: [AuditKV] = []
        for kv in kvs.dropFirst(2) {
            if kv.nested {
                // msg='...' of user-space records: its own key=value list.
                body.append(contentsOf: Self.parseKVs(kv.value[...]))
            } else {
                body.append(kv)
            }
        }
        recordCount += 1
        let id = "\(ts):\(serial)"
        if type == "EOE" {
            if let ev = pending.removeValue(forKey: id) { emitEvent(ev, emit) }
        } else {
            var ev = pending[id] ?? Pending(ts: ts, serial: serial, firstLine: lineNumber, lastSeen: recordCount, node: node)
            ev.lastSeen = recordCount
            if ev.node == nil { ev.node = node }
            ev.records.append(Record(type: type, kvs: body))
            if !enrichedPart.isEmpty { ev.enriched.append(contentsOf: Self.parseEnriched(enrichedPart)) }
            pending[id] = ev
        }
        flushStale(emit)
        return nil
    }

    mutating func finish(emit: ([UInt8], Int, Int) -> Void) {
        let all = pending.values.sorted { $0.firstLine < $1.firstLine }
        pending.removeAll()
        for ev in all { emitEvent(ev, emit) }
    }

    private mutating func flushStale(_ emit: ([UInt8], Int, Int) -> Void) {
        guard pending.count > 1 else { return }
        var stale = pending.values.filter { recordCount - $0.lastSeen >= Self.staleAfter }
        if pending.count - stale.count > Self.maxPending {
            let rest = pending.values.filter { recordCount - $0.lastSeen < Self.staleAfter }.sorted { $0.lastSeen < $1.lastSeen }
            stale.append(contentsOf: rest.prefix(pending.count - stale.count - Self.maxPending))
        }
        guard !stale.isEmpty else { return }
        stale.sort { $0.firstLine < $1.firstLine }
        for ev in stale {
            pending.removeValue(forKey: "\(ev.ts):\(ev.serial)")
            emitEvent(ev, emit)
        }
    }

    // MARK: Line parsing

    /// Offset of `type=` at the start or after a space.
    static func findTypeKey(_ b: [UInt8]) -> Int? {
        let pat: [UInt8] = Array("type=".utf8)
        var i = 0
        while i + pat.count <= b.count {
            if (i == 0 || b[i - 1] == 0x20) && b[i] == 0x74 && Array(b[i..<(i + pat.count)]) == pat { return i }
            i += 1
        }
        return nil
    }

    /// `node=host` in the prefix, or the host of a syslog header (`Mon DD HH:MM:SS host prog[pid]: `).
    static func node(fromPrefix p: [UInt8]) -> String? {
        let kvs = parseKVs(p[...])
        if let n = kvs.first(where: { $0.key == "node" }), !n.value.isEmpty { return TextBytes.string(n.value) }
        let words = TextBytes.string(p).split(separator: " ").map(String.init)
        if let prog = words.firstIndex(where: { $0.hasSuffix(":") && !$0.contains("=") }), prog >= 1 {
            let host = words[prog - 1]
            if !host.contains("=") { return host }
        }
        return nil
    }

    /// Parses `audit(1763900000.123:4521):` → ("1763900000.123", "4521").
    static func parseStamp(_ v: [UInt8]) -> (String, String)? {
        let s = TextBytes.string(v)
        guard s.hasPrefix("audit("), let close = s.firstIndex(of: ")") else { return nil }
        let inner = s[s.index(s.startIndex, offsetBy: 6)..<close]
        let parts = inner.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
              parts[0].allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              parts[1].allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    /// Enriched translations; `SADDR={ saddr_fam=inet laddr=... }` is kept as one value.
    static func parseEnriched(_ b: [UInt8]) -> [AuditKV] {
        let open = Array("SADDR={".utf8)
        var i = 0
        while i + open.count <= b.count {
            if Array(b[i..<(i + open.count)]) == open {
                var j = i + open.count
                while j < b.count, b[j] != 0x7D { j += 1 }
                let inner = Array(b[(i + open.count)..<j]).drop { $0 == 0x20 }
                var rest = Array(b[..<i])
                if j + 1 < b.count { rest += b[(j + 1)...] }
                var t = Array(inner)
                while t.last == 0x20 { t.removeLast() }
                return parseKVs(rest[...]) + [AuditKV(key: "SADDR", value: t, quoted: true, nested: false)]
            }
            i += 1
        }
        return parseKVs(b[...])
    }

    /// `k=v k="quoted v" k='nested'` pairs; bare words without `=` are skipped.
    static func parseKVs(_ b: ArraySlice<UInt8>) -> [AuditKV] {
        var out: [AuditKV] = []
        var i = b.startIndex
        let end = b.endIndex
        while i < end {
            while i < end, b[i] == 0x20 || b[i] == 0x09 { i += 1 }
            let ks = i
            while i < end, b[i] != 0x3D, b[i] != 0x20, b[i] != 0x09 { i += 1 }
            let key = TextBytes.string(b[ks..<i])
            guard i < end, b[i] == 0x3D else { continue } // bare word
            i += 1
            if i < end, b[i] == 0x22 || b[i] == 0x27 {
                let q = b[i]
                i += 1
                let vs = i
                while i < end, b[i] != q { i += 1 }
                out.append(AuditKV(key: key, value: Array(b[vs..<i]), quoted: q == 0x22, nested: q == 0x27))
                if i < end { i += 1 }
            } else {
                let vs = i
                while i < end, b[i] != 0x20, b[i] != 0x09 { i += 1 }
                out.append(AuditKV(key: key, value: Array(b[vs..<i]), quoted: false, nested: false))
            }
        }
        return out
    }

}

// MARK: Event assembly

extension AuditdDecoder {
    /// Fields whose unquoted values auditd hex-encodes when they hold special characters.
    static let hexFields: Set<String> = ["exe", "comm", "cmd", "data", "name", "cwd", "proctitle", "acct", "key", "path", "old", "new", "grp", "root_dir"]

    /// A value as text: quoted literal, or hex decoded when unquoted even-length hex.
    static func text(_ kv: AuditKV, hex: Bool) -> String {
        if !kv.quoted, hex, let d = TextBytes.hexDecode(kv.value) { return TextBytes.string(d) }
        return TextBytes.string(kv.value)
    }

    static func isArgKey(_ k: String) -> Int? {
        guard k.count >= 2, k.first == "a" else { return nil }
        return Int(k.dropFirst())
    }

    func emitEvent(_ ev: Pending, _ emit: ([UInt8], Int, Int) -> Void) {
        emit(Self.build(ev), Self.kind(ev), ev.firstLine)
    }

    /// SYSCALL records, and AUOMS records (`AUOMS_EXECVE`, `AUOMS_SYSCALL`) that carry the
    /// syscall fields in one record.
    static func isSyscallRecord(_ type: String) -> Bool { type == "SYSCALL" || type.hasPrefix("AUOMS_") }

    static func syscallName(_ ev: Pending) -> String? {
        guard let sc = ev.records.first(where: { isSyscallRecord($0.type) }) else { return nil }
        let arch = sc.kvs.first { $0.key == "arch" }.map { TextBytes.string($0.value) }
        guard let raw = sc.kvs.first(where: { $0.key == "syscall" }).map({ TextBytes.string($0.value) }) else { return nil }
        if let n = LinuxSyscalls.name(raw, arch: arch) { return n }
        if let e = ev.enriched.first(where: { $0.key == "SYSCALL" }) { return TextBytes.string(e.value) }
        return raw
    }

    static func sockaddr(_ ev: Pending) -> (family: String, ip: String?, port: Int?, path: String?)? {
        guard let rec = ev.records.first(where: { $0.type == "SOCKADDR" }),
              let kv = rec.kvs.first(where: { $0.key == "saddr" }),
              let b = TextBytes.hexDecode(kv.value), b.count >= 2 else { return nil }
        let fam = Int(b[0]) | Int(b[1]) << 8
        switch fam {
        case 2 where b.count >= 8:
            return ("inet", "\(b[4]).\(b[5]).\(b[6]).\(b[7])", Int(b[2]) << 8 | Int(b[3]), nil)
        case 10 where b.count >= 24:
            return ("inet6", NetText.ipv6(Array(b[8..<24])), Int(b[2]) << 8 | Int(b[3]), nil)
        case 1:
            var p = Array(b.dropFirst(2))
            if p.first == 0 { p = Array(p.dropFirst()); return ("local", nil, nil, "@" + TextBytes.string(p.prefix { $0 != 0 })) }
            return ("local", nil, nil, TextBytes.string(p.prefix { $0 != 0 }))
        case 16: return ("netlink", nil, nil, nil)
        default: return (String(fam), nil, nil, nil)
        }
    }

    static func kind(_ ev: Pending) -> Int {
        let sc = syscallName(ev)
        // A process was created only if the kernel logged its argv (EXECVE record) or the
        // execve succeeded: the failed attempts of a PATH search are not new processes.
        if ev.records.contains(where: { $0.type == "EXECVE" }) { return 1 }
        if sc == "execve" || sc == "execveat" {
            let success = ev.records.first(where: { isSyscallRecord($0.type) })?.kvs.first { $0.key == "success" }.map { TextBytes.string($0.value) }
            if success != "no" { return 1 }
        }
        if let sc, ["connect", "accept", "accept4"].contains(sc), let sa = sockaddr(ev), sa.family == "inet" || sa.family == "inet6" { return 2 }
        return 0
    }

    static func build(_ ev: Pending) -> [UInt8] {
        var w = TextRecordWriter()
        let time = TextBytes.rfc3339(epochSecondsText: ev.ts)
        w.string("@timestamp", time)
        w.string("timestamp", time)
        var types: [String] = []
        for r in ev.records where !types.contains(r.type) { types.append(r.type) }
        w.strings("type", types)
        w.string("serial", ev.serial)
        w.string("event_time", ev.ts)
        if let node = ev.node { w.string("node", node) }

        // Reserved names are written below from their own records.
        var seen: Set<String> = ["@timestamp", "timestamp", "type", "serial", "event_time", "node", "name", "nametype",
                                 "argc", "cwd", "proctitle", "saddr", "saddr_fam", "syscall", "key", "entity",
                                 "Image", "CommandLine", "User", "ProcessId", "ParentProcessId", "CurrentDirectory",
                                 "DestinationIp", "DestinationPort", "SourceIp", "SourcePort", "Initiated", "Protocol", "msg"]
        let hasExecve = ev.records.contains { $0.type == "EXECVE" }
        var values: [String: String] = [:]
        func put(_ k: String, _ v: String) {
            guard !seen.contains(k), Self.isArgKey(k) == nil else { return }
            seen.insert(k)
            values[k] = v
            w.string(k, v)
        }

        let syscall = syscallName(ev)
        if let syscall {
            w.string("syscall", syscall)
            // ENRICHED logs spell the translated name `SYSCALL`; SigmaHQ rules use that key.
            let enriched = ev.enriched.first { $0.key == "SYSCALL" }.map { text($0, hex: false) }
            w.string("SYSCALL", enriched ?? syscall)
            seen.insert("SYSCALL")
        }

        var names: [String] = [], nametypes: [String] = [], keys: [String] = []
        var argv: [Int: [UInt8]] = [:], argParts: [Int: [(Int, [UInt8])]] = [:]
        var regArgs: [(String, String)] = []
        var argc: String?, cwd: String?, proctitle: String?, saddr: String?
        var cmdline: String?
        let ordered = ev.records.filter { isSyscallRecord($0.type) } + ev.records.filter { !isSyscallRecord($0.type) }
        for r in ordered {
            let sys = isSyscallRecord(r.type)
            let auoms = r.type.hasPrefix("AUOMS_")
            for kv in r.kvs {
                let k = kv.key
                switch (r.type, k) {
                case (_, "name"):
                    if kv.value != Array("(null)".utf8) { names.append(text(kv, hex: true)) }
                case ("PATH", "nametype"): nametypes.append(text(kv, hex: false))
                case (_, "nametype") where auoms: nametypes.append(text(kv, hex: false))
                case ("PATH", _): continue
                case (_, "syscall") where sys: continue
                case (_, "argc") where auoms: argc = text(kv, hex: false)
                case (_, "cmdline") where auoms: cmdline = text(kv, hex: false)
                case (_, "key"):
                    guard kv.value != Array("(null)".utf8) else { continue }
                    for part in text(kv, hex: true).split(separator: "\u{01}") where !keys.contains(String(part)) { keys.append(String(part)) }
                case ("EXECVE", "argc"): argc = text(kv, hex: false)
                case ("EXECVE", _):
                    if let n = isArgKey(k) {
                        argv[n] = kv.quoted ? kv.value : (TextBytes.hexDecode(kv.value) ?? kv.value)
                    } else if k.hasPrefix("a"), let br = k.firstIndex(of: "["), let n = Int(k.dropFirst().prefix(upTo: br)),
                              let idx = Int(k[k.index(after: br)...].dropLast()) {
                        argParts[n, default: []].append((idx, kv.quoted ? kv.value : (TextBytes.hexDecode(kv.value) ?? kv.value)))
                    }
                case (_, _) where sys && isArgKey(k) != nil:
                    regArgs.append((k, text(kv, hex: false)))
                case (_, "cwd"): if cwd == nil { cwd = text(kv, hex: true) }
                case (let t, "proctitle") where t == "PROCTITLE" || auoms:
                    var p = kv.quoted ? kv.value : (TextBytes.hexDecode(kv.value) ?? kv.value)
                    p = p.map { $0 == 0 ? 0x20 : $0 }
                    while p.last == 0x20 { p.removeLast() }
                    proctitle = TextBytes.string(p)
                case ("SOCKADDR", "saddr"): saddr = text(kv, hex: false)
                default:
                    put(k, text(kv, hex: hexFields.contains(k)))
                }
            }
        }
        for (n, parts) in argParts where argv[n] == nil {
            argv[n] = parts.sorted { $0.0 < $1.0 }.flatMap { $0.1 }
        }
        // Enriched (ENRICHED log_format) translations: UPPERCASE keys.
        for kv in ev.enriched { put(kv.key, text(kv, hex: false)) }

        if !names.isEmpty { w.strings("name", names) }
        if !nametypes.isEmpty { w.strings("nametype", nametypes) }
        if keys.count == 1 { w.string("key", keys[0]) } else if !keys.isEmpty { w.strings("key", keys) }
        var commandLine: String?
        if hasExecve {
            let args = argv.keys.sorted().map { TextBytes.string(argv[$0]!) }
            for n in argv.keys.sorted() { w.string("a\(n)", TextBytes.string(argv[n]!)) }
            w.string("argc", argc ?? String(args.count))
            commandLine = args.joined(separator: " ")
        } else {
            for (k, v) in regArgs { w.string(k, v) }
            w.string("argc", argc)
            if let cmdline {
                w.string("cmdline", cmdline)
                commandLine = cmdline
            }
        }
        w.string("cwd", cwd)
        w.string("proctitle", proctitle)
        if commandLine == nil || commandLine!.isEmpty { commandLine = proctitle }

        // Taxonomy.
        w.string("Image", values["exe"])
        w.string("CommandLine", commandLine)
        w.string("User", values["uid"])
        w.string("ProcessId", values["pid"])
        w.string("ParentProcessId", values["ppid"])
        w.string("CurrentDirectory", cwd)
        if let saddr {
            w.string("saddr", saddr)
            if let sa = sockaddr(ev) {
                w.string("saddr_fam", sa.family)
                w.string("saddr_path", sa.path)
                if let ip = sa.ip {
                    let inbound = syscall == "accept" || syscall == "accept4" || syscall == "bind"
                    w.string(inbound ? "SourceIp" : "DestinationIp", ip)
                    w.string(inbound ? "SourcePort" : "DestinationPort", sa.port.map(String.init))
                    if syscall == "connect" || syscall == "sendto" || syscall == "sendmsg" { w.string("Initiated", "true") }
                    if syscall == "accept" || syscall == "accept4" { w.string("Initiated", "false") }
                }
            }
        }
        w.entity([("node", ev.node), ("user", values["UID"] ?? values["uid"]), ("source_ip", values["addr"].flatMap { $0 == "?" ? nil : $0 })])
        return w.finish()
    }
}

/// IP address text.
enum NetText {
    static func ipv4(_ b: some Collection<UInt8>) -> String {
        b.map { String($0) }.joined(separator: ".")
    }

    /// RFC 5952 text of a 16-byte IPv6 address (longest zero run compressed; IPv4-mapped kept dotted).
    static func ipv6(_ bytes: [UInt8]) -> String {
        guard bytes.count == 16 else { return "" }
        var g = [Int](repeating: 0, count: 8)
        for i in 0..<8 { g[i] = Int(bytes[2 * i]) << 8 | Int(bytes[2 * i + 1]) }
        if g[0...4].allSatisfy({ $0 == 0 }) && g[5] == 0xFFFF {
            return "::ffff:" + ipv4(bytes[12..<16])
        }
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if g[i] == 0 {
                var j = i
                while j < 8, g[j] == 0 { j += 1 }
                if j - i > bestLen && j - i >= 2 { bestStart = i; bestLen = j - i }
                i = j
            } else { i += 1 }
        }
        func hex(_ r: Range<Int>) -> String { r.map { String(g[$0], radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLen)..<8)
    }
}
