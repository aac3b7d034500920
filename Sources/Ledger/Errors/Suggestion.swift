/// "Did you mean …?" for a name that is not one of a fixed set (event types, purpose ids): the
/// closest valid name by edit distance, when it is close enough to be a typo.
package enum Suggestion {
    /// The valid names listed, and the closest one suggested, as a clause to append to an error:
    /// ` (one of a, b, c; did you mean b?)`. Only catalogue names appear, never the input itself.
    package static func clause(for input: String, among names: [String]) -> String {
        guard !names.isEmpty else { return " (the catalogue names none)" }
        var text = " (one of \(names.joined(separator: ", "))"
        if let closest = closest(to: input, among: names) { text += "; did you mean \(closest)?" }
        return text + ")"
    }

    /// The name nearest `input`, if its edit distance is at most a third of its length (at least
    /// 2), case-insensitively; `nil` when none is that near.
    package static func closest(to input: String, among names: [String]) -> String? {
        let typed = Array(input.lowercased().unicodeScalars.prefix(128))
        var best: (name: String, distance: Int)?
        for name in names {
            let candidate = Array(name.lowercased().unicodeScalars)
            let distance = editDistance(typed, candidate)
            guard distance <= max(2, candidate.count / 3) else { continue }
            if best.map({ distance < $0.distance }) ?? true { best = (name, distance) }
        }
        return best?.name
    }

    /// Levenshtein distance, with a transposition of neighbours counted as one edit.
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var before = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], before[j - 2] + 1)
                }
            }
            before = previous
            previous = current
        }
        return previous[b.count]
    }
}
