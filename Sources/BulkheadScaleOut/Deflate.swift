import CZlib

/// zlib for checkpoints: state JSON shrinks several times, so most partitions' state fits one
/// NATS message.
enum Deflate {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static func compress(_ input: [UInt8]) throws -> [UInt8] {
        var length = compressBound(uLong(input.count))
        var out = [UInt8](repeating: 0, count: Int(length))
        let rc = out.withUnsafeMutableBufferPointer { o in
            input.withUnsafeBufferPointer { i in compress2(o.baseAddress, &length, i.baseAddress, uLong(i.count), 6) }
        }
        guard rc == Z_OK else { throw Failure(description: "zlib compress failed (\(rc))") }
        out.removeLast(out.count - Int(length))
        return out
    }

    /// Inflates to exactly `size` bytes (the size the writer recorded, checked against a limit
    /// before this allocation).
    static func decompress(_ input: [UInt8], size: Int) throws -> [UInt8] {
        var length = uLong(size)
        var out = [UInt8](repeating: 0, count: size)
        let rc = out.withUnsafeMutableBufferPointer { o in
            input.withUnsafeBufferPointer { i in uncompress(o.baseAddress, &length, i.baseAddress, uLong(i.count)) }
        }
        guard rc == Z_OK, Int(length) == size else { throw Failure(description: "checkpoint does not inflate to its recorded size (zlib \(rc))") }
        return out
    }
}
