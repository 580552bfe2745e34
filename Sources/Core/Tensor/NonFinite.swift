/// True if any of `count` floats is NaN or ±Inf. Integer max over the exponent bits (all ones
/// only for NaN/Inf), which the compiler vectorizes — unlike a float loop, whose adds it may not
/// reorder.
public func containsNonFinite(_ values: UnsafePointer<Float>, count: Int) -> Bool {
    let bits = UnsafeRawPointer(values).assumingMemoryBound(to: UInt32.self)
    var highest: UInt32 = 0
    for i in 0..<count { highest = max(highest, bits[i] & 0x7f80_0000) }
    return highest == 0x7f80_0000
}
