/// The shape most schema `pattern`s have — `^[A-Z0-9-]{5,20}$`, `^3301[0-9]{2}$` — matched
/// without a regular-expression engine: anchored at both ends, a sequence of literal characters
/// and bracket classes, each with an optional quantifier (`?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}`).
///
/// Foundation's `NSRegularExpression` converts every value to UTF-16 and runs ICU; on the call
/// path that was 1.5 % of a partner call for one nine-character field. Patterns outside this
/// shape (groups, alternation, `\d`, `.`, …) are still compiled by Foundation.
///
/// Semantics are ECMA-262's, which JSON Schema names: `$` matches only at the very end (ICU's
/// `$` also matches before a final line break, so `"abc\n"` would pass `^[a-z]+$` there).
/// Matching walks the value's Unicode scalars and keeps the set of positions each atom can
/// reach, so it is linear in the value's length per atom whatever the pattern (no
/// backtracking blow-up).
struct AnchoredPattern: Sendable {
    /// One element of the sequence: the scalars it accepts and how many times.
    struct Atom: Sendable, Equatable {
        /// Inclusive scalar ranges (a literal is a range of one).
        var ranges: [ClosedRange<UInt32>]
        /// `[^…]`: accepts scalars outside the ranges.
        var negated: Bool
        var min: Int
        /// nil: unbounded.
        var max: Int?

        func accepts(_ scalar: UInt32) -> Bool {
            ranges.contains { $0.contains(scalar) } != negated
        }
    }

    let atoms: [Atom]

    /// The pattern's atoms, or nil when the pattern is not of the supported shape.
    init?(_ pattern: String) {
        var scalars = Array(pattern.unicodeScalars)[...]
        guard scalars.first == "^", scalars.last == "$", scalars.count >= 2 else { return nil }
        scalars = scalars.dropFirst().dropLast()
        // `\$` at the end would be an escaped dollar, not the anchor.
        if scalars.last == "\\" { return nil }
        var atoms: [Atom] = []
        while let first = scalars.first {
            var atom: Atom
            switch first {
            case "[":
                guard let parsed = Self.bracket(&scalars) else { return nil }
                atom = parsed
            case "\\":
                scalars = scalars.dropFirst()
                // Only escaped punctuation: `\d`, `\w`, `\s`, `\b`… mean classes or assertions.
                guard let escaped = scalars.first, escaped.isASCII, !Self.isAlphanumeric(escaped) else { return nil }
                scalars = scalars.dropFirst()
                atom = Atom(ranges: [escaped.value...escaped.value], negated: false, min: 1, max: 1)
            case "(", ")", "|", ".", "*", "+", "?", "{", "}", "^", "$", "]":
                return nil
            default:
                scalars = scalars.dropFirst()
                atom = Atom(ranges: [first.value...first.value], negated: false, min: 1, max: 1)
            }
            guard Self.quantifier(&scalars, into: &atom) else { return nil }
            atoms.append(atom)
        }
        self.atoms = atoms
    }

    private static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }

    /// `[…]` or `[^…]` of literals, escaped punctuation and `a-z` ranges.
    private static func bracket(_ scalars: inout ArraySlice<Unicode.Scalar>) -> Atom? {
        scalars = scalars.dropFirst()
        var negated = false
        if scalars.first == "^" {
            negated = true
            scalars = scalars.dropFirst()
        }
        var ranges: [ClosedRange<UInt32>] = []
        var first = true
        while let scalar = scalars.first {
            if scalar == "]", !first {
                scalars = scalars.dropFirst()
                return ranges.isEmpty ? nil : Atom(ranges: ranges, negated: negated, min: 1, max: 1)
            }
            // A bare `-` is literal only first or last: elsewhere ICU reads `--` as set
            // difference, and `a-z-9` differs between engines.
            if scalar == "-", !first, scalars.dropFirst().first != "]" { return nil }
            first = false
            guard let low = classMember(&scalars) else { return nil }
            if scalars.first == "-", scalars.dropFirst().first.map({ $0 != "]" }) == true {
                scalars = scalars.dropFirst()
                guard let high = classMember(&scalars), low <= high else { return nil }
                ranges.append(low...high)
            } else {
                ranges.append(low...low)
            }
        }
        return nil
    }

    private static func classMember(_ scalars: inout ArraySlice<Unicode.Scalar>) -> UInt32? {
        guard let scalar = scalars.first else { return nil }
        scalars = scalars.dropFirst()
        switch scalar {
        case "\\":
            guard let escaped = scalars.first, escaped.isASCII, !isAlphanumeric(escaped) else { return nil }
            scalars = scalars.dropFirst()
            return escaped.value
        case "[", "]":
            // `[` inside a class starts a POSIX class or a set operation in ICU.
            return nil
        case "&" where scalars.first == "&":
            // `&&`: intersection in ICU.
            return nil
        default:
            return scalar.value
        }
    }

    /// An optional quantifier after an atom. Lazy (`*?`) and possessive (`*+`) forms are not
    /// supported: whole-value matching makes them mean the same, but they are rare enough not
    /// to need it.
    private static func quantifier(_ scalars: inout ArraySlice<Unicode.Scalar>, into atom: inout Atom) -> Bool {
        guard let scalar = scalars.first else { return true }
        switch scalar {
        case "?": (atom.min, atom.max) = (0, 1)
        case "*": (atom.min, atom.max) = (0, nil)
        case "+": (atom.min, atom.max) = (1, nil)
        case "{":
            guard let close = scalars.firstIndex(of: "}") else { return false }
            let body = String(String.UnicodeScalarView(scalars[scalars.index(after: scalars.startIndex)..<close]))
            let parts = body.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)
            guard let low = parts.first.flatMap({ Int($0) }), low >= 0, low <= 10_000 else { return false }
            if parts.count == 1 {
                (atom.min, atom.max) = (low, low)
            } else if parts[1].isEmpty {
                (atom.min, atom.max) = (low, nil)
            } else {
                guard let high = Int(parts[1]), high >= low, high <= 10_000 else { return false }
                (atom.min, atom.max) = (low, high)
            }
            scalars = scalars[close...]
        default:
            return true
        }
        scalars = scalars.dropFirst()
        if let next = scalars.first, next == "?" || next == "+" || next == "*" || next == "{" { return false }
        return true
    }

    /// Whether the whole of `text` matches.
    func matches(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars.lazy.map(\.value))
        let count = scalars.count
        // Positions reachable after the atoms so far; start: only position 0.
        var reachable = [Bool](repeating: false, count: count + 1)
        reachable[0] = true
        var run = [Int](repeating: 0, count: count + 1)
        var coverage = [Int](repeating: 0, count: count + 2)
        for atom in atoms {
            // run[p]: how many scalars from p on the atom accepts in a row.
            run[count] = 0
            for position in stride(from: count - 1, through: 0, by: -1) {
                run[position] = atom.accepts(scalars[position]) ? run[position + 1] + 1 : 0
            }
            // From each reachable p, every p + k with min ≤ k ≤ min(max, run[p]) is reachable:
            // marked as intervals in a difference array, so the step is linear.
            for index in coverage.indices { coverage[index] = 0 }
            var any = false
            for position in 0...count where reachable[position] {
                let longest = Swift.min(atom.max ?? Int.max, run[position])
                guard longest >= atom.min else { continue }
                coverage[position + atom.min] += 1
                coverage[position + longest + 1] -= 1
                any = true
            }
            guard any else { return false }
            var open = 0
            for position in 0...count {
                open += coverage[position]
                reachable[position] = open > 0
            }
        }
        return reachable[count]
    }
}
