import BulkheadEvent
import BulkheadRules
import BulkheadSources
import Foundation

// MARK: Persistent state: what the engine hands to a store and takes back

/// Learned state of the engine's baselines and telemetry-gap analytic, as plain rows. The
/// engine does no I/O: a `BaselineStateStore` (BulkheadState: SQLite) keeps snapshots between
/// scans. Correlation windows are not part of it (docs/baselines.md); scale-out workers
/// checkpoint them separately (`Correlator.snapshot()`, CorrelationSnapshot.swift). Codable
/// for those checkpoints.
public struct StateSnapshot: Sendable, Equatable, Codable {
    public var baselines: [BaselineRuleState] = []
    public var gap: GapState?
    public init(baselines: [BaselineRuleState] = [], gap: GapState? = nil) {
        self.baselines = baselines
        self.gap = gap
    }
}

public struct BaselineRuleState: Sendable, Equatable, Codable {
    public struct TermRow: Sendable, Equatable, Codable {
        public var group: String, term: String, firstSeen: Int64, lastSeen: Int64, count: Int
        public init(group: String, term: String, firstSeen: Int64, lastSeen: Int64, count: Int) {
            self.group = group; self.term = term; self.firstSeen = firstSeen; self.lastSeen = lastSeen; self.count = count
        }
    }
    public struct GroupRow: Sendable, Equatable, Codable {
        public var group: String, firstSeen: Int64, lastSeen: Int64, count: Int
        public var mean: Double, m2: Double, max: Double
        public init(group: String, firstSeen: Int64, lastSeen: Int64, count: Int, mean: Double, m2: Double, max: Double) {
            self.group = group; self.firstSeen = firstSeen; self.lastSeen = lastSeen; self.count = count
            self.mean = mean; self.m2 = m2; self.max = max
        }
    }
    public var ruleID: String
    public var kind: String
    public var learningStart: Int64?
    public var learningEnd: Int64?
    public var lastTime: Int64
    public var retention: Int64
    public var terms: [TermRow]
    public var groups: [GroupRow]
    public init(ruleID: String, kind: String, learningStart: Int64?, learningEnd: Int64?, lastTime: Int64, retention: Int64,
                terms: [TermRow] = [], groups: [GroupRow] = []) {
        self.ruleID = ruleID; self.kind = kind; self.learningStart = learningStart; self.learningEnd = learningEnd
        self.lastTime = lastTime; self.retention = retention; self.terms = terms; self.groups = groups
    }
}

public struct GapState: Sendable, Equatable, Codable {
    public struct KeyRow: Sendable, Equatable, Codable {
        public var source: String, scope: String, firstSeen: Int64, lastSeen: Int64, count: Int, alerted: Bool
        public init(source: String, scope: String, firstSeen: Int64, lastSeen: Int64, count: Int, alerted: Bool) {
            self.source = source; self.scope = scope; self.firstSeen = firstSeen; self.lastSeen = lastSeen; self.count = count; self.alerted = alerted
        }
    }
    public struct MixRow: Sendable, Equatable, Codable {
        public var cluster: String, learningEnd: Int64, windowStart: Int64, shifted: Bool
        /// `level=Metadata` → (baseline count, current window count).
        public var counts: [String: [Int]]
        public init(cluster: String, learningEnd: Int64, windowStart: Int64, shifted: Bool, counts: [String: [Int]]) {
            self.cluster = cluster; self.learningEnd = learningEnd; self.windowStart = windowStart; self.shifted = shifted; self.counts = counts
        }
    }
    public var watermark: Int64?
    public var keys: [KeyRow]
    public var mixes: [MixRow]
    public var auditNodes: [String: Int64]
    public init(watermark: Int64?, keys: [KeyRow], mixes: [MixRow], auditNodes: [String: Int64]) {
        self.watermark = watermark; self.keys = keys; self.mixes = mixes; self.auditNodes = auditNodes
    }
}

/// Where learned state lives between scans (BulkheadState's `SQLiteStateStore`).
public protocol BaselineStateStore: AnyObject {
    func load() throws -> StateSnapshot
    func save(_ snapshot: StateSnapshot) throws
}

// MARK: The engine's baselines

