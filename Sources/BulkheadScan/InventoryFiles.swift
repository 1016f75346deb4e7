import BulkheadEngine
import BulkheadEvent
import BulkheadSources
import Foundation

/// Reads inventory files for `scan --inventory`: `kubectl get pods -A -o json` (a v1 List or
/// PodList of Pods, or one Pod) and `docker inspect` output (an array of containers). The
/// shape is sniffed; gzip is transparent.
public enum InventoryFiles {
    public struct Loaded: Sendable, Equatable {
        public var pods = 0
        public var containers = 0
        public init(pods: Int = 0, containers: Int = 0) {
            self.pods = pods
            self.containers = containers
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Loads one file into `inventory`.
    @discardableResult
    public static func load(path: String, into inventory: inout Inventory, maxBytes: Int = 512 << 20) throws -> Loaded {
        let stream = try ByteStream(path: path)
        var all: [UInt8] = []
        while true {
            let more = try stream.next()
            if more.isEmpty { break }
            all.append(contentsOf: more)
            if all.count > maxBytes { throw ScanError.tooLarge(stream.name, maxBytes) }
        }
        return try load(bytes: all, name: stream.name, into: &inventory)
    }

    /// Loads one inventory document from memory.
    @discardableResult
    public static func load(bytes: [UInt8], name: String, into inventory: inout Inventory) throws -> Loaded {
        var tape = JSONTape(limits: JSONTape.Limits(maxDepth: 256, maxBytes: max(bytes.count, 1)))
        let scratch = ScratchBuffer()
        var loaded = Loaded()
        var unknown = 0
        do {
            try bytes.withUnsafeBytes { raw in
                try EventView.with(bytes: raw, tape: &tape, scratch: scratch) { v in
                    let items: [Int]
                    switch v.kind(0) {
                    case .array:
                        items = elements(v, 0)
                    case .object:
                        if let list = member(v, 0, "items"), v.kind(list) == .array { items = elements(v, list) } else { items = [0] }
                    default:
                        items = []
                    }
                    for item in items where v.kind(item) == .object {
                        if let k = member(v, item, "kind"), v.kind(k) == .string, v.string(k) == "Pod" {
                            inventory.add(pod: PodSummary(v, at: item))
                            loaded.pods += 1
                        } else if member(v, item, "Config") != nil, let c = DockerContainerSummary(inspect: v, at: item) {
                            inventory.add(container: c)
                            loaded.containers += 1
                        } else {
                            unknown += 1
                        }
                    }
                }
            }
        } catch let e as JSONError {
            throw Failure(description: "\(name): not a JSON document: \(e.description)")
        }
        if loaded.pods == 0 && loaded.containers == 0 && unknown > 0 {
            throw Failure(description: "\(name): neither a pods List (kubectl get pods -A -o json) nor a docker inspect array")
        }
        return loaded
    }

    static func member(_ v: EventView, _ node: Int, _ key: String) -> Int? {
        guard v.kind(node) == .object else { return nil }
        var k = node + 1
        let after = Int(v.nodes[node].after)
        while k < after {
            if v.string(k) == key { return k + 1 }
            k = Int(v.nodes[k + 1].after)
        }
        return nil
    }

    static func elements(_ v: EventView, _ node: Int) -> [Int] {
        var out: [Int] = []
        var c = node + 1
        let end = Int(v.nodes[node].after)
        while c < end {
            out.append(c)
            c = Int(v.nodes[c].after)
        }
        return out
    }
}
