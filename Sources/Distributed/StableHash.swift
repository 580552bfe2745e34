import Foundation

/// 64-bit FNV-1a: a hash that is the same on every machine, process and run (unlike Swift's
/// `Hasher`, which is seeded per process), for comparing configurations and manifests across ranks.
/// Not cryptographic; collisions between honest inputs are ~2⁻⁶⁴ unlikely.
public struct StableHasher: Sendable {
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    public static let prime: UInt64 = 0x0000_0100_0000_01b3

    public private(set) var value: UInt64 = StableHasher.offsetBasis

    public init() {}

    /// Feeds raw bytes (plain FNV-1a: hashing one byte sequence gives the published test values).
    public mutating func combine(bytes: UnsafeRawBufferPointer) {
        var h = value
        for byte in bytes {
            h ^= UInt64(byte)
            h &*= StableHasher.prime
        }
        value = h
    }

    /// Feeds an integer as 8 little-endian bytes (platform-independent).
    public mutating func combine(_ integer: UInt64) {
        withUnsafeBytes(of: integer.littleEndian) { combine(bytes: $0) }
    }

    /// Feeds a string's UTF-8 bytes preceded by its length, so that a sequence of fields cannot
    /// collide with a different split of the same characters ("ab","c" vs "a","bc").
    public mutating func combine(_ string: String) {
        let utf8 = Array(string.utf8)
        combine(UInt64(utf8.count))
        utf8.withUnsafeBytes { combine(bytes: $0) }
    }
}

/// FNV-1a of a byte sequence.
public func stableHash64(_ data: Data) -> UInt64 {
    var hasher = StableHasher()
    data.withUnsafeBytes { hasher.combine(bytes: $0) }
    return hasher.value
}

/// FNV-1a of a string's UTF-8 bytes (no length prefix: equals `stableHash64(Data(string.utf8))`).
public func stableHash64(_ string: String) -> UInt64 {
    var hasher = StableHasher()
    let utf8 = Array(string.utf8)
    utf8.withUnsafeBytes { hasher.combine(bytes: $0) }
    return hasher.value
}
