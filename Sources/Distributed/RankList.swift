/// "rank 3" / "ranks 0-2, 5" — compact rank lists for error messages from many ranks.
func describeRanks(_ ranks: [Int]) -> String {
    let sorted = ranks.sorted()
    var parts: [String] = []
    var i = 0
    while i < sorted.count {
        var j = i
        while j + 1 < sorted.count && sorted[j + 1] == sorted[j] + 1 { j += 1 }
        parts.append(j == i ? "\(sorted[i])" : "\(sorted[i])-\(sorted[j])")
        i = j + 1
    }
    return (sorted.count == 1 ? "rank " : "ranks ") + parts.joined(separator: ", ")
}
