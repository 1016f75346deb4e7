import Foundation

/// Renders the pack as documentation: one Markdown and one self-contained HTML page per
/// detection (ADS, ATT&CK techniques, seeds, samples, rule YAML) plus index pages.
/// HTML is escaped throughout, has inline CSS and no JavaScript.
public struct ADSRender: Sendable {
    public let catalog: AttackCatalog
    public init(catalog: AttackCatalog = .bundled) { self.catalog = catalog }

    /// Relative path (without extension) of a detection's pages: `kubernetes/execution_pod_exec_or_attach`.
    public static func pagePath(_ d: DetectionPack.Detection) -> String { d.name }

    /// Writes every page under `dir`; returns the files written.
    @discardableResult
    public func write(pack: DetectionPack, to dir: String) throws -> [String] {
        let fm = FileManager.default
        var written: [String] = []
        func put(_ rel: String, _ text: String) throws {
            let path = (dir as NSString).appendingPathComponent(rel)
            try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            written.append(path)
        }
        for d in pack.detections {
            try put(ADSRender.pagePath(d) + ".md", markdown(d))
            try put(ADSRender.pagePath(d) + ".html", html(d))
        }
        try put("index.md", indexMarkdown(pack))
        try put("index.html", indexHTML(pack))
        return written
    }

    // MARK: shared facts

    struct TechniqueRow { var id: String; var name: String; var tactics: String; var url: String }

    func techniqueRows(_ d: DetectionPack.Detection) -> [TechniqueRow] {
        d.techniques.map { id in
            let t = catalog.resolve(id)
            let path = id.replacingOccurrences(of: ".", with: "/")
            return TechniqueRow(id: id, name: catalog.name(of: id) ?? "(not in ATT&CK v\(catalog.version))",
                                tactics: t?.tactics.map(AttackCatalog.tacticDisplayName).joined(separator: ", ") ?? "",
                                url: "https://attack.mitre.org/techniques/\(path)/")
        }
    }

    func facts(_ d: DetectionPack.Detection) -> [(String, String)] {
        [("Folder", d.name), ("Rule id", d.rule?.id ?? ""), ("Maturity", d.maturity), ("Level", d.level),
         ("Logsource", d.rule?.logsource.description ?? ""), ("Seeds covered", (d.rule?.seeds ?? []).joined(separator: ", "))]
    }

    /// ADS sections (without the `# title`), as Markdown.
    func adsBody(_ d: DetectionPack.Detection) -> String {
        guard let ads = d.ads else { return "_No ADS.md._\n" }
        return ads.sections.map { s in "### \(s.heading)\n\n\(s.text)\n" }.joined(separator: "\n")
    }

    // MARK: Markdown

    public func markdown(_ d: DetectionPack.Detection) -> String {
        func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
        var out = "# \(d.title)\n\n"
        out += "| | |\n| --- | --- |\n" + facts(d).map { "| \($0.0) | \(cell($0.1)) |\n" }.joined()
        out += "\n## ATT&CK techniques\n\n"
        for t in techniqueRows(d) { out += "- [\(t.id)](\(t.url)) \(t.name)" + (t.tactics.isEmpty ? "" : " (\(t.tactics))") + "\n" }
        out += "\n## Seeds covered\n\n"
        out += (d.rule?.seeds ?? []).isEmpty ? "_none_\n" : (d.rule?.seeds ?? []).map { "- \($0)\n" }.joined()
        out += "\n## Alerting and Detection Strategy\n\n" + adsBody(d)
        out += "\n## Samples\n\n"
        out += d.samples.isEmpty ? "_none_\n" : d.samples.map { "- `events/\($0)` (\($0.hasPrefix("fires-") ? "fires" : "silent"))\n" }.joined()
        out += "\n## Rule\n\n```yaml\n\(d.ruleText.trimmingCharacters(in: .newlines))\n```\n"
        return out
    }

    public func indexMarkdown(_ pack: DetectionPack) -> String {
        var out = "# bulkhead detections\n\n\(pack.detections.count) detections.\n\n"
        out += "| detection | title | level | maturity | techniques |\n| --- | --- | --- | --- | --- |\n"
        for d in pack.detections {
            out += "| [\(d.name)](\(ADSRender.pagePath(d)).md) | \(d.title.replacingOccurrences(of: "|", with: "\\|")) | \(d.level) | \(d.maturity) | \(d.techniques.joined(separator: ", ")) |\n"
        }
        return out
    }

    // MARK: HTML

    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static let css = """
    body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;line-height:1.45;color:#1b1b1b}
    pre{background:#f5f5f5;padding:1em;overflow-x:auto;font-size:13px}code{background:#f5f5f5;padding:0 .2em}
    table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
    .stable{color:#1a7a36}.test{color:#6a8f1e}.experimental{color:#b35806}
    """

    func page(title: String, body: String, up: String?) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
        <title>\(ADSRender.escape(title))</title><style>\(ADSRender.css)</style></head><body>
        \(up.map { "<p><a href=\"\(ADSRender.escape($0))\">&larr; all detections</a></p>" } ?? "")
        \(body)
        </body></html>

