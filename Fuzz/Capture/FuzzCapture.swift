import Foundation
import BulkheadEvent
import BulkheadSources
import FuzzSupport

/// The packet-capture reader (pcap and pcapng: link layers, IPv4/IPv6, TCP/UDP, DNS, TLS SNI).
/// Whatever it emits must be valid JSON.
let captures: [any BinaryFormat] = Formats.all.compactMap { if case .binary(let b) = $0 { return b } else { return nil } }
nonisolated(unsafe) var tape = JSONTape()

func fuzzOne(_ bytes: UnsafeRawBufferPointer) {
    for f in captures {
        f.decode(bytes, emit: { json, _, _ in
            json.withUnsafeBytes { raw in
                do { try tape.parse(raw) } catch { fatalError("the capture reader emitted invalid JSON (\(error))") }
            }
        }, problem: { _, _ in })
    }
}

@main struct Target {
    static func main() {
        FuzzMain.run { data, size in
            fuzzOne(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }
    }
}
