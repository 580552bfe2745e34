/// Keeps large activation buffers inside the malloc heap instead of fresh mmap regions: otherwise
/// every multi-megabyte tensor of every step pays its page faults again (measured: 31–54 ms to fill
/// a new 35 MB buffer against 3–13 ms for a reused one).
public enum MemoryTuning {
    public static func keepLargeAllocationsInHeap() {
        #if os(Linux)
        // glibc's <malloc.h> is not in Swift's Glibc module; these are its documented constants.
        let mmapThreshold: Int32 = -3, trimThreshold: Int32 = -1
        _ = glibcMallopt(mmapThreshold, 512 << 20)
        _ = glibcMallopt(trimThreshold, 1 << 30)
        #endif
    }
}

#if os(Linux)
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
