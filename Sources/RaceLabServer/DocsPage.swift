import Foundation
import Hummingbird
import RaceLabCore
import RaceLabPipeline

/// `GET /docs`: the OpenAPI document as a plain HTML page, rendered on the server from the same JSON that
/// `GET /openapi.json` serves, so it is readable without JavaScript (a text browser, `curl`, a screen
/// reader, a page with scripts blocked) and can never disagree with the document.
///
/// Self-contained: inline CSS, no script, no CDN. Every text from the document is HTML-escaped.
enum DocsPage {
    /// The page for `json`, an OpenAPI 3.0 document: an index of the routes, then each route with its
    /// parameters, body fields and responses. A document that is not JSON gives a page that links to it.
    static func html(document json: String) -> String {
        guard let document = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else {
            return page(title: "RaceLab API", body: "<p>See <a href=\"/openapi.json\">/openapi.json</a>.</p>")
        }
        let reader = Reader(document: document)
        let info = document["info"] as? [String: Any] ?? [:]
        let title = [info["title"] as? String, info["version"] as? String].compactMap { $0 }.joined(separator: " ")
        let operations = reader.operations
        let problem = reader.resolve(["$ref": "#/components/responses/Problem"])["description"] as? String ?? ""
        var body = "<h1>\(escape(title))</h1>\n"
        if let description = info["description"] as? String { body += "<p>\(escape(description))</p>\n" }
        body += """
            <p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.0).</p>
            <p>Errors are problem documents, <code>application/problem+json</code>:
            <code>{type, title, status, detail, field?, requestId?}</code>. \(escape(problem))</p>
            <h2>Routes</h2>
            <ul class="index">

            """
        for operation in operations {
            body += "<li><a href=\"#\(operation.anchor)\"><span class=\"method \(operation.method)\">\(operation.method.uppercased())</span> "
            body += "<code>\(escape(operation.path))</code></a> — \(escape(operation.summary))</li>\n"
        }
        body += "</ul>\n"
        for operation in operations { body += reader.section(operation) }
        return page(title: title.isEmpty ? "RaceLab API" : title, body: body)
    }

    /// One route and method of the document.
    struct Operation {
        var path: String
        var method: String
        var summary: String
        var fields: [String: Any]
        var anchor: String {
            method + "-"
                + (path == "/" ? "root" : path.filter { $0.isLetter || $0.isNumber || $0 == "/" }.split(separator: "/").joined(separator: "-"))
        }
    }

    /// Reads the document's routes and schemas, following `$ref`s.
    private struct Reader {
        var document: [String: Any]

        /// Every operation, by path, `get` before `post`.
        var operations: [Operation] {
            let paths = document["paths"] as? [String: [String: Any]] ?? [:]
            return paths.keys.sorted().flatMap { path in
                (paths[path] ?? [:]).keys.sorted().compactMap { method -> Operation? in
                    guard let fields = paths[path]?[method] as? [String: Any] else { return nil }
                    return Operation(path: path, method: method, summary: fields["summary"] as? String ?? "", fields: fields)
                }
            }
        }

        /// `value` with a `$ref` replaced by what it names (`#/components/schemas/Item`).
        func resolve(_ value: Any?) -> [String: Any] {
            guard let object = value as? [String: Any] else { return [:] }
            guard let reference = object["$ref"] as? String, reference.hasPrefix("#/") else { return object }
            var target: Any? = document
            for key in reference.dropFirst(2).split(separator: "/") { target = (target as? [String: Any])?[String(key)] }
            return target as? [String: Any] ?? [:]
        }

        /// A schema in a few words: `integer (int64)`, `one of: a, b`, `array of Item`, `object`.
        func typeText(_ value: Any?) -> String {
            let raw = value as? [String: Any] ?? [:]
            if let reference = raw["$ref"] as? String, let name = reference.split(separator: "/").last {
                let schema = resolve(raw)
                if let values = schema["enum"] as? [Any] { return "one of: " + values.map { "\($0)" }.joined(separator: ", ") }
                return schema["properties"] != nil ? String(name) : typeText(schema)
            }
            if let first = (raw["allOf"] as? [Any])?.first { return typeText(first) }
            if let values = raw["enum"] as? [Any] { return "one of: " + values.map { "\($0)" }.joined(separator: ", ") }
            let type = raw["type"] as? String ?? "object"
            if type == "array" { return "array of " + typeText(raw["items"]) }
            return (raw["format"] as? String).map { "\(type) (\($0))" } ?? type
        }

