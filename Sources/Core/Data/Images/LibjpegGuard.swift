import CJPEG
#if canImport(Glibc)
import Glibc
#endif

/// libjpeg reports fatal errors by calling `error_exit`, which must not return (the library's
/// state is undefined afterwards) and is normally escaped with longjmp — unavailable in Swift.
/// Instead every libjpeg call sequence runs on its own short-lived thread: our `error_exit`
/// records the formatted message and ends that thread with `pthread_exit`. The calling thread joins
/// it, sees the failure flag and destroys the codec object itself (libjpeg's memory manager is
/// per object, so that is safe), then throws a Swift error. The thread body holds only raw
/// pointers, so nothing reference-counted is skipped when the thread ends early.
/// Corrupt-data *warnings* (truncated files, bad Huffman codes), which libjpeg would print and
/// paper over with grey blocks, are counted and turned into errors by the callers.
struct LibjpegStatus {
    var failed: Bool = false
    var warnings: Int = 0
    /// First error or warning, formatted by libjpeg (JMSG_LENGTH_MAX bytes).
    var message: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                  UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                  UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    var messageText: String {
        var copy = message
        return withUnsafeBytes(of: &copy) { raw in
            let end = raw.firstIndex(of: 0) ?? raw.count
            return String(decoding: raw.prefix(end), as: UTF8.self)
        }
    }
}

enum LibjpegGuard {
    /// Installs the non-exiting error handlers on `err` and returns it (for `cinfo.err`).
    /// `client_data` of the codec object must point at a `LibjpegStatus`.
    static func install(_ err: UnsafeMutablePointer<jpeg_error_mgr>) -> UnsafeMutablePointer<jpeg_error_mgr> {
        let manager = jpeg_std_error(err)!
        manager.pointee.error_exit = { common in
            guard let common else { pthread_exit(nil) }
            let status = common.pointee.client_data.assumingMemoryBound(to: LibjpegStatus.self)
            recordLibjpegMessage(common, status)
            status.pointee.failed = true
            pthread_exit(nil)
        }
        manager.pointee.emit_message = { common, level in
            // level −1: corrupt-data warning; ≥ 0: trace messages, ignored.
            guard let common, level < 0 else { return }
            let status = common.pointee.client_data.assumingMemoryBound(to: LibjpegStatus.self)
            if status.pointee.warnings == 0 { recordLibjpegMessage(common, status) }
            status.pointee.warnings += 1
            common.pointee.err.pointee.num_warnings += 1
        }
        manager.pointee.output_message = { _ in }
        return manager
    }

    /// Runs `body(context)` on a fresh thread and waits for it; returns false if the thread could
    /// not be started.
    static func run(_ body: @escaping @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?,
                    context: UnsafeMutableRawPointer) -> Bool {
        var thread = pthread_t()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, 4 << 20)
        guard pthread_create(&thread, &attributes, body, context) == 0 else { return false }
        pthread_join(thread, nil)
        return true
    }
}

private func recordLibjpegMessage(_ common: j_common_ptr, _ status: UnsafeMutablePointer<LibjpegStatus>) {
    withUnsafeMutableBytes(of: &status.pointee.message) { raw in
        raw.initializeMemory(as: UInt8.self, repeating: 0)
        common.pointee.err.pointee.format_message(common, raw.baseAddress!.assumingMemoryBound(to: CChar.self))
        raw[raw.count - 1] = 0
    }
}
