import BulkheadEngine
import BulkheadRules
import BulkheadScan
import Foundation

/// Proves a detection pack: every folder's firing samples fire its rules, its silent samples
/// do not, and no sample raises an unrelated rule at high or critical.
public struct PackValidator {
    public struct Detection: Sendable {
        public var folder: String
        public var ruleIDs: [String]
        public var titles: [String]
        /// Rules declared related: they may fire on these samples too.
        public var related: [String]
        public var samples: [String]
    }

    public struct Result: Sendable {
        public var detection: String
        public var sample: String
        public var expectFire: Bool
        public var fired: Int
        public var unrelatedHigh: [String]
        public var problems: [String]
        public var passed: Bool { problems.isEmpty }
    }

    /// Folders under `root` that hold a rule.yml.
    public static func detections(under root: String) -> [Detection] {
        let fm = FileManager.default
        var out: [Detection] = []
        guard let e = fm.enumerator(atPath: root) else { return [] }
        var folders: [String] = []
        while let rel = e.nextObject() as? String {
            if rel.hasSuffix("/rule.yml") || rel == "rule.yml" { folders.append((root as NSString).appendingPathComponent((rel as NSString).deletingLastPathComponent)) }
        }
        for folder in folders.sorted() {
            let loaded = RuleFiles.load([folder + "/rule.yml"])
            var ids: [String] = [], titles: [String] = [], related: [String] = []
            for d in loaded.documents {
                if case .rule(let r) = d { ids.append(r.id ?? r.title); titles.append(r.title); related += r.related.map(\.id) }
            }
            let eventsDir = folder + "/events"
            let samples = ((try? fm.contentsOfDirectory(atPath: eventsDir)) ?? []).filter { $0.hasPrefix("fires-") || $0.hasPrefix("silent-") }.sorted()
            out.append(Detection(folder: folder, ruleIDs: ids, titles: titles, related: related, samples: samples.map { eventsDir + "/" + $0 }))
        }
        return out
    }

    public let engineRules: RuleSet

    /// Tuning exceptions applied while running samples: a firing sample suppressed by a
    /// default exception fails (the exception is too broad).
    public var exceptions = CompiledExceptions.none

    public init(ruleSet: RuleSet, exceptions: CompiledExceptions = .none) {
        self.engineRules = ruleSet
        self.exceptions = exceptions
    }

    public func validate(_ d: Detection) -> [Result] {
        var results: [Result] = []
        if d.ruleIDs.isEmpty {
            results.append(Result(detection: d.folder, sample: "rule.yml", expectFire: true, fired: 0, unrelatedHigh: [], problems: ["rule.yml has no loadable rule"]))
            return results
        }
        let fires = d.samples.filter { ($0 as NSString).lastPathComponent.hasPrefix("fires-") }
        let silents = d.samples.filter { ($0 as NSString).lastPathComponent.hasPrefix("silent-") }
        if fires.count < 2 || silents.count < 2 {
            results.append(Result(detection: d.folder, sample: "events/", expectFire: true, fired: 0, unrelatedHigh: [],
                                  problems: ["needs at least 2 fires-* and 2 silent-* samples (has \(fires.count) and \(silents.count))"]))
        }
        for sample in d.samples {
            let expectFire = (sample as NSString).lastPathComponent.hasPrefix("fires-")
            var own = 0
            var unrelated = Set<String>()
            var problems: [String] = []
            let engine = Engine(ruleSet: engineRules)
            engine.exceptions = exceptions
            let pipeline = ScanPipeline(engine: engine, onAlert: { a in
                if d.ruleIDs.contains(a.rule.id) { own += 1 } else if a.rule.level >= .high, !d.related.contains(a.rule.id),
                   !a.rule.related.contains(where: d.ruleIDs.contains) { unrelated.insert("\(a.rule.title) [\(a.rule.level)]") }
            }, onProblem: { problems.append($0) })
            pipeline.scan(file: sample)
            if pipeline.stats.records == 0 { problems.append("no record was read (\(pipeline.stats.formatByFile.first?.format ?? "?"))") }
            if expectFire && own == 0 {
                let suppressed = engine.suppressedCounts.enumerated().filter { $0.element > 0 }.map { exceptions.active[$0.offset].name }
                problems.append("expected to fire, did not" + (suppressed.isEmpty ? "" : " (suppressed by exception \(suppressed.joined(separator: ", ")))"))
            }
            if !expectFire && own > 0 { problems.append("expected silence, fired \(own)×") }
            if !unrelated.isEmpty { problems.append("unrelated high/critical: " + unrelated.sorted().joined(separator: "; ")) }
            results.append(Result(detection: d.folder, sample: sample, expectFire: expectFire, fired: own, unrelatedHigh: unrelated.sorted(), problems: problems))
        }
        return results
    }
}