        /// `1...10000`, `default 0`, and the description: what else a field's schema says.
        func notes(_ value: Any?) -> String {
            let schema = value as? [String: Any] ?? [:]
            var notes: [String] = []
            switch (schema["minimum"], schema["maximum"]) {
            case (let low?, let high?): notes.append("\(low)...\(high)")
            case (let low?, nil): notes.append("at least \(low)")
            case (nil, let high?): notes.append("at most \(high)")
            default: break
            }
            if let value = schema["default"] {
                // JSONSerialization gives a boolean as a number: say it as the document does.
                let text = schema["type"] as? String == "boolean" ? "\((value as? Bool) ?? false)" : "\(value)"
                notes.append("default \(text)")
            }
            if let description = (schema["description"] as? String) ?? (resolve(schema)["description"] as? String) { notes.append(description) }
            return notes.joined(separator: "; ")
        }

        /// The route's section: summary, description, parameters, body fields, responses.
        func section(_ operation: Operation) -> String {
            let fields = operation.fields
            var html = "<section class=\"route\" id=\"\(operation.anchor)\">\n"
            html +=
                "<h3><span class=\"method \(operation.method)\">\(operation.method.uppercased())</span> <code>\(escape(operation.path))</code></h3>\n"
            html += "<p>\(escape(operation.summary))</p>\n"
            if let description = fields["description"] as? String { html += "<p>\(escape(description))</p>\n" }
            if let security = fields["security"] as? [Any], !security.isEmpty {
                html += "<p>Needs <code>Authorization: Bearer &lt;token&gt;</code>.</p>\n"
            }
            let parameters = (fields["parameters"] as? [Any] ?? []).map(resolve)
            if !parameters.isEmpty {
                html += "<table><tr><th>parameter</th><th>in</th><th>type</th><th></th></tr>\n"
                for parameter in parameters {
                    html += row([
                        "<code>\(escape(parameter["name"] as? String ?? ""))</code>", escape(parameter["in"] as? String ?? ""),
                        escape(typeText(parameter["schema"])), escape(notes(parameter["schema"])),
                    ])
                }
                html += "</table>\n"
            }
            let content = resolve(fields["requestBody"])["content"] as? [String: Any]
            let body = resolve(resolve(content?["application/json"])["schema"])
            if let properties = body["properties"] as? [String: Any] {
                let required = Set(body["required"] as? [String] ?? [])
                html += "<table><tr><th>body field</th><th>type</th><th>required</th><th></th></tr>\n"
                for name in properties.keys.sorted(by: { (required.contains($0) ? 0 : 1, $0) < (required.contains($1) ? 0 : 1, $1) }) {
                    html += row([
                        "<code>\(escape(name))</code>", escape(typeText(properties[name])), required.contains(name) ? "yes" : "no",
                        escape(notes(properties[name])),
                    ])
                }
                html += "</table>\n"
            }
            let responses = fields["responses"] as? [String: Any] ?? [:]
            html += "<table><tr><th>status</th><th>meaning</th></tr>\n"
            for code in responses.keys.sorted() {
                // A shared response (the problem document) is said once, at the top; here its status's name.
                let shared = (responses[code] as? [String: Any])?["$ref"] != nil
                let meaning =
                    shared
                    ? (Int(code).flatMap { DocsPage.reasonPhrases[$0] }.map { "\($0): a problem document" } ?? "a problem document")
                    : resolve(responses[code])["description"] as? String ?? ""
                html += row([escape(code), escape(meaning)])
            }
            return html + "</table>\n</section>\n"
        }

        private func row(_ cells: [String]) -> String {
            "<tr>" + cells.map { "<td>\($0)</td>" }.joined() + "</tr>\n"
        }
    }

    private static func page(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>\(escape(title))</title>
        <style>
          body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
          h2 { margin-top: 2rem; } h3 { margin: 0 0 .3rem; font-size: 1.05rem; } code { background: #f3f3f3; padding: 0 .25rem; }
          .index { list-style: none; padding: 0; } .index a { text-decoration: none; color: inherit; }
          .route { border: 1px solid #ddd; border-radius: 6px; padding: .5rem 1rem; margin: .75rem 0; }
          .method { display: inline-block; min-width: 3.5rem; font-weight: bold; }
          .get { color: #1565c0; } .post { color: #2e7d32; }
          table { border-collapse: collapse; margin: .4rem 0; }
          td, th { padding: .1rem .6rem; text-align: left; vertical-align: top; border-bottom: 1px solid #eee; }
          th { font-weight: 500; color: #666; }
        </style>
        </head>
        <body>
        \(body)
        </body>
        </html>

        """
    }

    /// The names of the statuses the API answers with a problem document.
    static let reasonPhrases: [Int: String] = Dictionary(
        uniqueKeysWithValues: [
            HTTPResponse.Status.badRequest, .unauthorized, .forbidden, .notFound, .methodNotAllowed, .conflict, .contentTooLarge,
            .unsupportedMediaType, .unprocessableContent, .internalServerError, .serviceUnavailable,
        ].map { ($0.code, $0.reasonPhrase) }
    )

    /// `text` safe inside HTML text and attribute values (the reports' escaping).
    static func escape(_ text: String) -> String { text.htmlEscaped }
}
