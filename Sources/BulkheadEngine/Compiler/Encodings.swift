/// Value transformations of the Sigma modifiers appendix, done once at compile time.
enum Encodings {
    static let dashes = ["-", "/", "\u{2013}", "\u{2014}", "\u{2015}"]

    /// `windash`: every combination of dash characters at each option-like dash or slash
    /// (a `-` or `/` at a word start, as pySigma's `\B[-/]\b`).
    static func windash(_ s: String) -> [String] {
        let chars = Array(s)
        var positions: [Int] = []
        for (i, c) in chars.enumerated() where c == "-" || c == "/" {
            let prevWord = i > 0 && (chars[i - 1].isLetter || chars[i - 1].isNumber || chars[i - 1] == "_")
            let nextWord = i + 1 < chars.count && (chars[i + 1].isLetter || chars[i + 1].isNumber || chars[i + 1] == "_")
            if !prevWord && nextWord { positions.append(i) }
        }
        guard !positions.isEmpty else { return [s] }
        var results: [[Character]] = [chars]
        for p in positions.prefix(5) {
            var next: [[Character]] = []
            for r in results {
                for d in dashes { var x = r; x[p] = Character(d); next.append(x) }
            }
            results = next
        }
        return results.map { String($0) }
    }

    static func hasWildcard(_ s: String) -> Bool {
        var escaped = false
        for c in s {
            if escaped { escaped = false; continue }
            if c == "\\" { escaped = true; continue }
            if c == "*" || c == "?" { return true }
        }
        return false
    }

    /// Sigma escapes removed: `\*` → `*`, `\?` → `?`, `\\` → `\`.
    static func unescapeSigma(_ s: String) -> String {
        var out = ""
        var it = Array(s)
        var i = 0
        while i < it.count {
            if it[i] == "\\", i + 1 < it.count, "*?\\".contains(it[i + 1]) { out.append(it[i + 1]); i += 2; continue }
            out.append(it[i]); i += 1
        }
        it = []
        return out
    }

    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func base64(_ b: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i + 3 <= b.count {
            let n = UInt32(b[i]) << 16 | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2])
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        let rest = b.count - i
        if rest == 1 {
            let n = UInt32(b[i]) << 16
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], 0x3D, 0x3D]
        } else if rest == 2 {
            let n = UInt32(b[i]) << 16 | UInt32(b[i + 1]) << 8
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], 0x3D]
        }
        return out
    }

    /// The three shifted encodings whose stable middle appears wherever the value sits inside
    /// a longer base64 text (pySigma's offsets).
    static func base64offset(_ b: [UInt8]) -> [[UInt8]] {
        let starts = [0, 2, 3]
        let ends = [0, -3, -2]  // 0 means no trimming
        var out: [[UInt8]] = []
        for i in 0..<3 {
            let enc = base64(Array(repeating: 0x20, count: i) + b)
            let end = ends[(b.count + i) % 3]
            let upper = end == 0 ? enc.count : enc.count + end
            guard starts[i] < upper else { continue }
            out.append(Array(enc[starts[i]..<upper]))
        }
        return out
    }

    static func utf16(_ b: [UInt8], bigEndian: Bool, bom: Bool) -> [UInt8] {
        var out: [UInt8] = bom ? [0xFF, 0xFE] : []
        for unit in String(decoding: b, as: UTF8.self).utf16 {
            let lo = UInt8(unit & 0xFF), hi = UInt8(unit >> 8)
            if bigEndian { out += [hi, lo] } else { out += [lo, hi] }
        }
        return out
    }
}
