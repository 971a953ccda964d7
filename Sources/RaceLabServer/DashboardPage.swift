import Foundation
import RaceLabCore
import RaceLabPipeline

/// `GET /`: the live dashboard, self-contained (inline CSS and script, no CDN, no network beyond this server).
///
/// It starts from the `GET /stats` document the server embeds (outcome counters, latency percentiles, every
/// item with stock and sold), so the first numbers are in the DOM when the page loads; then it follows
/// `GET /events`: a `stock` event updates the item at once, an `outcome` event bumps its counter at once, and
/// either schedules a fresh `GET /stats` a moment later (plus one every two seconds) so sold counts and
/// percentiles stay exact. Numbers carry stable hooks for tests: `tr[data-item][data-stock][data-sold]`,
/// `#count-purchased[data-count]`, `#latency-p50`, `#harness[data-forwarded][data-runs]`.
///
/// The counters are this server's own purchases; a harness run sent through it (`racelab run --via http`,
/// its own run id) is one line apart: its outcomes go to the harness, so they never reach these counters.
///
/// Its forms post JSON to this same origin, which is all the API lets a browser do. The page never holds
/// the API token: when the server has one, the page asks for it (a field, kept in the tab's
/// `sessionStorage`) and sends it as `Authorization: Bearer`.
enum DashboardPage {
    /// The page with `initialStats` (the `GET /stats` document, or `null`) rendered before the page loads.
    /// Its JSON must escape `/` (JSONSerialization's default), so it cannot end the script element.
    ///
    /// - Parameter race: how the last demo stampede raced (`GET /stampedes/last/story`), shown under the
    ///   grid from the start when it is over; the page fetches it again after each stampede it fires.
    static func html(
        initialStats: String,
        strategies: [StrategyName] = StrategyName.builtIn,
        tokenRequired: Bool = false,
        race: (lines: [String], svg: String)? = nil
    ) -> String {
        let options = strategies.map { name in
            let text = name.rawValue  // names are letters, digits, - _ and . only: nothing to escape
            return name == .pessimistic ? "<option selected>\(text)</option>" : "<option>\(text)</option>"
        }
        let tokenField =
            tokenRequired
            ? #"<label for="token">API token</label><input id="token" type="password" autocomplete="off" placeholder="racelab serve --token">"#
            : ""
        return template.replacingOccurrences(of: "/*INITIAL_STATS*/null", with: initialStats)
            .replacingOccurrences(of: "<!--STRATEGY_OPTIONS-->", with: options.joined())
            .replacingOccurrences(of: "<!--TOKEN_FIELD-->", with: tokenField)
            .replacingOccurrences(
                of: "<section id=\"race\" style=\"margin-top:1rem;grid-column:1/-1\" hidden>",
                with: race == nil
                    ? "<section id=\"race\" style=\"margin-top:1rem;grid-column:1/-1\" hidden>"
                    : "<section id=\"race\" style=\"margin-top:1rem;grid-column:1/-1\">"
            )
            .replacingOccurrences(of: "<!--RACE_LINES-->", with: race.map { $0.lines.map { "<p>\($0.htmlEscaped)</p>" }.joined() } ?? "")
            .replacingOccurrences(of: "<!--RACE_TIMELINE-->", with: race?.svg ?? "")
    }