/// The baseline rules and the telemetry-gap analytic of one engine.
public final class BaselineAnalytics {
    /// Indexed by rule: nil for rules that are not baselines.
    public let byRule: [BaselineRule?]
    public let gap: TelemetryGapMonitor?
    /// `bulkhead baseline learn`: record everything, alert on nothing.
    public var learnOnly = false
    let psl = PublicSuffixList.shared

    init(ruleSet: RuleSet) {
        var rules = [BaselineRule?](repeating: nil, count: ruleSet.rules.count)
        var gap: TelemetryGapMonitor?
        for spec in ruleSet.analytics {
            switch spec.kind {
            case BaselineSpec.Kind.newTerms.rawValue, BaselineSpec.Kind.numeric.rawValue:
                // Checked when the rule set was built (BH104); a bad spec leaves the rule stateless.
                if let s = (try? BaselineSpec.from(extensions: spec.extensions)) ?? nil {
                    rules[spec.rule] = BaselineRule(rule: ruleSet.rules[spec.rule], spec: s)
                }
            case "telemetry_gap" where gap == nil:
                let p = (try? TelemetryGapParameters(extensions: spec.extensions)) ?? TelemetryGapParameters()
                gap = TelemetryGapMonitor(rule: ruleSet.rules[spec.rule], parameters: p)
            default: break
            }
        }
        byRule = rules
        self.gap = gap
    }

    public var rules: [BaselineRule] { byRule.compactMap { $0 } }
    public var isEmpty: Bool { gap == nil && !byRule.contains { $0 != nil } }

    /// The rule kind a stateful extension declares, checked (for RuleSet): nil when the rule
    /// declares no baseline.
    public static func declaredKind(_ extensions: [String: String]) -> (kind: String, error: String?)? {
        if extensions["x-bulkhead-analytic"] == "telemetry_gap" {
            do { _ = try TelemetryGapParameters(extensions: extensions); return ("telemetry_gap", nil) } catch { return ("telemetry_gap", "\(error)") }
        }
        do {
            guard let s = try BaselineSpec.from(extensions: extensions) else { return nil }
            return (s.kind.rawValue, nil)
        } catch {
            let kind = extensions["x-bulkhead-new-terms"] != nil ? BaselineSpec.Kind.newTerms.rawValue : BaselineSpec.Kind.numeric.rawValue
            return (kind, "\(error)")
        }
    }

    // MARK: Snapshot

    public func snapshot() -> StateSnapshot {
        var out = StateSnapshot()
        // Rules that saw no record keep whatever the store holds for them.
        for r in rules where r.learningStart != nil {
            r.pruneExpired()
            out.baselines.append(BaselineRuleState(
                ruleID: r.rule.id, kind: r.spec.kind.rawValue, learningStart: r.learningStart, learningEnd: r.learningEnd,
                lastTime: r.lastTime, retention: r.spec.retention,
                terms: r.terms.map { k, v in
                    let p = k.split(separator: "\u{1F}", maxSplits: 1, omittingEmptySubsequences: false)
                    return .init(group: String(p[0]), term: p.count > 1 ? String(p[1]) : "", firstSeen: v.firstSeen, lastSeen: v.lastSeen, count: v.count)
                }.sorted { ($0.group, $0.term) < ($1.group, $1.term) },
                groups: r.groups.map { k, g in
                    .init(group: k, firstSeen: g.firstSeen, lastSeen: g.lastSeen, count: g.count, mean: g.mean, m2: g.m2, max: g.max)
                }.sorted { $0.group < $1.group }))
        }
        if let g = gap {
            out.gap = GapState(
                watermark: g.watermark,
                keys: g.keys.map { .init(source: $0.key.source, scope: $0.key.scope, firstSeen: $0.value.firstSeen, lastSeen: $0.value.lastSeen,
                                         count: $0.value.count, alerted: $0.value.alerted) }.sorted { ($0.source, $0.scope) < ($1.source, $1.scope) },
                mixes: g.mixes.map { c, m in
                    var counts: [String: [Int]] = [:]
                    for (k, v) in m.baseline { counts[k, default: [0, 0]][0] = v }
                    for (k, v) in m.window { counts[k, default: [0, 0]][1] = v }
                    return .init(cluster: c, learningEnd: m.learningEnd, windowStart: m.windowStart, shifted: m.shifted, counts: counts)
                }.sorted { $0.cluster < $1.cluster },
                auditNodes: g.auditNodeSeen)
        }
        return out
    }

