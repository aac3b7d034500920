/// The dashboard's Mustache templates, compiled into the binary so that it needs no file and no
/// network: the style is inline, the charts are inline SVG, and there is no script.
///
/// Every value is written with `{{…}}`, which HTML-escapes it; no template uses `{{{…}}}`. Each
/// page extends `layout` (`{{<layout}}…{{/layout}}`) and fills its `content` block.
enum Templates {
    /// Every template by name.
    static let all: [String: String] = [
        "layout": layout, "chart": chart, "error": error, "clock": clock, "timeline": timeline, "consent": consent,
        "erasures": erasures, "integrity": integrity,
    ]

    static let layout = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <link rel="icon" href="data:,">
        <title>{{title}} · ConsentLedger</title>
        <style>
        :root { --ink: #1d2430; --muted: #5b6577; --line: #d8dde6; --panel: #f5f7fa;
          --green: #1b7f3b; --amber: #a65f00; --red: #c62828; --overdue: #7a0b0b; --accent: #1f4e8c; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); }
        header { display: flex; flex-wrap: wrap; gap: 12px 24px; align-items: center; padding: 10px 24px;
          background: #16213a; color: #fff; }
        header strong { font-size: 17px; letter-spacing: .02em; }
        header nav { display: flex; gap: 4px; flex: 1; }
        header nav a { color: #cfd8ea; text-decoration: none; padding: 6px 10px; border-radius: 6px; }
        header nav a[aria-current] { background: #2e3d62; color: #fff; }
        header form { display: flex; gap: 8px; align-items: center; margin: 0; }
        header input, header button { font: inherit; padding: 4px 8px; border-radius: 6px; border: 1px solid #51617f; }
        header button { background: #2e3d62; color: #fff; cursor: pointer; }
        header a.now { color: #cfd8ea; }
        main { padding: 16px 24px 32px; }
        h1 { font-size: 22px; margin: 8px 0 4px; }
        h2 { font-size: 17px; margin: 24px 0 8px; }
        .asof { color: var(--muted); margin: 0 0 16px; }
        .asof.past { color: var(--accent); font-weight: 600; }
        .tiles { display: flex; flex-wrap: wrap; gap: 16px; margin: 16px 0 8px; }
        .tile { min-width: 220px; padding: 14px 18px; border-radius: 10px; background: var(--panel);
          border-left: 6px solid var(--line); }
        .tile .count { display: block; font-size: 34px; font-weight: 700; }
        .tiles.small .tile { min-width: 180px; } .tiles.small .tile .count { font-size: 26px; }
        .tile.green { border-color: var(--green); } .tile.amber { border-color: var(--amber); }
        .tile.overdue { border-color: var(--overdue); } .tile.overdue .count { color: var(--overdue); }
        table { border-collapse: collapse; width: 100%; margin: 8px 0; }
        th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: middle; }
        th { background: var(--panel); font-weight: 600; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 13px; }
        .hash { word-break: break-all; }
        .days { font-weight: 600; white-space: nowrap; }
        td.nowrap { white-space: nowrap; }
        .days.green { color: var(--green); } .days.amber { color: var(--amber); } .days.red { color: var(--red); }
        .days.overdue { color: #fff; background: var(--overdue); border-radius: 4px; padding: 1px 6px; }
        .badge { display: inline-block; padding: 0 6px; border-radius: 4px; background: #e7ecf5; font-size: 13px; }
        .ok { color: var(--green); font-weight: 600; } .bad { color: var(--red); font-weight: 600; }
        .none { color: var(--muted); }
        .note { color: var(--muted); font-size: 13px; }
        .download { display: inline-block; margin: 4px 0 12px; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 6px 18px; margin: 8px 0; }
        dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
        svg.chart rect.grant { fill: var(--green); } svg.chart rect.withdrawal { fill: #9aa3b2; }
        svg.chart rect.expiry { fill: var(--amber); }
        svg.chart line { stroke: var(--line); } svg.chart text { font-size: 11px; fill: var(--muted); }
        .legend span { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 12px; }
        .legend .grant { background: var(--green); } .legend .withdrawal { background: #9aa3b2; }
        .legend .expiry { background: var(--amber); }
        .error { padding: 16px 20px; border-radius: 10px; background: #fdf1f1; border-left: 6px solid var(--red); }
        footer { padding: 12px 24px; color: var(--muted); font-size: 13px; border-top: 1px solid var(--line); }
        </style>
        </head>
        <body>
        <header>
        <strong>ConsentLedger</strong>
        {{#signedIn}}
        <nav>{{#nav}}<a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{label}}</a>{{/nav}}</nav>
        <form method="get" action="{{path}}">
        <label for="asOf">As of</label>
        <input type="date" id="asOf" name="asOf" value="{{asOfDate}}">
        <button type="submit">Show</button>
        {{#historical}}<a class="now" href="{{path}}">now</a>{{/historical}}
        </form>
        <form method="post" action="/logout"><button type="submit">Log out</button></form>
        {{/signedIn}}
        </header>
        <main>
        <h1>{{title}}</h1>
        {{#signedIn}}
        {{#historical}}<p class="asof past">The ledger as it stood at {{asOfText}} (events recorded by then).</p>{{/historical}}
        {{^historical}}<p class="asof">The ledger now: {{asOfText}}.</p>{{/historical}}
        {{/signedIn}}
        {{$content}}{{/content}}
        </main>
        <footer>Read-only: this dashboard never writes to the ledger and decrypts nothing; people appear by pseudonym only. Times in UTC.</footer>
        </body>
        </html>

        """#

    static let chart = #"""
        <svg class="chart" width="{{width}}" height="{{height}}" viewBox="0 0 {{width}} {{height}}" role="img" aria-label="{{summary}}">
        {{#rules}}<line x1="{{x1}}" y1="{{y}}" x2="{{x2}}" y2="{{y}}"/>{{/rules}}
        {{#bars}}<rect class="{{kind}}" x="{{x}}" y="{{y}}" width="{{width}}" height="{{height}}"><title>{{label}}</title></rect>{{/bars}}
        {{#labels}}<text x="{{x}}" y="{{y}}" text-anchor="{{anchor}}">{{text}}</text>{{/labels}}
        </svg>
        """#

    static let error = #"""
        {{<layout}}{{$content}}{{#content}}
        <div class="error">
        <p><strong>{{status}} · <code>{{code}}</code></strong></p>
        <p>{{message}}</p>
        </div>
        {{/content}}{{/content}}{{/layout}}
        """#

    static let clock = #"""
        {{<layout}}{{$content}}{{#content}}
        <section class="tiles" aria-label="Open requests">
        {{#tiles}}<div class="tile {{tone}}"><span class="count">{{count}}</span>{{label}}</div>{{/tiles}}
        </section>
        <h2>Open requests</h2>
        <a class="download" href="{{csvHref}}">Download as CSV</a>
        {{#empty}}<p>No request is open.</p>{{/empty}}
        {{^empty}}
        <table>
        <thead><tr><th>Request</th><th>Kind</th><th>Pseudonym</th><th>Opened</th><th>Due (UTC)</th><th><a href="{{sortHref}}" title="Sort: {{sortTitle}}">Days left {{sortMark}}</a></th><th>Extended</th></tr></thead>
        <tbody>
        {{#rows}}<tr><td class="nowrap"><a class="mono" href="{{href}}">{{requestId}}</a></td><td>{{kind}}</td><td class="mono">{{pseudonym}}</td><td class="nowrap">{{opened}}</td><td class="nowrap">{{due}}</td><td><span class="days {{tone}}">{{daysLeft}}</span></td><td>{{#extensionNote}}<span class="badge">extended</span> <span class="note">{{.}}</span>{{/extensionNote}}{{^extensionNote}}no{{/extensionNote}}</td></tr>
        {{/rows}}
        </tbody>
        </table>
        {{/empty}}
        <p class="note">Days left are whole days to the due date; green: 10 or more, amber: fewer than 10, red: fewer than 5. An extended request shows when it was extended and its due date before; the extension's reason is in its encrypted data, which the dashboard never reads.</p>
        {{/content}}{{/content}}{{/layout}}
        """#

    static let timeline = #"""
        {{<layout}}{{$content}}{{#content}}
        <p><a href="{{backHref}}">← Statutory clock</a></p>
        <dl class="facts">
        <dt>Request</dt><dd class="mono">{{requestId}}</dd>
        <dt>Kind</dt><dd>{{kind}}</dd>
        <dt>Pseudonym</dt><dd class="mono">{{pseudonym}}</dd>
        <dt>Opened</dt><dd>{{opened}}</dd>
        <dt>Due</dt><dd>{{due}}{{#extended}} <span class="badge">extended</span>{{/extended}}</dd>
        <dt>Status</dt><dd>{{status}}{{#closed}}, {{.}}{{/closed}}</dd>
        {{#isOpen}}<dt>Days left</dt><dd><span class="days {{tone}}">{{daysLeft}}</span></dd>{{/isOpen}}
        </dl>
        <h2>Events</h2>
        <table>
        <thead><tr><th class="num">Seq</th><th>Type</th><th>Actor</th><th>Occurred</th><th>Recorded</th></tr></thead>
        <tbody>
        {{#entries}}<tr><td class="num">{{seq}}</td><td><code>{{type}}</code></td><td>{{actor}}</td><td>{{occurredAt}}</td><td>{{recordedAt}}</td></tr>
        {{/entries}}
        </tbody>
        </table>
        <p class="note">Read from the log as stored; no payload is decrypted.</p>
        {{/content}}{{/content}}{{/layout}}
        """#

    static let consent = #"""
        {{<layout}}{{$content}}{{#content}}
        <h2>Grants, withdrawals and expiries per week, every purpose ({{window}})</h2>
        <p class="legend"><span class="grant"></span>grants<span class="withdrawal"></span>withdrawals<span class="expiry"></span>expiries</p>
        {{#chart}}{{>chart}}{{/chart}}
        <h2>By purpose</h2>
        <a class="download" href="{{csvHref}}">Download as CSV</a>
        <table>
        <thead><tr><th>Purpose</th><th>Basis</th><th class="num">Granted</th><th class="num">Withdrawn</th><th class="num">Expired</th><th class="num">Erased</th><th class="num">Opt-in rate</th><th>Last 12 weeks</th></tr></thead>
        <tbody>
        {{#rows}}<tr><td>{{title}}<br><code>{{id}}</code></td><td>{{basis}}</td><td class="num">{{granted}}</td><td class="num">{{withdrawn}}</td><td class="num">{{expired}}</td><td class="num">{{erased}}</td><td class="num">{{rate}}</td><td>{{#chart}}{{>chart}}{{/chart}}</td></tr>
        {{/rows}}
        </tbody>
        </table>
        <p class="note">Counts are (person, purpose) pairs by their status at the time shown. Opt-in rate: granted ÷ (granted + withdrawn + expired); erased people no longer count. Weeks count grants and withdrawals by when they happened, among the events recorded by then, and expiries (the pairs expired at the time shown) by when their grant lapsed.</p>
        <h2 id="notices">Opt-in rate by notice version</h2>
        <a class="download" href="{{noticesCSVHref}}">Download as CSV</a>
        <table>
        <thead><tr><th>Purpose</th><th>Notice version</th><th class="num">Granted</th><th class="num">Withdrawn</th><th class="num">Expired</th><th class="num">Opt-in rate</th></tr></thead>
        <tbody>
        {{#notices}}<tr><td>{{title}}</td><td><code>{{version}}</code></td><td class="num">{{granted}}</td><td class="num">{{withdrawn}}</td><td class="num">{{expired}}</td><td class="num">{{rate}}</td></tr>
        {{/notices}}
        </tbody>
        </table>
        <p class="note">Each pair counts under the notice version its deciding decision was made under: a grant's own, a withdrawal's that of the grant it withdrew. A purpose's versions add up to its counts above.</p>
        <h2 id="expiring">Expiring in the next 30 days ({{expiringCount}}, to {{horizon}})</h2>
        <a class="download" href="{{expiringCSVHref}}">Download as CSV</a>
        {{#noneExpiring}}<p>No consent lapses in the next 30 days.</p>{{/noneExpiring}}
        {{^noneExpiring}}
        <table>
        <thead><tr><th>Pseudonym</th><th>Purpose</th><th>Notice</th><th>Granted</th><th>Expires (UTC)</th><th>Days left</th></tr></thead>
        <tbody>
        {{#expiring}}<tr><td class="mono">{{pseudonym}}</td><td><code>{{purpose}}</code></td><td><code>{{notice}}</code></td><td class="nowrap">{{granted}}</td><td class="nowrap">{{expires}}</td><td class="nowrap">{{daysLeft}}</td></tr>
        {{/expiring}}
        </tbody>
        </table>
        {{/noneExpiring}}
        {{/content}}{{/content}}{{/layout}}
        """#

    static let erasures = #"""
        {{<layout}}{{$content}}{{#content}}
        <section class="tiles small" aria-label="Erasures">
        {{#tiles}}<div class="tile"><span class="count">{{value}}</span>{{label}}</div>{{/tiles}}
        </section>
        <h2>Erased people, in the order of their erasures</h2>
        <a class="download" href="{{csvHref}}">Download as CSV</a>
        {{#empty}}<p>No one had been erased.</p>{{/empty}}
        {{^empty}}
        <table>
        <thead><tr><th>Pseudonym</th><th class="num">Seq</th><th>Shredded (UTC)</th><th>Erasure request</th><th>Requested (UTC)</th><th class="num">Request to shred</th></tr></thead>
        <tbody>
        {{#rows}}<tr><td class="mono">{{pseudonym}}</td><td class="num">{{seq}}</td><td class="nowrap">{{erased}}</td><td class="nowrap">{{#requestHref}}<a class="mono" href="{{.}}">{{requestId}}</a>{{/requestHref}}{{^requestHref}}none{{/requestHref}}</td><td class="nowrap">{{requested}}</td><td class="num nowrap">{{toShred}}</td></tr>
        {{/rows}}
        </tbody>
        </table>
        {{/empty}}
        <p class="note">An erasure destroys the person's key (crypto-shredding); their events stay in the chain, unreadable. The shred's time is its <code>erasure.completed</code> event's, which the ledger appends just before it overwrites the key; the request's is when the person asked. Erasures without a request followed a retention rule. Median and longest count only erasures that answered a request.</p>
        {{/content}}{{/content}}{{/layout}}
        """#

    static let integrity = #"""
        {{<layout}}{{$content}}{{#content}}
        <h2>Head</h2>
        <dl class="facts">
        <dt>Ledger</dt><dd class="mono">{{ledgerId}}</dd>
        <dt>Seq</dt><dd>{{treeSize}}</dd>
        <dt>Hash</dt><dd class="mono hash">{{headHash}}</dd>
        <dt>Recorded</dt><dd>{{headRecordedAt}}</dd>
        </dl>
        <h2>Checkpoint</h2>
        <dl class="facts">
        <dt>Tree size</dt><dd>{{treeSize}}</dd>
        <dt>Root (RFC 9162)</dt><dd class="mono hash">{{rootHash}}</dd>
        <dt>Signing key (Ed25519)</dt><dd class="mono hash">{{publicKey}}</dd>
        <dt>Note verifier key</dt><dd class="mono hash">{{noteVerifierKey}}</dd>
        <dt>Signature</dt><dd>made just now by this server with the ledger's key, for this page: it proves nothing by itself. Compare the note verifier key with the one the ledger's operator published; an auditor checks the log against a checkpoint they kept with <code>ledgerctl verify --checkpoint</code>.</dd>
        </dl>
        <h2>Checks</h2>
        <dl class="facts">
        {{#checks}}<dt><code>{{command}}</code></dt><dd><span class="{{tone}}">{{result}}</span>{{#details}}<br><span class="note">{{.}}</span>{{/details}}</dd>
        {{/checks}}
        </dl>
        <h2>Witnesses</h2>
        {{#noWitnesses}}<p>The catalogue lists no witness.</p>{{/noWitnesses}}
        {{^noWitnesses}}
        <a class="download" href="{{witnessesCSVHref}}">Download as CSV</a>
        <table>
        <thead><tr><th>Witness</th><th>Verifier key</th><th>Latest cosigned</th></tr></thead>
        <tbody>
        {{#witnesses}}<tr><td>{{name}}</td><td class="mono hash">{{verifierKey}}</td><td>{{latest}}</td></tr>
        {{/witnesses}}
        </tbody>
        </table>
        {{/noWitnesses}}
        <h2>Erasures</h2>
        <p><strong>{{erasures}}</strong> people erased (their keys destroyed; their events stay in the chain): <a href="{{erasuresHref}}">the erasures</a>.</p>
        <p class="note"><code>ledgerctl verify</code> recomputes every hash and link; <code>ledgerctl rebuild</code> compares every index, snapshot and request record with the log; each records its outcome in <code>integrity-status.json</code> in the ledger's directory, which this page reads. <code>ledgerctl checkpoint --format note</code> prints the checkpoint for auditors.</p>
        {{/content}}{{/content}}{{/layout}}
        """#
}
