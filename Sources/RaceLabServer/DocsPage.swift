/// `GET /docs`: a self-contained page (no CDN) that renders the routes of `/openapi.json`.
enum DocsPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>RaceLab API</title>
        <style>
          body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
          h2 { margin-top: 2rem; } code { background: #f3f3f3; padding: 0 .25rem; }
          .route { border: 1px solid #ddd; border-radius: 6px; padding: .5rem 1rem; margin: .75rem 0; }
          .method { display: inline-block; min-width: 4rem; font-weight: bold; }
          .get { color: #1565c0; } .post { color: #2e7d32; }
          table { border-collapse: collapse; } td, th { padding: .1rem .6rem; text-align: left; border-bottom: 1px solid #eee; }
        </style>
        </head>
        <body>
        <h1 id="title">RaceLab API</h1>
        <p id="description"></p>
        <p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.0). Errors are
        <code>application/problem+json</code>: <code>{type, title, status, detail, field}</code>.</p>
        <div id="routes">Loading…</div>
        <script>
        const ref = (doc, r) => r && r.$ref ? r.$ref.split('/').slice(1).reduce((o, k) => o[k], doc) : r;
        function schemaText(doc, s) {
          s = ref(doc, s) || {};
          if (s.properties) return '{ ' + Object.entries(s.properties).map(([k, v]) => k + (s.required && s.required.includes(k) ? '' : '?') + ': ' + (ref(doc, v).type || (ref(doc, v).enum || []).join('|') || 'object')).join(', ') + ' }';
          return s.type || '';
        }
        fetch('/openapi.json').then(r => r.json()).then(doc => {
          document.getElementById('title').textContent = doc.info.title + ' ' + doc.info.version;
          document.getElementById('description').textContent = doc.info.description;
          const routes = document.getElementById('routes'); routes.textContent = '';
          for (const [path, ops] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(ops)) {
            const div = document.createElement('div'); div.className = 'route';
            const body = op.requestBody ? schemaText(doc, op.requestBody.content['application/json'].schema) : '';
            const rows = Object.entries(op.responses).map(([code, r]) => '<tr><td>' + code + '</td><td>' + (ref(doc, r).description || '') + '</td></tr>').join('');
            div.innerHTML = '<span class="method ' + method + '">' + method.toUpperCase() + '</span> <code>' + path + '</code> — ' + op.summary +
              (op.description ? '<p>' + op.description + '</p>' : '') + (body ? '<p>Body: <code>' + body + '</code></p>' : '') +
              '<table><tr><th>status</th><th>meaning</th></tr>' + rows + '</table>';
            routes.appendChild(div);
          }
        }).catch(e => { document.getElementById('routes').textContent = 'Cannot load /openapi.json: ' + e; });
        </script>
        </body>
        </html>
        """#
}
