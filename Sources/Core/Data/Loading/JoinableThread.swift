#if canImport(Glibc)
import Glibc
#endif

/// A pthread that can be joined: `stop()` returns only after the thread has really exited, so no
/// prefetch thread outlives its loader (Foundation's Thread cannot be joined).
final class JoinableThread {
    private var handle = pthread_t()

    init(_ body: @escaping () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let rc = pthread_create(&handle, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
    }

    func join() { pthread_join(handle, nil) }

    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }
}
