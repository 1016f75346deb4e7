import Foundation

/// This instance's id, kept in the data directory: it makes the message ids of its published
/// records unique among several `serve` replicas, and the same for a batch replayed after a
/// restart.
enum ServeInstance {
    static func id(dataDir: String) throws -> String {
        let path = (dataDir as NSString).appendingPathComponent("instance-id")
        if let data = FileManager.default.contents(atPath: path) {
            let s = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if !s.isEmpty { return s }
        }
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let id = UUID().uuidString.lowercased()
        try Data((id + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        return id
    }
}
