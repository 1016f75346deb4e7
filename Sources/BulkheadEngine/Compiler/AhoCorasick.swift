/// Finds which of many literals occur in a value, in one pass over its bytes (Aho-Corasick,
/// compiled to a DFA over byte classes), ASCII case folded: the prefilter's `contains` atoms,
/// hundreds of them on a command line field in a process-creation pack.
///
/// Built once per indexed field; matching is table lookups only and allocates nothing.
struct AhoCorasick: @unchecked Sendable {
    /// Byte → class (bytes no literal uses share class 0).
    private let classOf: Table<UInt8>
    private let classCount: Int
    /// `states × classCount` transitions.
    private let delta: Table<Int32>
    /// Per state: the literals ending there (own and through suffix links), as a range of `found`.
    private let outStart: Table<Int32>
    private let outCount: Table<Int32>
    private let found: Table<Int32>
    let literalCount: Int

    /// Bounds the automaton: literals beyond `maxBytes` in total are not indexed (nil).
    static let maxBytes = 1 << 16

    /// `literals` must be ASCII-folded already (empty ones are not allowed).
    init?(_ literals: [[UInt8]]) {
        guard !literals.isEmpty, literals.allSatisfy({ !$0.isEmpty }),
              literals.reduce(0, { $0 + $1.count }) <= Self.maxBytes else { return nil }
        var classes = [UInt8](repeating: 0, count: 256)
        var next: UInt8 = 1
        for l in literals {
            for b in l where classes[Int(b)] == 0 {
                classes[Int(b)] = next
                next += 1
                // Upper-case ASCII folds onto its lower-case letter's class.
                if b >= 0x61 && b <= 0x7A { classes[Int(b) - 32] = classes[Int(b)] }
            }
        }
        let width = Int(next)
        // Trie.
        var children: [[Int32]] = [Array(repeating: -1, count: width)]
        var outputs: [[Int32]] = [[]]
        for (id, l) in literals.enumerated() {
            var s = 0
            for b in l {
                let c = Int(classes[Int(b)])
                if children[s][c] < 0 {
                    children[s][c] = Int32(children.count)
                    children.append(Array(repeating: -1, count: width))
                    outputs.append([])
                }
                s = Int(children[s][c])
            }
            outputs[s].append(Int32(id))
        }
        // Breadth first: failure links, full transitions, inherited outputs.
        var fail = [Int32](repeating: 0, count: children.count)
        var delta = [Int32](repeating: 0, count: children.count * width)
        var queue: [Int] = []
        for c in 0..<width {
            let child = children[0][c]
            if child >= 0 {
                delta[c] = child
                queue.append(Int(child))
            }
        }
        var head = 0
        while head < queue.count {
            let s = queue[head]
            head += 1
            outputs[s] += outputs[Int(fail[s])]
            for c in 0..<width {
                let child = children[s][c]
                if child >= 0 {
                    fail[Int(child)] = delta[Int(fail[s]) * width + c]
                    delta[s * width + c] = child
                    queue.append(Int(child))
                } else {
                    delta[s * width + c] = delta[Int(fail[s]) * width + c]
                }
            }
        }
        var starts: [Int32] = [], counts: [Int32] = [], flat: [Int32] = []
        for o in outputs {
            let unique = Array(Set(o)).sorted()
            starts.append(Int32(flat.count))
            counts.append(Int32(unique.count))
            flat += unique
        }
        classOf = Table(classes)
        classCount = width
        self.delta = Table(delta)
        outStart = Table(starts)
        outCount = Table(counts)
        found = Table(flat)
        literalCount = literals.count
    }

    func free() {
        classOf.free(); delta.free(); outStart.free(); outCount.free(); found.free()
    }

    /// Calls `body` with the id of each literal occurrence in `v` (an id may come more than once).
    @inline(__always)
    func forEachMatch(_ v: UnsafeBufferPointer<UInt8>, _ body: (Int) -> Void) {
        var s = 0
        for b in v {
            s = Int(delta[s * classCount + Int(classOf[Int(b)])])
            let n = Int(outCount[s])
            if n > 0 {
                let start = Int(outStart[s])
                for k in start..<(start + n) { body(Int(found[k])) }
            }
        }
    }
}
