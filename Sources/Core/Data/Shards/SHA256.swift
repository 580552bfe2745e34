import COpenSSL

/// SHA-256 through OpenSSL's libcrypto (EVP), which uses the CPU's SHA extensions where it has
/// them (SHA-NI on these EPYCs). The one hash of the project: shard digests in the manifest, the
/// dataset fingerprint and the configuration fingerprint all use it.
/// Incremental: `update` with any chunking gives the same digest as one call over the whole input.
public struct SHA256 {
    public static let digestBytes = 32

    /// Owns the EVP context; copied on write, so a copy of a half-fed `SHA256` goes on independently.
    private final class Context {
        let ctx: OpaquePointer

        init() {
            guard let ctx = EVP_MD_CTX_new() else { SHA256.fail("EVP_MD_CTX_new") }
            self.ctx = ctx
            guard EVP_DigestInit_ex(ctx, EVP_sha256(), nil) == 1 else { SHA256.fail("EVP_DigestInit_ex") }
        }

        init(copying other: Context) {
            guard let ctx = EVP_MD_CTX_new() else { SHA256.fail("EVP_MD_CTX_new") }
            self.ctx = ctx
            guard EVP_MD_CTX_copy_ex(ctx, other.ctx) == 1 else { SHA256.fail("EVP_MD_CTX_copy_ex") }
        }

        deinit { EVP_MD_CTX_free(ctx) }
    }

    private var context = Context()

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        if !isKnownUniquelyReferenced(&context) { context = Context(copying: context) }
        guard EVP_DigestUpdate(context.ctx, base, bytes.count) == 1 else { Self.fail("EVP_DigestUpdate") }
    }

    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The digest of everything fed so far; the hasher starts over afterwards.
    public mutating func finalize() -> [UInt8] {
        if !isKnownUniquelyReferenced(&context) { context = Context(copying: context) }
        var out = [UInt8](repeating: 0, count: Self.digestBytes)
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context.ctx, &out, &length) == 1, length == Self.digestBytes else {
            Self.fail("EVP_DigestFinal_ex")
        }
        guard EVP_DigestInit_ex(context.ctx, EVP_sha256(), nil) == 1 else { Self.fail("EVP_DigestInit_ex") }
        return out
    }

    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: digestBytes)
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { EVP_Digest($0.baseAddress, $0.count, &out, &length, EVP_sha256(), nil) }
        guard ok == 1, length == digestBytes else { fail("EVP_Digest") }
        return out
    }

    public static func hash(_ string: String) -> [UInt8] { hash(Array(string.utf8)) }

    /// The first 8 bytes of the digest as a big-endian integer: a fingerprint that is the same on
    /// every machine, process and run (unlike Swift's seeded `Hasher`), for comparing
    /// configurations across ranks with one 64-bit allreduce.
    public static func prefix64(_ string: String) -> UInt64 {
        hash(string).prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    public static func hex(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var s = ""
        for b in digest { s.append(digits[Int(b >> 4)]); s.append(digits[Int(b & 15)]) }
        return s
    }

    /// Streams a file through SHA-256 in 4 MiB reads (constant memory for any file size).
    public static func hexDigest(ofFile path: String, ifDamaged advice: String = FileError.corrupt) throws -> String {
        let file = try FileReader(path: path, ifDamaged: advice)
        var h = SHA256()
        var buffer = [UInt8](repeating: 0, count: 4 << 20)
        var offset = 0
        while offset < file.size {
            let n = min(buffer.count, file.size - offset)
            try buffer.withUnsafeMutableBytes { try file.read(into: $0.baseAddress!, count: n, at: offset) }
            buffer.withUnsafeBytes { h.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            offset += n
        }
        return hex(h.finalize())
    }

    /// libcrypto fails a digest only when it cannot allocate or is misconfigured: nothing a caller
    /// could recover from, so stop with OpenSSL's own reason.
    fileprivate static func fail(_ call: String) -> Never {
        var text = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(ERR_get_error(), &text, text.count)
        fatalError("OpenSSL \(call) failed: \(String(cString: text))")
    }
}