    /// What a restore took back.
    public struct RestoreReport: Sendable, Equatable {
        public var rules = 0
        public var terms = 0
        public var groups = 0
        public var gapKeys = 0
        /// Stored rules that are not loaded now, or changed kind (kept in the store, not used).
        public var skipped: [String] = []
    }

    /// Takes back a snapshot: entries of loaded rules with the same kind; entries past the
    /// rule's retention (measured from the stored latest time) are dropped.
    @discardableResult
    public func restore(_ s: StateSnapshot) -> RestoreReport {
        var report = RestoreReport()
        let byID = Dictionary(rules.map { ($0.rule.id, $0) }, uniquingKeysWith: { a, _ in a })
        for st in s.baselines {
            guard let r = byID[st.ruleID], r.spec.kind.rawValue == st.kind else { report.skipped.append(st.ruleID); continue }
            r.learningStart = st.learningStart
            r.learningEnd = st.learningEnd
            r.lastTime = max(r.lastTime, st.lastTime)
            for t in st.terms { r.terms[t.group + "\u{1F}" + t.term] = .init(firstSeen: t.firstSeen, lastSeen: t.lastSeen, count: t.count) }
            for g in st.groups { r.groups[g.group] = .init(firstSeen: g.firstSeen, lastSeen: g.lastSeen, count: g.count, mean: g.mean, m2: g.m2, max: g.max) }
            r.pruneExpired()
            r.stats = BaselineStats()
            r.stats.entries = r.spec.kind == .newTerms ? r.terms.count : r.groups.count
            r.stats.peakEntries = r.stats.entries
            report.rules += 1
            report.terms += r.terms.count
            report.groups += r.groups.count
        }
        if let g = gap, let st = s.gap {
            g.watermark = st.watermark
            for k in st.keys.prefix(g.parameters.maxKeys) {
                g.keys[.init(source: k.source, scope: k.scope)] = .init(firstSeen: k.firstSeen, lastSeen: k.lastSeen, count: k.count, alerted: k.alerted)
            }
            for m in st.mixes {
                var ms = TelemetryGapMonitor.MixState(learningEnd: m.learningEnd, windowStart: m.windowStart)
                ms.shifted = m.shifted
                for (k, v) in m.counts {
                    if v.count > 0, v[0] > 0 { ms.baseline[k] = v[0] }
                    if v.count > 1, v[1] > 0 { ms.window[k] = v[1] }
                }
                g.mixes[m.cluster] = ms
            }
            g.auditNodeSeen = st.auditNodes
            g.stats.keys = g.keys.count
            g.stats.peakKeys = g.keys.count
            report.gapKeys = g.keys.count
        }
        return report
    }

    /// After `baseline learn`: the learning period ends `learning` after each rule's first record,
    /// or, without it, at the end of the history read (the history is the baseline).
    public func completeLearning(learning: Int64?) {
        for r in rules {
            guard let start = r.learningStart else { continue }
            r.learningEnd = learning.map { start + $0 } ?? r.lastTime
        }
    }
}

// MARK: Engine hooks

