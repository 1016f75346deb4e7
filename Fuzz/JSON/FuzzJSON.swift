import Foundation
import BulkheadEvent
import FuzzSupport

/// The JSON tape and field access: parse, then walk the paths rules use (dotted, arrays,
/// quoted keys). Anything may be rejected; nothing may crash or hang.
nonisolated(unsafe) var tape = JSONTape(limits: .init(maxDepth: 256, maxBytes: 1 << 20))
nonisolated(unsafe) let scratch = ScratchBuffer()
let paths = ["a", "a.b", "a.b.c", "items", "Records", "user.username", "objectRef.resource", "requestObject.spec.containers.securityContext.privileged",
             "annotations.\"authorization.k8s.io/decision\"", "process.arguments", "output_fields.proc.cmdline", "0", ""].map(FieldPath.init)

func fuzzOne(_ bytes: UnsafeRawBufferPointer) {
    guard bytes.count > 0 else { return }
    _ = try? EventView.with(bytes: bytes, tape: &tape, scratch: scratch) { view in
        for p in paths {
            _ = view.firstString(p)
            _ = view.forEachValue(p) { _ in true }
        }
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
