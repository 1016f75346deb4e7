/// Raw members of a JSON object's text, without parsing it into values: a JSON-lines alert
/// embeds its `event` verbatim, and a baseline's explanation its `record`, and the exact bytes
/// are what the alert id is made of.
public enum JSONMember {
    /// The text of the top-level member `key` of the JSON object `line`, or nil.
    public static func raw(_ key: String, in line: String) -> String? {
        let b = Array(line.utf8)
        let target = Array("\"\(key)\"".utf8)
        var depth = 0, i = 0, inString = false, escaped = false, stringStart = 0
        while i < b.count {
            let c = b[i]
            if inString {
                if escaped { escaped = false } else if c == 0x5C { escaped = true } else if c == 0x22 {
                    inString = false
                    if depth == 1, Array(b[stringStart...i]) == target {
                        var j = i + 1
                        while j < b.count, b[j] == 0x20 { j += 1 }
                        if j < b.count, b[j] == 0x3A { return memberValue(b, from: j + 1) }
                    }
                }
            } else if c == 0x22 {
                inString = true
                stringStart = i
            } else if c == 0x7B || c == 0x5B { depth += 1 } else if c == 0x7D || c == 0x5D { depth -= 1 }
            i += 1
        }
        return nil
    }

    /// The value starting at `from` (after the colon), up to the comma or brace that closes it.
    private static func memberValue(_ b: [UInt8], from: Int) -> String? {
        var depth = 0, i = from, inString = false, escaped = false
        while i < b.count {
            let c = b[i]
            if inString {
                if escaped { escaped = false } else if c == 0x5C { escaped = true } else if c == 0x22 { inString = false }
            } else if c == 0x22 { inString = true } else if c == 0x7B || c == 0x5B { depth += 1 } else if c == 0x7D || c == 0x5D {
                if depth == 0 { return String(decoding: b[from..<i], as: UTF8.self) }
                depth -= 1
            } else if c == 0x2C && depth == 0 { return String(decoding: b[from..<i], as: UTF8.self) }
            i += 1
        }
        return nil
    }
}