extension Engine {
    /// Feeds a baseline rule's match; an alert for a new term or an outlying value.
    func baselineAlert(_ b: BaselineRule, _ e: EventView, format: Int, origin: () -> Origin) -> Alert? {
        let mapping = ruleSet.mappings[format]
        let time = recordTime(e, format: format)
        // Most records a baseline sees raise nothing: the entity waits for an alert unless a
        // group or term reads it.
        var entity = b.readsEntity ? recordEntity(e, format: format) : Entity()
        let psl = baselines.psl
        guard let group = b.group(e, mapping: mapping, entity: entity, psl: psl) else { return nil }
        let alerting = !baselines.learnOnly
        let finding: BaselineRule.Finding?
        switch b.spec.kind {
        case .newTerms:
            let terms = b.termValues(e, mapping: mapping, entity: entity, psl: psl)
            guard !terms.isEmpty else { return nil }
            finding = b.observe(group: group, terms: terms, time: time, alerting: alerting)
        case .numeric:
            guard let v = b.numericValue(e, mapping: mapping, entity: entity, psl: psl) else { return nil }
            finding = b.observe(group: group, value: v, time: time, alerting: alerting)
        }
        guard let finding else { return nil }
        if !b.readsEntity { entity = recordEntity(e, format: format) }
        var info = b.rule
        var o: [(String, Any)] = []
        switch finding {
        case .newTerms(let f):
            info.title = "\(b.rule.title): \(f.terms.joined(separator: ", "))"
            o = [("analytic", "new_terms"), ("group", f.group), ("new_terms", f.terms),
                 ("term_fields", b.spec.terms.map(\.description)), ("known_terms_in_group", f.knownTerms),
                 ("group_observations", f.groupObservations), ("group_first_seen", Timestamps.format(epochNanos: f.groupFirstSeen)),
                 ("learning_end", b.learningEnd.map { Timestamps.format(epochNanos: $0) } ?? "-"),
                 ("why", "first time \(f.terms.count == 1 ? "this term was" : "these terms were") seen for \(f.group) after \(f.groupObservations) records and \(f.knownTerms) known terms")]
        case .numeric(let f):
            let shown = Quantity.display(f.value, unit: b.spec.unit)
            info.title = "\(b.rule.title): \(shown)"
            o = [("analytic", "numeric_baseline"), ("group", f.group), ("value", f.value), ("display", shown),
                 ("unit", b.spec.unit.rawValue), ("baseline_mean", (f.mean * 1000).rounded() / 1000), ("baseline_max", f.max),
                 ("observations", f.observations), ("factor", b.spec.factor), ("threshold", (f.threshold * 1000).rounded() / 1000),
                 ("why", "\(shown) is above \(Quantity.display(f.threshold, unit: b.spec.unit)) (max of \(b.spec.factor)x the mean \(Quantity.display(f.mean, unit: b.spec.unit)) and the largest seen \(Quantity.display(f.max, unit: b.spec.unit))) over \(f.observations) records")]
        }
        if !entity.isEmpty { o.append(("entity", entity.values)) }
        return Alert(rule: info, time: time, origin: origin(), source: mapping.id, entity: entity,
                     event: Self.withRecord(JSONText.object(o), e))
    }

    /// The explanation with the record appended as `record`.
    static func withRecord(_ json: String, _ e: EventView) -> String {
        var s = json
        s.removeLast()
        let record = String(decoding: e.recordBytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        // Pretty-printed records stay one line (JSON whitespace outside strings is free to drop).
        return s + ",\"record\":" + record.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ") + "}"
    }

    /// Feeds every record to the telemetry-gap analytic.
    func observeTelemetry(_ g: TelemetryGapMonitor, _ e: EventView, format: Int, origin: () -> Origin, emit: (Alert) -> Void) {
        var o = matcher.gapObservation(e, format: format)
        if o.needsInventory, !inventory.isEmpty {
            let extractor = extractors[format]
            o.node = inventory.resolve(entity: extractor.entity(of: e), time: o.time, byIP: false)["node"]
        }
        observe(g, o, origin: origin, emit: emit)
    }

    /// Feeds a record's observation, made on a worker thread (`RecordMatcher.gapObservation`),
    /// in record order. Observations that need the inventory are not accepted here.
    public func observeTelemetry(_ o: GapObservation, origin: () -> Origin, emit: (Alert) -> Void) {
        guard let g = baselines.gap else { return }
        precondition(!o.needsInventory || inventory.isEmpty, "the record must be evaluated in order (inventory)")
        observe(g, o, origin: origin, emit: emit)
    }

    private func observe(_ g: TelemetryGapMonitor, _ o: GapObservation, origin: () -> Origin, emit: (Alert) -> Void) {
        let findings = g.observe(source: o.source, scope: o.scope, time: o.time, auditNode: o.auditNode, cluster: o.cluster, level: o.level, stage: o.stage)
        guard !findings.isEmpty, !baselines.learnOnly else { return }
        let at = origin()
        for f in findings { emit(gapAlert(g, f, origin: at)) }
    }

    /// End of input for the telemetry-gap analytic (sources silent at the latest event time).
    public func finishBaselines(emit: (Alert) -> Void) {
        guard let g = baselines.gap else { return }
        let findings = g.finish()
        guard !baselines.learnOnly else { return }
        for f in findings { emit(gapAlert(g, f, origin: Origin(name: "end of input", line: 0))) }
    }

