import BulkheadNATS
import Foundation

/// Which worker owns which partition, through a key-value bucket: `lease.p<N>` holds its
/// owner, renewed every tick by a revision-checked update; `worker.<id>` is each worker's
/// heartbeat. Staleness is judged by each observer on its own monotonic clock (a revision that
/// has not changed for `ttl`), never by comparing clocks across machines. A stale lease is
/// claimed with an update at the revision seen, so of several claimers one wins.
///
/// Each worker aims at ceil(partitions / live workers) leases: it claims free and stale ones
/// below that and hands back the excess (after its checkpoint) above it.
public actor LeaseManager {
    struct Lease: Codable { var owner: String }

    public struct Plan: Sendable {
        /// Newly ours, with the owner the lease named before (whose consumer to delete).
        public var acquired: [(partition: Int, previousOwner: String?)] = []
        /// Ours, above our share: stop, checkpoint, then `release`.
        public var release: [Int] = []
        /// No longer ours (another worker holds the lease, or we could not renew within ttl).
        public var lost: [Int] = []
        public var liveWorkers = 1
    }

    let kv: KeyValue
    public let worker: String
    let total: Int
    let eligible: [Int]
    let ttl: Duration
    private var owned: [Int: (revision: UInt64, renewed: ContinuousClock.Instant)] = [:]
    private var releasing = Set<Int>()
    /// key → (revision, when this observer first saw it).
    private var seen: [String: (revision: UInt64, since: ContinuousClock.Instant)] = [:]

    public init(kv: KeyValue, worker: String, partitions total: Int, eligible: [Int]? = nil, ttl: Duration) {
        self.kv = kv
        self.worker = worker
        self.total = total
        // Start claiming at a place of our own, so that workers starting together spread out.
        let all = (eligible ?? Array(0..<total)).sorted()
        let offset = all.isEmpty ? 0 : Int(Partitioner.fnv1a(worker) % UInt64(all.count))
        self.eligible = Array(all[offset...] + all[..<offset])
        self.ttl = ttl
    }

    static func leaseKey(_ p: Int) -> String { "lease.p\(p)" }
    var heartbeatKey: String { "worker.\(worker)" }

    public func owns(_ p: Int) -> Bool { owned[p] != nil }
    public var ownedPartitions: [Int] { owned.keys.sorted() }

    /// One round: heartbeat, renewals, then claims or releases toward our share.
    public func tick() async -> Plan {
        var plan = Plan()
        let now = ContinuousClock.now
        _ = try? await kv.put(heartbeatKey, Array("{\"owned\":\(owned.count)}".utf8))
        for (p, l) in owned {
            do {
                let r = try await kv.update(Self.leaseKey(p), encode(worker), revision: l.revision)
                owned[p] = (r, ContinuousClock.now)
            } catch let e as JetStreamError where e.isWrongRevision {
                owned[p] = nil
                plan.lost.append(p)
            } catch {
                // Not renewed: after ttl another worker may take it, so stop before that.
                if now - l.renewed > ttl * 0.8 {
                    owned[p] = nil
                    plan.lost.append(p)
                }
            }
        }
        releasing.subtract(plan.lost)
        plan.liveWorkers = await liveWorkers(now: now)
        let share = min(eligible.count, (total + plan.liveWorkers - 1) / plan.liveWorkers)
        let keeping = owned.count - releasing.count
        if keeping > share {
            let excess = owned.keys.filter { !releasing.contains($0) }.sorted().suffix(keeping - share)
            plan.release = Array(excess)
            releasing.formUnion(excess)
        } else if keeping < share {
            for p in eligible where owned[p] == nil {
                if owned.count - releasing.count >= share { break }
                if let previous = await claim(p, now: now) { plan.acquired.append((p, previous.isEmpty ? nil : previous)) }
            }
        }
        return plan
    }

    /// Claims `p` if it is free, ours already, or stale; returns the owner it named before.
    private func claim(_ p: Int, now: ContinuousClock.Instant) async -> String? {
        let key = Self.leaseKey(p)
        let entry: KeyValue.Entry?
        do { entry = try await kv.get(key) } catch { return nil }
        var revision: UInt64 = 0
        var previous = ""
        if let entry {
            previous = (try? JSONDecoder().decode(Lease.self, from: Data(entry.value)))?.owner ?? ""
            revision = entry.revision
            if !previous.isEmpty && previous != worker && !stale(key, revision: revision, now: now) { return nil }
        }
        do {
            let r = try await kv.update(key, encode(worker), revision: revision)
            owned[p] = (r, ContinuousClock.now)
            return previous
        } catch {
            return nil
        }
    }

    /// Whether the key has been at `revision` for `ttl` by our clock.
    private func stale(_ key: String, revision: UInt64, now: ContinuousClock.Instant) -> Bool {
        if let s = seen[key], s.revision == revision { return now - s.since >= ttl }
        seen[key] = (revision, now)
        return false
    }

    /// Workers whose heartbeat moved within ttl (we count ourselves); long-dead heartbeats go.
    private func liveWorkers(now: ContinuousClock.Instant) async -> Int {
        // Without a listing, the heartbeats seen last time stand.
        guard let keys = try? await kv.keys(under: "worker") else { return max(1, seen.keys.filter { $0.hasPrefix("worker.") }.count) }
        var live = 1
        for key in keys where key != heartbeatKey {
            guard let e = try? await kv.get(key) else { continue }
            if !stale(key, revision: e.revision, now: now) {
                live += 1
            } else if let s = seen[key], now - s.since > ttl * 10 {
                try? await kv.purge(key)
                seen[key] = nil
            }
        }
        return live
    }

    /// Hands a partition back (its runner has stopped and checkpointed).
    public func release(_ p: Int) async {
        releasing.remove(p)
        guard let l = owned.removeValue(forKey: p) else { return }
        _ = try? await kv.update(Self.leaseKey(p), encode(""), revision: l.revision)
    }

    /// Forgets a partition whose runner found it taken (its checkpoint was fenced).
    public func forget(_ p: Int) {
        owned[p] = nil
        releasing.remove(p)
    }

    /// Graceful exit: our heartbeat goes, so the others count us out at once.
    public func leave() async {
        try? await kv.purge(heartbeatKey)
    }

    private func encode(_ owner: String) -> [UInt8] {
        (try? JSONEncoder.sorted.encode(Lease(owner: owner))).map { [UInt8]($0) } ?? []
    }
}
