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

    /// True once `join()` has returned, i.e. the thread has really exited: lets a test check that
    /// the threads it created are gone without counting the process's threads (others' too).
    private(set) var isJoined = false

    func join() {
        let rc = pthread_join(handle, nil)
        precondition(rc == 0, "pthread_join failed: \(rc)")
        isJoined = true
    }

    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }
}
