import BulkheadEngine
import Foundation

/// A partition's state at a stream sequence: everything the engine learned from the records up
/// to `lastSequence` of that partition, and nothing after. A worker taking the partition over
/// restores it and reads on from `lastSequence + 1`.
public struct PartitionCheckpoint: Codable, Sendable {
    public var version = 1
    public var partition: Int
    public var lastSequence: UInt64
    /// Records of this partition processed in total (for the logs and tests).
    public var records: UInt64
    public var baselines: StateSnapshot
    public var correlation: CorrelationSnapshot?
    public var inventory: Inventory?

    /// The engine's state now.
    public static func capture(_ engine: Engine, partition: Int, lastSequence: UInt64, records: UInt64) -> PartitionCheckpoint {
        PartitionCheckpoint(partition: partition, lastSequence: lastSequence, records: records,
                            baselines: engine.baselines.snapshot(), correlation: engine.correlator?.snapshot(),
                            inventory: engine.inventory.isEmpty ? nil : engine.inventory)
    }

    /// Puts the state into a fresh engine; returns what could not be taken back.
    @discardableResult
    public func restore(into engine: Engine) -> [String] {
        var skipped = engine.baselines.restore(baselines).skipped
        if let correlation {
            if let c = engine.correlator { skipped += c.restore(correlation).skipped } else { skipped += correlation.signatures.keys.sorted() }
        }
        if let inventory { engine.inventory = inventory }
        return skipped
    }

    func encoded() throws -> [UInt8] { [UInt8](try JSONEncoder.sorted.encode(self)) }
    static func decode(_ bytes: [UInt8]) throws -> PartitionCheckpoint { try JSONDecoder().decode(PartitionCheckpoint.self, from: Data(bytes)) }
}

extension JSONEncoder {
    /// Sorted keys: equal states encode to equal bytes.
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }
}
