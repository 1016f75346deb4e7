import BulkheadEvent

/// Builds an enriched copy of a record: `{` + the original members + added members + `}`.
/// Used by JSON formats that add Sigma taxonomy and `entity` fields. The output buffer's
/// capacity is reused from record to record.
struct RecordRewriter {
    private(set) var bytes: [UInt8]
    private var needsComma: [Bool] = [false]

    /// Starts a copy of `record`'s root object, reusing `buffer`'s storage.
    init(copying record: EventView, reusing buffer: inout [UInt8]) {
        bytes = []
        swap(&bytes, &buffer)
        bytes.removeAll(keepingCapacity: true)
        bytes.append(0x7B)
        let root = record.nodes[0]
        if root.kind == .object, root.after > 1 {
            let start = Int(root.start) + 1
            let end = Int(root.end) - 1
            bytes.append(contentsOf: UnsafeBufferPointer(start: record.base + start, count: end - start))
            needsComma[0] = true
        }
    }

    /// Starts an empty object (for formats that build a record from scratch).
    init(reusing buffer: inout [UInt8]) {
        bytes = []
        swap(&bytes, &buffer)
        bytes.removeAll(keepingCapacity: true)
        bytes.append(0x7B)
    }

    /// Closes the object(s) and hands the bytes back to `out`.
    mutating func finish(into out: inout [UInt8]) {
        while needsComma.count > 1 { closeObject() }
        bytes.append(0x7D)
        swap(&bytes, &out)
    }

    private mutating func key(_ name: StaticString) {
        if needsComma[needsComma.count - 1] { bytes.append(0x2C) }
        needsComma[needsComma.count - 1] = true
        bytes.append(0x22)
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        bytes.append(0x22)
        bytes.append(0x3A)
    }

    mutating func openObject(_ name: StaticString) {
        key(name)
        bytes.append(0x7B)
        needsComma.append(false)
    }

    mutating func closeObject() {
        needsComma.removeLast()
        bytes.append(0x7D)
    }

    /// Adds a string member (skipped when nil or empty).
    mutating func add(_ name: StaticString, _ value: String?) {
        guard let value, !value.isEmpty else { return }
        key(name)
        JSONString.appendQuoted(value, to: &bytes)
    }

    /// Adds a string member from raw UTF-8 bytes.
    mutating func add(_ name: StaticString, bytes value: UnsafeBufferPointer<UInt8>) {
        guard !value.isEmpty else { return }
        key(name)
        JSONString.appendQuoted(bytes: value, to: &bytes)
    }

    /// Adds the text of a record's scalar value as a string (numbers as written). Skips
    /// null, empty strings, objects and arrays.
    mutating func addText(_ name: StaticString, _ record: EventView, _ node: Int?) {
        guard let node else { return }
        switch record.kind(node) {
        case .string, .number, .true, .false:
            record.withText(node) { add(name, bytes: $0) }
        default: return
        }
    }

    /// Adds the text at `path` as a string.
    mutating func addText(_ name: StaticString, _ record: EventView, _ path: FieldPath) {
        addText(name, record, record.first(path))
    }

    /// Copies a record's value (any JSON kind) as is.
    mutating func addRaw(_ name: StaticString, _ record: EventView, _ node: Int?) {
        guard let node else { return }
        key(name)
        let n = record.nodes[node]
        switch n.kind {
        case .string:
            bytes.append(contentsOf: UnsafeBufferPointer(start: record.base + Int(n.start) - 1, count: Int(n.end) - Int(n.start) + 2))
        default:
            bytes.append(contentsOf: UnsafeBufferPointer(start: record.base + Int(n.start), count: Int(n.end) - Int(n.start)))
        }
    }

    /// Adds an array of strings: every scalar value `path` reaches (arrays fan out).
    mutating func addStrings(_ name: StaticString, _ record: EventView, _ path: FieldPath) {
        var any = false
        record.forEachValue(path) { node in
            switch record.kind(node) {
            case .string, .number, .true, .false:
                if !any { key(name); bytes.append(0x5B); any = true } else { bytes.append(0x2C) }
                record.withText(node) { JSONString.appendQuoted(bytes: $0, to: &bytes) }
            default: break
            }
            return false
        }
        if any { bytes.append(0x5D) }
    }

    /// Adds a string array from Swift strings (skipped when empty).
    mutating func add(_ name: StaticString, strings: [String]) {
        guard !strings.isEmpty else { return }
        key(name)
        bytes.append(0x5B)
        for (i, s) in strings.enumerated() {
            if i > 0 { bytes.append(0x2C) }
            JSONString.appendQuoted(s, to: &bytes)
        }
        bytes.append(0x5D)
    }

    /// Adds a raw JSON literal (a number, `true`, an object built elsewhere).
    mutating func add(_ name: StaticString, literal: StaticString) {
        key(name)
        bytes.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    mutating func add(_ name: StaticString, number: Int) {
        key(name)
        bytes.append(contentsOf: String(number).utf8)
    }
}

/// Small text helpers for enrichment (used only when rewriting).
enum EnrichText {
    /// `containerd://abc…` / `docker://abc…` → `abc…`.
    static func stripRuntime(_ id: String?) -> String? {
        guard let id else { return nil }
        if let r = id.range(of: "://") { return String(id[r.upperBound...]) }
        return id
    }

    /// DNS names without the trailing root dot.
    static func trimDot(_ name: String?) -> String? {
        guard var name else { return nil }
        if name.count > 1, name.hasSuffix(".") { name.removeLast() }
        return name
    }

    /// Whether the root object has a top-level key (exact match, no dotted walking).
    static func hasTopLevelKey(_ r: EventView, _ key: StaticString) -> Bool {
        let root = r.nodes[0]
        guard root.kind == .object else { return false }
        var k = 1
        let after = Int(root.after)
        let p = key.utf8Start
        let n = key.utf8CodeUnitCount
        while k < after {
            let node = r.nodes[k]
            if Int(node.end) - Int(node.start) == n {
                var same = true
                for i in 0..<n where r.base[Int(node.start) + i] != p[i] { same = false; break }
                if same { return true }
            }
            k = Int(r.nodes[k + 1].after)
        }
        return false
    }
}

extension EventView {
    /// The first key/value of the root object.
    func firstMember() -> (key: Int, value: Int)? {
        guard !nodes.isEmpty, nodes[0].kind == .object, nodes[0].after > 1 else { return nil }
        return (1, 2)
    }

    /// Whether a string node equals `text`.
    func equals(_ node: Int?, _ text: StaticString) -> Bool {
        guard let node, kind(node) == .string else { return false }
        return withText(node) { v in
            let n = text.utf8CodeUnitCount
            guard v.count == n else { return false }
            for i in 0..<n where v[i] != text.utf8Start[i] { return false }
            return true
        }
    }

    /// Whether a string node contains `needle`.
    func contains(_ node: Int?, _ needle: StaticString) -> Bool {
        guard let node, kind(node) == .string else { return false }
        return withText(node) { ByteSearch.contains($0, needle) }
    }

}