    func gapAlert(_ g: TelemetryGapMonitor, _ f: TelemetryGapMonitor.Finding, origin: Origin) -> Alert {
        var info = g.rule
        var entity = Entity()
        var o: [(String, Any)] = [("analytic", "telemetry_gap")]
        let time: Int64
        let source: String
        func minutes(_ ns: Int64) -> String {
            let m = Double(ns) / 6e10
            return m >= 120 ? String(format: "%.1f h", m / 60) : String(format: "%.0f min", m)
        }
        switch f {
        case .silent(let key, let s, let threshold, let now, let auditSeen):
            time = now
            source = key.source
            let scopeValue = key.scope.split(separator: " ", maxSplits: 1).last.map(String.init) ?? key.scope
            if key.scope.hasPrefix("node ") { entity["node"] = scopeValue }
            if key.scope.hasPrefix("cluster "), scopeValue != "default" { entity["cluster"] = scopeValue }
            if key.scope.hasPrefix("account ") {
                let parts = scopeValue.split(separator: " ")
                if let a = parts.first, a != "-" { entity["cloud_account"] = String(a) }
                if parts.count > 1 { entity["cloud_region"] = String(parts[1]) }
            }
            let silence = now - s.lastSeen
            let mean = s.count > 1 ? Double(s.lastSeen - s.firstSeen) / Double(s.count - 1) / 1e9 : 0
            var kind = "source_silent"
            if let auditSeen {
                kind = "runtime_stopped_node_active"
                info.level = max(info.level, .high)
                info.title = "Runtime events stopped on \(key.scope) while the audit log shows it active (\(key.source), silent \(minutes(silence)))"
                o.append(("audit_last_seen_node", Timestamps.format(epochNanos: auditSeen)))
            } else if key.source == "cloudtrail" {
                kind = "cloud_delivery_stopped"
                info.level = max(info.level, .high)
                info.title = "CloudTrail delivery stopped for \(key.scope) (silent \(minutes(silence)))"
            } else {
                info.title = "Telemetry source silent: \(key.source) \(key.scope) (\(minutes(silence)))"
            }
            o += [("kind", kind), ("source", key.source), ("scope", key.scope), ("last_seen", Timestamps.format(epochNanos: s.lastSeen)),
                  ("now", Timestamps.format(epochNanos: now)), ("silence_seconds", Double(silence) / 1e9),
                  ("threshold_seconds", Double(threshold) / 1e9), ("records_learned", s.count),
                  ("mean_interval_seconds", (mean * 1000).rounded() / 1000),
                  ("why", "no \(key.source) record for \(key.scope) for \(minutes(silence)); expected one every \(String(format: "%.1f", mean)) s (threshold \(minutes(threshold)))")]
        case .mixShift(let cluster, let baseline, let window, let distance, let dimension, let start, let end):
            time = end
            source = "k8s_audit"
            if cluster != "default" { entity["cluster"] = cluster }
            let before = TelemetryGapMonitor.meanLevel(baseline), after = TelemetryGapMonitor.meanLevel(window)
            let downgrade = (before ?? 0) - (after ?? 0) >= 0.25
            info.level = max(info.level, downgrade ? .high : .medium)
            info.title = "Kubernetes audit \(dimension) mix shifted\(downgrade ? " (policy downgrade)" : "") in cluster \(cluster)"
            func shares(_ c: [String: Int]) -> [String: Any] {
                let n = Double(c.filter { $0.key.hasPrefix(dimension + "=") }.values.reduce(0, +))
                var out: [String: Any] = [:]
                for (k, v) in c where k.hasPrefix(dimension + "=") { out[String(k.dropFirst(dimension.count + 1))] = (Double(v) / max(n, 1) * 1000).rounded() / 1000 }
                return out
            }
            o += [("kind", "audit_mix_shift"), ("dimension", dimension), ("distance", (distance * 1000).rounded() / 1000),
                  ("threshold", g.parameters.mixThreshold), ("downgrade", downgrade),
                  ("baseline", shares(baseline)), ("window", shares(window)),
                  ("window_start", Timestamps.format(epochNanos: start)), ("window_end", Timestamps.format(epochNanos: end)),
                  ("why", "the audit \(dimension) distribution moved \(Int((distance * 100).rounded()))% from the learned mix"
                      + (downgrade ? "; mean level \(String(format: "%.2f", before ?? 0)) → \(String(format: "%.2f", after ?? 0)) (0 None … 3 RequestResponse)" : ""))]
        }
        if !entity.isEmpty { o.append(("entity", entity.values)) }
        return Alert(rule: info, time: time, origin: origin, source: source, entity: entity, event: JSONText.object(o))
    }
}