        """
    }

    public func html(_ d: DetectionPack.Detection) -> String {
        let e = ADSRender.escape
        var b = "<h1>\(e(d.title))</h1>\n<table>\n"
        for (k, v) in facts(d) { b += "<tr><th>\(e(k))</th><td>\(e(v))</td></tr>\n" }
        b += "</table>\n<h2>ATT&amp;CK techniques</h2>\n<ul>\n"
        for t in techniqueRows(d) {
            b += "<li><a href=\"\(e(t.url))\">\(e(t.id))</a> \(e(t.name))\(t.tactics.isEmpty ? "" : " (\(e(t.tactics)))")</li>\n"
        }
        b += "</ul>\n<h2>Seeds covered</h2>\n"
        let seeds = d.rule?.seeds ?? []
        b += seeds.isEmpty ? "<p><em>none</em></p>\n" : "<ul>\n" + seeds.map { "<li>\(e($0))</li>\n" }.joined() + "</ul>\n"
        b += "<h2>Alerting and Detection Strategy</h2>\n"
        if let ads = d.ads {
            for s in ads.sections { b += "<h3>\(e(s.heading))</h3>\n" + ADSRender.markdownToHTML(s.text) }
        } else { b += "<p><em>No ADS.md.</em></p>\n" }
        b += "<h2>Samples</h2>\n"
        b += d.samples.isEmpty ? "<p><em>none</em></p>\n" : "<ul>\n" + d.samples.map { "<li><code>events/\(e($0))</code> (\($0.hasPrefix("fires-") ? "fires" : "silent"))</li>\n" }.joined() + "</ul>\n"
        b += "<h2>Rule</h2>\n<pre><code>\(e(d.ruleText.trimmingCharacters(in: .newlines)))</code></pre>\n"
        let depth = ADSRender.pagePath(d).split(separator: "/").count - 1
        return page(title: d.title, body: b, up: String(repeating: "../", count: depth) + "index.html")
    }

    public func indexHTML(_ pack: DetectionPack) -> String {
        let e = ADSRender.escape
        var b = "<h1>bulkhead detections</h1>\n<p>\(pack.detections.count) detections.</p>\n<table>\n<tr><th>detection</th><th>title</th><th>level</th><th>maturity</th><th>techniques</th></tr>\n"
        for d in pack.detections {
            b += "<tr><td><a href=\"\(e(ADSRender.pagePath(d))).html\">\(e(d.name))</a></td><td>\(e(d.title))</td><td>\(e(d.level))</td>"
            b += "<td class=\"\(e(d.maturity))\">\(e(d.maturity))</td><td>\(e(d.techniques.joined(separator: ", ")))</td></tr>\n"
        }
        b += "</table>\n"
        return page(title: "bulkhead detections", body: b, up: nil)
    }

    /// A small, safe Markdown subset → HTML: paragraphs, `-`/`1.` lists, fenced code, inline
    /// code, `**bold**`, `### headings`. Everything is escaped; links are shown as text.
    public static func markdownToHTML(_ md: String) -> String {
        var out = ""
        var para: [String] = []
        var list: (tag: String, items: [String])?
        var fence: [String]?
        func flushPara() { if !para.isEmpty { out += "<p>\(inline(para.joined(separator: " ")))</p>\n"; para = [] } }
        func flushList() {
            if let l = list { out += "<\(l.tag)>\n" + l.items.map { "<li>\(inline($0))</li>\n" }.joined() + "</\(l.tag)>\n"; list = nil }
        }
        for raw in md.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            if line.hasPrefix("```") {
                if let f = fence { out += "<pre><code>\(escape(f.joined(separator: "\n")))</code></pre>\n"; fence = nil }
                else { flushPara(); flushList(); fence = [] }
                continue
            }
            if fence != nil { fence!.append(line); continue }
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { flushPara(); flushList(); continue }
            if t.hasPrefix("#") {
                flushPara(); flushList()
                out += "<h4>\(inline(t.drop(while: { $0 == "#" }).trimmingCharacters(in: .whitespaces)))</h4>\n"
                continue
            }
            if t.hasPrefix("- ") || t.hasPrefix("* ") {
                flushPara()
                if list?.tag != "ul" { flushList(); list = ("ul", []) }
                list!.items.append(String(t.dropFirst(2)))
                continue
            }
            if let dot = t.firstIndex(of: "."), t[..<dot].allSatisfy(\.isNumber), !t[..<dot].isEmpty, t[t.index(after: dot)...].hasPrefix(" ") {
                flushPara()
                if list?.tag != "ol" { flushList(); list = ("ol", []) }
                list!.items.append(String(t[t.index(dot, offsetBy: 2)...]))
                continue
            }
            if list != nil, line.hasPrefix("  ") { list!.items[list!.items.count - 1] += " " + t; continue }
            flushList()
            para.append(t)
        }
        if let f = fence { out += "<pre><code>\(escape(f.joined(separator: "\n")))</code></pre>\n" }
        flushPara(); flushList()
        return out
    }

    /// Inline: `code` and **bold**, escaped.
    static func inline(_ s: String) -> String {
        var out = ""
        var inCode = false, inBold = false
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if c == "`" { out += inCode ? "</code>" : "<code>"; inCode.toggle(); i = s.index(after: i); continue }
            if !inCode, c == "*", s[i...].hasPrefix("**") { out += inBold ? "</strong>" : "<strong>"; inBold.toggle(); i = s.index(i, offsetBy: 2); continue }
            out += escape(String(c))
            i = s.index(after: i)
        }
        if inCode { out += "</code>" }
        if inBold { out += "</strong>" }
        return out
    }
}
