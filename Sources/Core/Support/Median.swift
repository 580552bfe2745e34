/// The median of `values` (the mean of the two middle values for an even count; NaN for none).
/// Used for the latents' jump ratio and for every benchmark's reported timing.
public func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let s = values.sorted()
    let n = s.count
    return n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2])
}
