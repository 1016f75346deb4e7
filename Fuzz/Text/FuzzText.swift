import Foundation
import BulkheadEvent
import BulkheadSources
import FuzzSupport

/// Every text telemetry reader (Linux audit, Zeek TSV, VPC flow logs, CoreDNS, ...): the first
/// byte picks the reader, the rest is fed line by line. A reader may reject a line; what it
/// emits must be one valid JSON record (the scan parses it as such).
let textFormats: [any TextFormat] = Formats.all.compactMap { if case .text(let t) = $0 { return t } else { return nil } }
nonisolated(unsafe) var tape = JSONTape()

func fuzzOne(_ bytes: UnsafeRawBufferPointer) {
    guard let first = bytes.first, !textFormats.isEmpty else { return }
    var decoder = textFormats[Int(first) % textFormats.count].makeDecoder()
    let check: ([UInt8], Int, Int) -> Void = { json, _, _ in
        json.withUnsafeBytes { raw in
            do { try tape.parse(raw) } catch { fatalError("a text reader emitted invalid JSON (\(error)): \(String(decoding: json, as: UTF8.self))") }
        }
    }
    let body = bytes.dropFirst()
    var number = 0
    var start = body.startIndex
    for i in body.indices where body[i] == 0x0A {
        number += 1
        UnsafeRawBufferPointer(rebasing: bytes[start..<i]).withMemoryRebound(to: UInt8.self) { _ = decoder.feed($0, lineNumber: number, emit: check) }
        start = i + 1
    }
    if start < body.endIndex {
        UnsafeRawBufferPointer(rebasing: bytes[start..<body.endIndex]).withMemoryRebound(to: UInt8.self) { _ = decoder.feed($0, lineNumber: number + 1, emit: check) }
    }
    decoder.finish(emit: check)
}

@main struct Target {
    static func main() {
        FuzzMain.run { data, size in
            fuzzOne(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }
    }
}
