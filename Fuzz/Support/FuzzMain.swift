import Foundation

public typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: FuzzCallback) -> Int32
#endif

/// Fuzz targets are built two ways. With `-DFUZZING -sanitize=fuzzer,address` (scripts/fuzz),
/// `main` hands the callback to libFuzzer's driver. Without, the same binary replays files:
/// every path given (files, or directories read recursively) goes through the target once,
/// so the corpus and every crash found stay regression tests (`.ci/run` replays
/// Fuzz/regressions).
public enum FuzzMain {
    public static func run(_ callback: FuzzCallback) -> Never {
        #if FUZZING
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
        #else
        exit(replay(Array(CommandLine.arguments.dropFirst()), callback))
        #endif
    }

    static func replay(_ arguments: [String], _ callback: FuzzCallback) -> Int32 {
        var files: [String] = []
        for path in arguments {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
                FileHandle.standardError.write(Data("fuzz replay: \(path): no such file or directory\n".utf8))
                return 2
            }
            if !isDir.boolValue { files.append(path); continue }
            let e = FileManager.default.enumerator(atPath: path)
            while let rel = e?.nextObject() as? String {
                let full = (path as NSString).appendingPathComponent(rel)
                if FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue { files.append(full) }
            }
        }
        for f in files.sorted() {
            guard let data = FileManager.default.contents(atPath: f) else { continue }
            // libFuzzer never passes a null pointer; nor does the replay (an empty input gets a valid one).
            let bytes = [UInt8](data) + [0]
            _ = bytes.withUnsafeBufferPointer { callback($0.baseAddress, data.count) }
        }
        print("replayed \(files.count) inputs")
        return 0
    }
}