    static let template = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>RaceLab — live</title>
        <style>
          :root { --ok: #2e7d32; --bad: #c62828; --muted: #666; --line: #e3e3e3; }
          * { box-sizing: border-box; }
          body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d1d1d; background: #f6f7f9; }
          header { display: flex; align-items: baseline; gap: 1rem; padding: .8rem 1.5rem; background: #1f2933; color: #fff; }
          header h1 { margin: 0; font-size: 1.25rem; } header a { color: #9ecbff; }
          #live { font-size: .85rem; padding: .1rem .5rem; border-radius: 1rem; background: #555; }
          #live.on { background: var(--ok); } #live.off { background: var(--bad); }
          main { display: grid; grid-template-columns: 1fr 20rem; gap: 1rem; padding: 1rem 1.5rem; }
          section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; }
          h2 { margin: 0 0 .6rem; font-size: 1rem; color: #333; }
          .cards { display: grid; grid-template-columns: repeat(7, 1fr); gap: .5rem; }
          #auth { display: grid; grid-template-columns: 6rem 1fr; gap: .4rem .5rem; align-items: center; margin-bottom: .8rem; }
          #auth:empty { display: none; }
          .card { border: 1px solid var(--line); border-radius: 6px; padding: .4rem .6rem; }
          .card .n { font-size: 1.6rem; font-weight: 600; font-variant-numeric: tabular-nums; }
          .card .l { font-size: .8rem; color: var(--muted); }
          .card.purchased .n { color: var(--ok); } .card.failed .n:not([data-count="0"]), .card.deadLettered .n:not([data-count="0"]), .card.unknown .n:not([data-count="0"]) { color: var(--bad); }
          .lat { display: grid; grid-template-columns: repeat(4, 1fr); gap: .5rem; }
          table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
          th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); }
          th { font-size: .8rem; color: var(--muted); font-weight: 500; }
          .bar { position: relative; height: .8rem; width: 12rem; background: #e8eaed; border-radius: 4px; overflow: hidden; }
          .bar span { position: absolute; inset: 0 auto 0 0; background: var(--ok); }
          tr.oversold { background: #ffebee; } tr.oversold .bar span { background: var(--bad); }
          .flag { font-weight: 700; color: var(--bad); } .soldout { color: var(--muted); }
          form { display: grid; grid-template-columns: 6rem 1fr; gap: .4rem .5rem; align-items: center; margin-bottom: .8rem; }
          form button { grid-column: 1 / 3; padding: .4rem; font: inherit; cursor: pointer; border-radius: 5px; border: 1px solid #888; background: #fff; }
          form button.primary { background: #1f6feb; color: #fff; border-color: #1f6feb; }
          input, select { font: inherit; padding: .15rem .3rem; width: 100%; }
          #message { min-height: 1.4rem; font-size: .85rem; color: var(--muted); }
          #message.error { color: var(--bad); }
          #feed { list-style: none; margin: 0; padding: 0; font: 12px/1.5 ui-monospace, monospace; max-height: 16rem; overflow: hidden; }
          #feed .purchased { color: var(--ok); } #feed .failed, #feed .deadLettered { color: var(--bad); }
          .empty { color: var(--muted); }
          #harness { margin: .6rem 0 0; font-size: .85rem; color: var(--muted); }
        </style>
        </head>
        <body>
        <header><h1>RaceLab — live</h1><span id="live">connecting…</span>
          <span style="margin-left:auto"><a href="/docs">API docs</a> · <a href="/metrics">metrics</a></span></header>
        <main>
          <div>
            <section>
              <h2>Outcomes</h2>
              <div class="cards" id="counters"></div>
              <p id="harness" data-runs="0" data-forwarded="0" data-publishing="0" data-unconfirmed="0">No harness runs through this server.</p>
            </section>
            <section style="margin-top:1rem">
              <h2>Latency, publish to commit (ms)</h2>
              <div class="lat">
                <div class="card"><div class="n" id="latency-p50">–</div><div class="l">p50</div></div>
                <div class="card"><div class="n" id="latency-p90">–</div><div class="l">p90</div></div>
                <div class="card"><div class="n" id="latency-p99">–</div><div class="l">p99</div></div>
                <div class="card"><div class="n" id="latency-max">–</div><div class="l">max</div></div>
              </div>
            </section>
            <section style="margin-top:1rem">
              <h2>Items</h2>
              <table>
                <thead><tr><th>item</th><th>stock</th><th>sold / initial</th><th></th><th>orders</th><th>state</th></tr></thead>
                <tbody id="items"><tr><td colspan="6" class="empty">Loading…</td></tr></tbody>
              </table>
            </section>
          </div>
          <div>
            <section>
              <div id="auth"><!--TOKEN_FIELD--></div>
              <h2>Fire a demo stampede</h2>
              <form id="stampede">
                <label for="s-strategy">strategy</label>
                <select id="s-strategy" name="strategy">
                  <!--STRATEGY_OPTIONS-->
                </select>
                <label for="s-buyers">buyers</label><input id="s-buyers" name="buyers" type="number" min="1" max="10000" value="100">
                <label for="s-stock">stock</label><input id="s-stock" name="stock" type="number" min="0" value="1">
                <label for="s-item">item</label><input id="s-item" name="itemId" type="number" min="1" value="1">
                <label for="s-think">think ms</label><input id="s-think" name="thinkMs" type="number" min="0" max="1000" value="0">
                <button class="primary" type="submit">Fire stampede</button>
              </form>
              <h2>Reset an item</h2>
              <form id="reset">
                <label for="r-item">item</label><input id="r-item" type="number" min="1" value="1">
                <label for="r-stock">stock</label><input id="r-stock" type="number" min="0" value="1">
                <button type="submit">Reset</button>
              </form>
              <div id="message"></div>
            </section>
            <section style="margin-top:1rem">
              <h2>Latest outcomes</h2>
              <ul id="feed"><li class="empty">none yet</li></ul>
            </section>
          </div>
          <section id="race" style="margin-top:1rem;grid-column:1/-1" hidden>
            <h2>How the last stampede raced</h2>
            <div id="race-lines"><!--RACE_LINES--></div>
            <div id="race-timeline" style="overflow-x:auto"><!--RACE_TIMELINE--></div>
          </section>
        </main>
        <script>
        const outcomes = [['purchased', 'purchased'], ['soldOut', 'sold out'], ['gaveUp', 'gave up'], ['failed', 'failed'], ['deadLettered', 'dead-lettered'], ['pending', 'pending'], ['unknown', 'unknown']];
        const $ = id => document.getElementById(id);
        const counts = {};
        const items = new Map();
        $('counters').innerHTML = outcomes.map(([key, label]) =>
          '<div class="card ' + key + '"><div class="n" id="count-' + key + '" data-count="0">0</div><div class="l">' + label + '</div></div>').join('');

        function setCount(key, value) {
          counts[key] = value;
          const el = $('count-' + key);
          el.textContent = value; el.dataset.count = value;
        }
        function renderItems() {
          const body = $('items');
          if (items.size === 0) { body.innerHTML = '<tr><td colspan="6" class="empty">No items yet: fire a stampede or reset one.</td></tr>'; return; }
          const rows = [...items.values()].sort((a, b) => a.id - b.id).map(item => {
            const over = item.sold - item.initialStock;
            const width = item.initialStock > 0 ? Math.min(100, 100 * item.sold / item.initialStock) : (item.sold > 0 ? 100 : 0);
            const state = over > 0 ? '<span class="flag">OVERSOLD by ' + over + '</span>'
              : item.stock <= 0 ? '<span class="soldout">sold out</span>' : 'on sale';
            return '<tr id="item-' + item.id + '" data-item="' + item.id + '" data-stock="' + item.stock + '" data-sold="' + item.sold +
              '" data-initial="' + item.initialStock + '"' + (over > 0 ? ' class="oversold"' : '') + '>' +
              '<td>' + item.id + '</td><td class="stock">' + item.stock + '</td><td class="sold">' + item.sold + ' / ' + item.initialStock + '</td>' +
              '<td><div class="bar"><span style="width:' + width + '%"></span></div></td><td>' + item.orders + '</td><td>' + state + '</td></tr>';
          });
          body.innerHTML = rows.join('');
        }
        function applyHarness(h) {
          const el = $('harness');
          for (const key of ['runs', 'forwarded', 'publishing', 'unconfirmed']) el.dataset[key] = h[key] || 0;
          if (!h.forwarded && !h.publishing && !h.unconfirmed) { el.textContent = 'No harness runs through this server.'; return; }
          el.textContent = 'Harness runs (racelab run --via http): ' + h.forwarded + ' purchases forwarded to ' + h.runs + (h.runs === 1 ? ' run' : ' runs') +
            (h.publishing ? ', ' + h.publishing + ' being published' : '') + (h.unconfirmed ? ', ' + h.unconfirmed + ' not confirmed' : '') +
            ' (their outcomes go to the harness, not into these counters).';
        }
        function applyStats(stats) {
          for (const [key] of outcomes) setCount(key, key === 'pending' || key === 'unknown' ? (stats[key] || 0) : (stats.outcomes[key] || 0));
          if (stats.harness) applyHarness(stats.harness);
          for (const p of ['p50', 'p90', 'p99', 'max']) $('latency-' + p).textContent = stats.latencyMs[p].toFixed(1);
          items.clear();
          for (const item of stats.items) items.set(item.id, item);
          renderItems();
        }
        let refreshing = null, again = false;
        function refresh() {
          if (refreshing) { again = true; return refreshing; }
          refreshing = fetch('/stats').then(r => r.json()).then(applyStats)
            .catch(e => { $('live').textContent = 'stats unavailable'; $('live').className = 'off'; })
            .finally(() => { refreshing = null; if (again) { again = false; refresh(); } });
          return refreshing;
        }
        let timer = null;
        function refreshSoon() { if (!timer) timer = setTimeout(() => { timer = null; refresh(); }, 250); }

        function connect() {
          const events = new EventSource('/events');
          events.onopen = () => { $('live').textContent = 'live'; $('live').className = 'on'; };
          events.onerror = () => { $('live').textContent = 'reconnecting…'; $('live').className = 'off'; };
          events.addEventListener('stock', e => {
            const { itemId, stock } = JSON.parse(e.data);
            const item = items.get(itemId);
            if (item) { item.stock = stock; renderItems(); }
            refreshSoon();
          });
          events.addEventListener('outcome', e => {
            const o = JSON.parse(e.data);
            setCount(o.outcome, (counts[o.outcome] || 0) + 1);
            setCount('pending', Math.max(0, (counts.pending || 0) - 1));
            const feed = $('feed');
            if (feed.firstElementChild && feed.firstElementChild.classList.contains('empty')) feed.innerHTML = '';
            const li = document.createElement('li'); li.className = o.outcome;
            li.textContent = o.outcome + ' · item ' + o.itemId + ' · ' + o.strategy + (o.retries ? ' · ' + o.retries + ' retries' : '') + (o.error ? ' · ' + o.error : '');
            feed.prepend(li);
            while (feed.children.length > 14) feed.lastElementChild.remove();
            refreshSoon();
          });
        }

        const tokenInput = $('token');
        if (tokenInput) {
          tokenInput.value = sessionStorage.getItem('racelab-token') || '';
          tokenInput.addEventListener('change', () => sessionStorage.setItem('racelab-token', tokenInput.value));
        }
        async function post(path, body) {
          const headers = { 'content-type': 'application/json' };
          if (tokenInput && tokenInput.value) headers.authorization = 'Bearer ' + tokenInput.value;
          const response = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body) });
          const json = await response.json().catch(() => ({}));
          if (!response.ok) throw new Error(json.detail || response.statusText);
          return json;
        }
        function say(text, error) { $('message').textContent = text; $('message').className = error ? 'error' : ''; }
        const num = id => Number($(id).value);
        $('stampede').addEventListener('submit', async e => {
          e.preventDefault();
          const body = { strategy: $('s-strategy').value, buyers: num('s-buyers'), stock: num('s-stock'), itemId: num('s-item'), thinkMs: num('s-think') };
          say('firing ' + body.buyers + ' ' + body.strategy + ' buyers at item ' + body.itemId + '…');
          try { const r = await post('/stampedes', body); say('fired ' + r.count + ' ' + body.strategy + ' buyers at item ' + r.itemId); refresh(); showRace(); }
          catch (error) { say(String(error.message || error), true); }
        });
        // Once every purchase of the stampede has its outcome, the story of its traced attempts and their timeline.
        async function showRace(tries = 240) {
          const response = await fetch('/stampedes/last/story').catch(() => null);
          if (response && response.status === 409 && tries > 0) { setTimeout(() => showRace(tries - 1), 500); return; }
          if (!response || !response.ok) return;
          const story = await response.json();
          const lines = $('race-lines');
          lines.innerHTML = '';
          for (const line of story.lines) { const p = document.createElement('p'); p.textContent = line; lines.append(p); }
          $('race-timeline').innerHTML = story.svg;  // drawn by the server, every text in it escaped
          $('race').hidden = false;
        }
        $('reset').addEventListener('submit', async e => {
          e.preventDefault();
          try { const r = await post('/items/' + num('r-item') + '/reset', { stock: num('r-stock') }); say('item ' + r.id + ' reset to stock ' + r.stock); refresh(); }
          catch (error) { say(String(error.message || error), true); }
        });

        // The server put the first numbers in the page; the event stream opens once the page has loaded.
        const initial = /*INITIAL_STATS*/null;
        if (initial) applyStats(initial); else refresh();
        window.addEventListener('load', () => setTimeout(() => { connect(); refresh(); setInterval(refresh, 2000); }, 0));
        </script>
        </body>
        </html>
        """#
}
