import Foundation

/// The `/status` data as one server-rendered HTML page for browsers: no scripts, no external
/// assets, readable on a phone (one column, the viewport set), every value escaped.
enum StatusPage {
    static func render(_ status: [String: Any]) -> String {
        var html = """
            <!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="refresh" content="15"><title>CityGate status</title>
            <style>
            body{font-family:system-ui,"WenQuanYi Zen Hei",sans-serif;margin:0;padding:12px;background:#f6f7f9;color:#1d2330}
            h1{font-size:1.3em;margin:0 0 4px}h2{font-size:1.05em;margin:18px 0 6px}
            .meta{color:#5b6474;font-size:.85em;word-break:break-all}
            .card{background:#fff;border-radius:8px;padding:10px 12px;margin:6px 0;box-shadow:0 1px 2px #0001}
            .row{display:flex;justify-content:space-between;gap:8px;flex-wrap:wrap}
            .ok{color:#137333}.bad{color:#b3261e}.warn{color:#a15c00}.small{font-size:.85em;color:#5b6474}
            </style></head><body>
            """
        let manifests = status["manifests"] as? [String: Any] ?? [:]
        html += "<h1>CityGate 城市服务网关</h1><div class=\"meta\">version \(escape(status["version"])) · up "
        html +=
            "\(Int(status["uptimeSeconds"] as? Double ?? 0)) s · manifests \(escape((manifests["sha256"] as? String)?.prefix(12)))</div>"

        let events = status["events"] as? [String: Any] ?? [:]
        let pending = events["pending"] as? Int ?? 0
        let dead = events["dead"] as? Int ?? 0
        html += "<h2>合作平台事件 Partner events</h2><div class=\"card\"><div class=\"row\">"
        html += "<span>workers <b class=\"\((events["workersRunning"] as? Bool) == true ? "ok" : "bad")\">"
        html += "\((events["workersRunning"] as? Bool) == true ? "running" : "stopped")</b></span>"
        html +=
            "<span>pending <b>\(pending)</b></span><span>dead <b class=\"\(dead > 0 ? "bad" : "ok")\">\(dead)</b></span>"
        html += "<span>delivered <b>\(escape(events["delivered"]))</b></span></div>"
        if let age = events["oldestPendingAgeSeconds"] as? Double {
            html += "<div class=\"small\">oldest pending \(Int(age)) s</div>"
        }
        html += "</div>"

        html += "<h2>后端系统 Backends</h2>"
        for backend in status["backends"] as? [[String: Any]] ?? [] {
            let state = backend["state"] as? String ?? "unknown"
            let breaker = backend["breaker"] as? String ?? "closed"
            let tone = state == "healthy" && breaker == "closed" ? "ok" : state == "unknown" ? "warn" : "bad"
            html += "<div class=\"card\"><div class=\"row\"><b>\(escape(backend["name"]))</b>"
            html += "<span class=\"\(tone)\">\(escape(state)) · breaker \(escape(breaker))</span></div>"
            var details: [String] = []
            if let latency = backend["recentLatencyMs"] as? Double {
                details.append(String(format: "%.1f ms", latency))
            }
            if let reason = backend["lastFailureReason"] as? String {
                details.append("last failure: \(escape(reason))")
            }
            if !details.isEmpty { html += "<div class=\"small\">\(details.joined(separator: " · "))</div>" }
            html += "</div>"
        }

        html += "<h2>城市与服务 Cities and services</h2>"
        for city in status["cities"] as? [[String: Any]] ?? [] {
            // Chinese first (the page is zh-CN), English beside it in its own language.
            html += "<div class=\"card\"><b>\(escape(city["code"])) \(escape(city["nameZh"]))</b>"
            html += " <span lang=\"en\">\(escape(city["name"]))</span>"
            for service in city["services"] as? [[String: Any]] ?? [] {
                let enabled = service["enabled"] as? Bool == true
                html += "<div class=\"row small\"><span>\(escape(service["nameZh"])) <span lang=\"en\">"
                html += "\(escape(service["nameEn"]))</span> · <code>\(escape(service["id"]))</code></span>"
                html +=
                    "<span class=\"\(enabled ? "ok" : "warn")\">\(enabled ? "开通 enabled" : "暂停 paused")</span></div>"
            }
            html += "</div>"
        }
        html += "<p class=\"small\">JSON: <code>curl -H 'Accept: application/json' …/status</code></p></body></html>\n"
        return html
    }

    /// HTML text and attribute escaping: the same five characters as XML.
    static func escape(_ value: Any?) -> String {
        guard let value else { return "" }
        return BackendRequestBuilder.xmlEscape("\(value)")
    }
}
