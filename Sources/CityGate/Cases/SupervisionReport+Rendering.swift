import Foundation

extension SupervisionReport {
    /// The report as JSON (`GET /admin/supervision?format=json`).
    func json() -> [String: Any] {
        [
            "city": city, "cityName": cityName, "month": month, "asOf": PushClock.rfc3339(asOf),
            "departments": rows.map { row -> [String: Any] in
                var object: [String: Any] = [
                    "department": row.department, "departmentName": row.departmentName, "received": row.received,
                    "finished": row.finished, "finishedWithinPromised": row.finishedWithinPromised,
                    "refused": row.refused, "open": row.open, "overdue": row.overdue,
                    "ratings": Dictionary(
                        uniqueKeysWithValues: RatingLevel.allCases.map { ($0.slug, row.ratings[$0] ?? 0) }),
                    "openFollowUps": row.openFollowUps,
                ]
                object["averageWorkingDays"] = row.averageWorkingDays.map { Self.rounded($0, places: 2) } ?? NSNull()
                object["p90WorkingDays"] = row.p90WorkingDays ?? NSNull()
                object["satisfaction"] = row.satisfaction.map { Self.rounded($0, places: 4) } ?? NSNull()
                return object
            },
        ]
    }

    /// The CSV columns, Chinese first (the supervisors' language), English in brackets.
    static let csvHeader =
        [
            "部门编码 (department)", "部门 (department name)", "受理 (received)", "办结 (finished)",
            "承诺时限内办结 (finished within promised)", "不予受理 (refused)", "在办 (open)", "超期 (overdue)",
            "平均办结工作日 (average working days)", "90%分位工作日 (p90 working days)",
        ] + RatingLevel.allCases.map { "\($0.zh) (\($0.slug))" } + ["满意率 (satisfaction)", "待整改 (open follow-ups)"]

    /// The report as CSV (RFC 4180, CRLF), UTF-8 with a byte-order mark so spreadsheet software
    /// reads the Chinese names as UTF-8.
    func csv() -> [UInt8] {
        var lines = [Self.csvHeader.map(Self.csvField).joined(separator: ",")]
        for row in rows {
            let fields = Self.cells(row, missing: "") { String(format: "%.4f", $0) }
            lines.append(fields.map(Self.csvField).joined(separator: ","))
        }
        return [0xEF, 0xBB, 0xBF] + Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    /// One page, no scripts and no external assets: the table and a bar chart drawn as inline SVG
    /// (received, finished and overdue per department).
    func html() -> String {
        let maximum = max(1, rows.map { max($0.received, $0.finished, $0.overdue) }.max() ?? 1)
        let barHeight = 14
        let groupHeight = barHeight * 3 + 16
        let labelWidth = 220
        let chartWidth = 440
        let height = max(1, rows.count) * groupHeight + 40
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(labelWidth + chartWidth + 80)" height="\(height)" \
            role="img" aria-label="各部门受理、办结、超期件数">
            """
        let series: [(String, String, (Row) -> Int)] = [
            ("受理", "#3b82f6", { $0.received }), ("办结", "#16a34a", { $0.finished }),
            ("超期", "#dc2626", { $0.overdue }),
        ]
        for (index, row) in rows.enumerated() {
            let top = index * groupHeight + 8
            svg +=
                "<text x=\"0\" y=\"\(top + barHeight * 2)\" font-size=\"13\">\(Self.escape(row.departmentName))</text>"
            for (offset, (name, color, value)) in series.enumerated() {
                let count = value(row)
                let width = count * chartWidth / maximum
                let y = top + offset * barHeight
                svg +=
                    "<rect x=\"\(labelWidth)\" y=\"\(y)\" width=\"\(width)\" height=\"\(barHeight - 2)\" fill=\"\(color)\">"
                svg += "<title>\(name) \(count)</title></rect>"
                svg +=
                    "<text x=\"\(labelWidth + width + 4)\" y=\"\(y + barHeight - 3)\" font-size=\"11\">\(count)</text>"
            }
        }
        let legendY = max(1, rows.count) * groupHeight + 24
        for (offset, (name, color, _)) in series.enumerated() {
            let x = labelWidth + offset * 90
            svg += "<rect x=\"\(x)\" y=\"\(legendY - 10)\" width=\"12\" height=\"12\" fill=\"\(color)\"/>"
            svg += "<text x=\"\(x + 16)\" y=\"\(legendY)\" font-size=\"12\">\(name)</text>"
        }
        svg += "</svg>"
        var table = "<table><thead><tr>"
        for header in Self.csvHeader { table += "<th>\(Self.escape(header))</th>" }
        table += "</tr></thead><tbody>"
        for row in rows {
            let cells = Self.cells(row, missing: "—") { String(format: "%.1f%%", $0 * 100) }
            table += "<tr>" + cells.map { "<td>\(Self.escape($0))</td>" }.joined() + "</tr>"
        }
        table += "</tbody></table>"
        return """
            <!DOCTYPE html>
            <html lang="zh-CN"><head><meta charset="utf-8">
            <title>\(Self.escape(cityName)) \(month) 政务服务效能监督月报</title>
            <style>
            body{font-family:"WenQuanYi Zen Hei","Noto Sans CJK SC",sans-serif;margin:24px;color:#111}
            table{border-collapse:collapse;margin-top:16px;font-size:13px}
            th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
            th:nth-child(-n+2),td:nth-child(-n+2){text-align:left}
            th{background:#f3f4f6}
            </style></head><body>
            <h1>\(Self.escape(cityName)) (\(Self.escape(city))) \(month) 政务服务效能监督月报</h1>
            <p>统计截至 \(PushClock.rfc3339(asOf))。超期：在办且已过法定时限。满意率：非常满意、满意、基本满意占评价总数之比。</p>
            \(svg)
            \(table)
            </body></html>
            """
    }

    /// One row's figures in ``csvHeader``'s order; `missing` for a figure with no value.
    static func cells(_ row: Row, missing: String, satisfaction: (Double) -> String) -> [String] {
        var cells = [
            row.department, row.departmentName, "\(row.received)", "\(row.finished)",
            "\(row.finishedWithinPromised)", "\(row.refused)", "\(row.open)", "\(row.overdue)",
            row.averageWorkingDays.map { String(format: "%.2f", $0) } ?? missing,
            row.p90WorkingDays.map(String.init) ?? missing,
        ]
        cells += RatingLevel.allCases.map { "\(row.ratings[$0] ?? 0)" }
        cells += [row.satisfaction.map(satisfaction) ?? missing, "\(row.openFollowUps)"]
        return cells
    }

    static func csvField(_ text: String) -> String {
        // A leading = + - @ would be a formula to spreadsheet software (CSV injection).
        var value = text
        if let first = value.first, "=+-@".contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func rounded(_ value: Double, places: Int) -> Double {
        let scale = pow(10, Double(places))
        return (value * scale).rounded() / scale
    }
}
