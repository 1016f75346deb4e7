import CZlib
import Foundation

/// Reads a file or stdin in fixed-size chunks, transparently gunzipping. Memory stays
/// bounded by the chunk size whatever the input size.
public final class ByteStream {
    public let name: String
    private let fd: Int32
    private let ownsFD: Bool
    private var inflater: Inflater?
    private var raw = [UInt8](repeating: 0, count: 1 << 20)
    private var pending: [UInt8] = []   // bytes read while sniffing, replayed first
    public private(set) var bytesRead = 0
    public private(set) var isGzip = false
    /// A pipe, socket or terminal (`tail -f ... | bulkhead scan -`): reads return what the
    /// writer has sent so far, and the next one may wait for more.
    public let isLive: Bool
    /// The last read returned less than it asked for: on a live input, everything sent so far
    /// has been read and should be processed before the next read waits.
    public private(set) var caughtUp = false
    /// Decompressed bytes handed out so far, and the most allowed (a gzip bomb stops here).
    private var bytesOut = 0
    private let maxOutput: Int

    /// `name` labels origins and errors (default: the path); `maxOutput` bounds the
    /// (decompressed) bytes read from this input.
    public init(path: String, name: String? = nil, maxOutput: Int = .max) throws {
        self.maxOutput = maxOutput
        if path == "-" {
            fd = 0
            ownsFD = false
            self.name = name ?? "<stdin>"
        } else {
            fd = open(path, O_RDONLY)
            guard fd >= 0 else { throw ScanError.io(path, String(cString: strerror(errno))) }
            ownsFD = true
            self.name = name ?? path
        }
        var info = stat()
        isLive = fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG && (info.st_mode & S_IFMT) != S_IFBLK
        // Sniff gzip magic.
        var head = try readRaw(max: 2)
        while head.count < 2 {
            let more = try readRaw(max: 2 - head.count)
            if more.isEmpty { break }
            head += more
        }
        if head.count == 2 && head[0] == 0x1F && head[1] == 0x8B {
            isGzip = true
            inflater = try Inflater(name: self.name)
        }
        pending = head
    }

    deinit { if ownsFD { close(fd) } }

    private func readRaw(max: Int) throws -> [UInt8] {
        let n = raw.withUnsafeMutableBytes { read(fd, $0.baseAddress, Swift.min(max, $0.count)) }
        if n < 0 { throw ScanError.io(name, String(cString: strerror(errno))) }
        bytesRead += n
        caughtUp = n < max
        return Array(raw[0..<n])
    }

    /// Next chunk of (decompressed) bytes; empty at end of input.
    public func next() throws -> [UInt8] {
        var chunk: [UInt8] = []
        try next(into: &chunk)
        return chunk
    }

    /// Replaces `chunk`'s bytes with the next chunk (empty at end of input), reusing its storage:
    /// no allocation per chunk once it has grown.
    public func next(into chunk: inout [UInt8]) throws {
        chunk.removeAll(keepingCapacity: true)
        try nextUnbounded(into: &chunk)
        bytesOut += chunk.count
        if bytesOut > maxOutput { throw ScanError.tooLarge(name, maxOutput) }
    }

    private func nextUnbounded(into chunk: inout [UInt8]) throws {
        if let inflater {
            while true {
                if try inflater.drain(into: &chunk) { return }
                if inflater.hasPendingInput { continue }
                var input = pending
                pending = []
                if input.isEmpty { input = try readRaw(max: raw.count) }
                if input.isEmpty { return }
                try inflater.feed(input)
            }
        }
        if !pending.isEmpty {
            chunk.append(contentsOf: pending)
            pending = []
            try readRaw(max: raw.count - chunk.count, appendingTo: &chunk)
            return
        }
        try readRaw(max: raw.count, appendingTo: &chunk)
    }

    private func readRaw(max: Int, appendingTo chunk: inout [UInt8]) throws {
        let n = raw.withUnsafeMutableBytes { read(fd, $0.baseAddress, Swift.min(max, $0.count)) }
        if n < 0 { throw ScanError.io(name, String(cString: strerror(errno))) }
        bytesRead += n
        caughtUp = n < max
        raw.withUnsafeBufferPointer { chunk.append(contentsOf: UnsafeBufferPointer(rebasing: $0[0..<n])) }
    }
}

public enum ScanError: Error, CustomStringConvertible {
    case io(String, String)
    case gzip(String, String)
    case tooLarge(String, Int)

    public var description: String {
        switch self {
        case .io(let f, let m): return "\(f): \(m)"
        case .gzip(let f, let m): return "\(f): gzip: \(m)"
        case .tooLarge(let f, let n): return "\(f): larger than \(n) bytes"
        }
    }
}

/// Streaming gzip (and concatenated gzip members) decompression with zlib.
final class Inflater {
    private var stream = z_stream()
    private var input: [UInt8] = []
    private var inputOffset = 0
    private var out = [UInt8](repeating: 0, count: 1 << 20)
    private var ended = false
    private let name: String

    init(name: String) throws {
        self.name = name
        let rc = inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw ScanError.gzip(name, "inflateInit failed (\(rc))") }
    }

    deinit { inflateEnd(&stream) }

    func feed(_ bytes: [UInt8]) throws {
        input = bytes
        inputOffset = 0
    }

    /// Decompresses what it can from the pending input into `chunk`; false when more input is
    /// needed.
    func drain(into chunk: inout [UInt8]) throws -> Bool {
        let total = input.count
        let offset = inputOffset
        guard offset < total else { return false }
        let outCount = out.count
        // Counts are read before the buffers are borrowed: no overlapping access to self.
        let (rc, remainingIn, remainingOut, message): (Int32, Int, Int, String?) = input.withUnsafeMutableBufferPointer { inBuf in
            out.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = inBuf.baseAddress! + offset
                stream.avail_in = UInt32(total - offset)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = UInt32(outCount)
                let rc = inflate(&stream, Z_NO_FLUSH)
                return (rc, Int(stream.avail_in), Int(stream.avail_out), stream.msg.map { String(cString: $0) })
            }
        }
        let consumed = (total - offset) - remainingIn
        inputOffset += consumed
        let produced = outCount - remainingOut
        if rc == Z_STREAM_END {
            // Another gzip member may follow (concatenated .gz files).
            inflateReset(&stream)
        } else if rc != Z_OK && rc != Z_BUF_ERROR {
            throw ScanError.gzip(name, message ?? "error \(rc)")
        }
        if produced == 0 {
            // Nothing came out: either the input is used up or more is needed.
            if consumed == 0 { inputOffset = total }
            return false
        }
        out.withUnsafeBufferPointer { chunk.append(contentsOf: UnsafeBufferPointer(rebasing: $0[0..<produced])) }
        return true
    }

    var hasPendingInput: Bool { inputOffset < input.count }
}
