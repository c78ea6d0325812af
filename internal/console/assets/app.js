// vigil dev console: the page behind /debug/vigil/.
//
// Plain script, no framework and nothing loaded from elsewhere. It reads the JSON API at
// "api/..." (relative to the page, so the console works wherever it is mounted) and draws
// five pages, chosen by the URL fragment:
//
//   #/errors, #/errors/{fingerprint}      error groups, one group with its events
//   #/traces?view=&route=, #/traces/{id}  trace lists, one trace as a span tree (?span= selects)
//   #/routes?route=&method=               RED per route and one route's latency histogram
//   #/logs?level=&q=&trace_id=&span_id=   the live log tail
//   #/vigil                               vigil itself: health, exporters, counters, config
//
// Safety: every string from the API is data. It reaches the page through textContent or
// setAttribute on a harmless attribute (title, class built from a fixed list); never through
// innerHTML. The only hrefs are "#/..." fragments built here with encodeURIComponent. The
// server sends a Content-Security-Policy without 'unsafe-inline', so this file holds all the
// script and app.css all the style (positions and widths are set through the CSSOM, which the
// policy allows).
//
// Live updates: the page polls api/version every POLL_MS; when the counter of what the
// current page shows has moved, that page refetches. Routes and vigil pages refresh on a timer.
'use strict';

(function () {
  const POLL_MS = 1500;
  const SLOW_REFRESH_MS = 3000;
  const MAX_LOG_ROWS = 1000;
  const SVG_NS = 'http://www.w3.org/2000/svg';

  // ---------------------------------------------------------------- DOM helpers

  // h builds an element: h('td', {class: 'num', title: t}, child, 'text', ...). Strings become
  // text nodes; attributes are set with setAttribute; on* keys take functions (listeners).
  function h(tag, attrs, ...children) {
    return build(document.createElement(tag), attrs, children);
  }

  function s(tag, attrs, ...children) {
    return build(document.createElementNS(SVG_NS, tag), attrs, children);
  }

  function build(el, attrs, children) {
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k.startsWith('on')) {
          el.addEventListener(k.slice(2), v);
        } else if (k === 'href') {
          el.setAttribute('href', safeHref(v));
        } else {
          el.setAttribute(k, v === true ? '' : String(v));
        }
      }
    }
    add(el, children);
    return el;
  }

  function add(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  // fill replaces the children of el.
  function fill(el, ...children) {
    return add(clear(el), children);
  }

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  }

  // safeHref keeps links inside the page: only fragments built by route() are allowed.
  function safeHref(v) {
    v = String(v);
    return v.startsWith('#/') ? v : '#/';
  }

  // route builds "#/a/b?k=v" with every part encoded.
  function route(parts, query) {
    let r = '#/' + parts.map((p) => encodeURIComponent(String(p))).join('/');
    if (query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) {
        if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
      }
      const qs = q.toString();
      if (qs) r += '?' + qs;
    }
    return r;
  }

  function link(href, ...children) {
    return h('a', {href: href}, ...children);
  }

  // cls turns an API value into one of a fixed set of class names (never the value itself).
  function cls(prefix, value, allowed) {
    const v = String(value || '').toLowerCase();
    return prefix + (allowed.includes(v) ? v : 'other');
  }

  function levelName(l) {
    const v = String(l || '').toLowerCase();
    if (v.startsWith('err') || v === 'fatal' || v === 'panic') return 'error';
    if (v.startsWith('warn')) return 'warn';
    if (v.startsWith('debug') || v === 'trace') return 'debug';
    if (v.startsWith('info')) return 'info';
    return 'other';
  }

  // --------------------------------------------------------------------- format

  function parseTime(t) {
    if (!t) return NaN;
    // Trim nanoseconds to milliseconds: Date.parse is only required to read three digits.
    return Date.parse(String(t).replace(/(\.\d{3})\d+/, '$1'));
  }

  function fmtMs(ms) {
    if (ms === undefined || ms === null || !isFinite(ms)) return '–';
    if (ms < 1) return ms.toFixed(2) + ' ms';
    if (ms < 10) return ms.toFixed(1) + ' ms';
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(2) + ' s';
    return (ms / 60000).toFixed(1) + ' min';
  }

  function fmtAgo(t) {
    const ms = parseTime(t);
    if (!isFinite(ms)) return '–';
    const d = Math.max(0, (Date.now() - ms) / 1000);
    if (d < 1) return 'just now';
    if (d < 60) return Math.floor(d) + 's ago';
    if (d < 3600) return Math.floor(d / 60) + 'm ago';
    if (d < 86400) return Math.floor(d / 3600) + 'h ago';
    return Math.floor(d / 86400) + 'd ago';
  }

  function fmtClock(t) {
    const ms = parseTime(t);
    if (!isFinite(ms)) return '–';
    const d = new Date(ms);
    const p = (n, w) => String(n).padStart(w || 2, '0');
    return p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds()) + '.' + p(d.getMilliseconds(), 3);
  }

  function fmtFull(t) {
    const ms = parseTime(t);
    return isFinite(ms) ? new Date(ms).toLocaleString() + ' (' + t + ')' : String(t || '');
  }

  // when renders a relative time that keeps itself fresh; the exact time is its tooltip.
  function when(t) {
    return h('time', {class: 'ago', 'data-t': t || '', title: fmtFull(t)}, fmtAgo(t));
  }

  function fmtNum(n) {
    if (n === undefined || n === null || !isFinite(n)) return '–';
    if (Number.isInteger(n)) return n.toLocaleString('en-US');
    return n.toLocaleString('en-US', {maximumFractionDigits: 2});
  }

  function fmtRate(r) {
    if (!r) return '0/s';
    if (r < 0.1) return r.toFixed(3) + '/s';
    if (r < 10) return r.toFixed(2) + '/s';
    return Math.round(r) + '/s';
  }

  function fmtPct(part, total) {
    if (!total) return '–';
    const p = (100 * part) / total;
    if (p === 0) return '0%';
    if (p < 0.1) return '<0.1%';
    return (p < 10 ? p.toFixed(1) : Math.round(p)) + '%';
  }

  function fmtBytes(b) {
    if (!isFinite(b)) return '–';
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (b >= 1024 && i < u.length - 1) {
      b /= 1024;
      i++;
    }
    return (i === 0 ? b : b.toFixed(1)) + ' ' + u[i];
  }

  function fmtDuration(sec) {
    if (!isFinite(sec)) return '–';
    if (sec < 60) return Math.floor(sec) + 's';
    if (sec < 3600) return Math.floor(sec / 60) + 'm ' + (Math.floor(sec) % 60) + 's';
    return Math.floor(sec / 3600) + 'h ' + (Math.floor(sec / 60) % 60) + 'm';
  }

  // fmtValue shows an attribute value: strings as they are, everything else as JSON.
  function fmtValue(v) {
    if (typeof v === 'string') return v;
    try {
      return JSON.stringify(v);
    } catch (e) {
      return String(v);
    }
  }

  function shortId(id) {
    id = String(id || '');
    return id.length > 12 ? id.slice(0, 8) + '…' : id;
  }

  // ------------------------------------------------------------------------ API

  class HTTPError extends Error {
    constructor(status, msg) {
      super(msg);
      this.status = status;
    }
  }

  async function api(path, query) {
    let url = 'api/' + path;
    if (query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) {
        if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
      }
      const qs = q.toString();
      if (qs) url += '?' + qs;
    }
    const resp = await fetch(url, {headers: {Accept: 'application/json'}, credentials: 'same-origin', cache: 'no-store'});
    let body = null;
    try {
      body = await resp.json();
    } catch (e) {
      body = null;
    }
    if (!resp.ok) {
      throw new HTTPError(resp.status, (body && body.error) || resp.status + ' ' + resp.statusText);
    }
    return body || {};
  }

  // ------------------------------------------------------------- shared widgets

  function table(headers, rows, opts) {
    opts = opts || {};
    const thead = h('thead', null, h('tr', null, headers.map((c) => {
      const label = typeof c === 'string' ? c : c.label;
      return h('th', {class: typeof c === 'string' ? null : c.class, title: typeof c === 'string' ? null : c.title}, label);
    })));
    const tbody = h('tbody', null, rows);
    return h('table', {class: 'grid' + (opts.class ? ' ' + opts.class : '')}, thead, tbody);
  }

  // kv draws an attribute map as a two-column table, keys sorted.
  function kv(obj, empty) {
    const keys = obj ? Object.keys(obj).sort() : [];
    if (!keys.length) return h('p', {class: 'muted'}, empty || 'none');
    return h('table', {class: 'kv'}, h('tbody', null, keys.map((k) =>
      h('tr', null, h('th', null, h('div', {title: k}, k)), h('td', null, fmtValue(obj[k]))))));
  }

  function section(title, ...body) {
    return h('section', {class: 'panel'}, h('h2', null, title), ...body);
  }

  // clip shows one line, cut with an ellipsis when too long; the whole value is the tooltip.
  function clip(text) {
    return h('span', {class: 'clip', title: text}, text);
  }

  function pill(text, kind, title) {
    return h('span', {class: 'pill' + (kind ? ' ' + kind : ''), title: title || text}, text);
  }

  function emptyState(text, hint) {
    return h('div', {class: 'empty'}, h('p', null, text), hint ? h('p', {class: 'muted'}, hint) : null);
  }

  function errorBox(err) {
    const refused = err && (err.status === 401 || err.status === 403);
    return h('div', {class: 'fail'},
      h('strong', null, refused ? 'Refused: ' : 'Could not load: '),
      String((err && err.message) || err),
      refused ? h('p', {class: 'muted'}, 'Open the console from this machine, or once with ?token=… when a console token is configured.') : null);
  }

  function pageHead(title, ...rest) {
    return h('div', {class: 'pagehead'}, h('h1', null, title), ...rest);
  }

  function tabs(items, current) {
    return h('div', {class: 'tabs'}, items.map((it) =>
      h('a', {href: it.href, class: it.key === current ? 'tab on' : 'tab'}, it.label)));
  }

  // statusPill marks errors; OpenTelemetry's "unset" (no error recorded) shows quietly.
  function statusPill(status) {
    const v = String(status || '').toLowerCase();
    if (v === 'error') return pill('error', 'bad');
    if (v === 'ok') return pill('ok', 'good');
    return h('span', {class: 'muted'}, v === 'unset' || !v ? 'unset' : 'other');
  }

  // ------------------------------------------------------------- app state

  const app = {
    main: null,
    live: true,
    version: null, // last api/version answer
    view: null, // {update(changed), tick(), close()} of the page on screen
    gen: 0, // increases on every navigation; late answers for an old page are dropped
    service: '',
  };

  function current(gen) {
    return gen === app.gen;
  }

  function parseHash() {
    const raw = location.hash.replace(/^#\/?/, '');
    const qi = raw.indexOf('?');
    const path = (qi >= 0 ? raw.slice(0, qi) : raw).split('/').filter(Boolean).map((p) => {
      try {
        return decodeURIComponent(p);
      } catch (e) {
        return p;
      }
    });
    const query = new URLSearchParams(qi >= 0 ? raw.slice(qi + 1) : '');
    return {path: path, q: query};
  }

  function navigate() {
    if (app.view && app.view.close) app.view.close();
    app.view = null;
    app.gen++;
    const r = parseHash();
    const page = r.path[0] || 'errors';
    for (const a of document.querySelectorAll('#nav a')) {
      a.classList.toggle('on', a.getAttribute('data-page') === page);
    }
    const root = clear(app.main);
    const ctx = {root: root, gen: app.gen, path: r.path, q: r.q};
    const views = {errors: errorsView, traces: tracesView, routes: routesView, logs: logsView, vigil: vigilView};
    const view = views[page];
    if (!view) {
      root.appendChild(emptyState('No such page.', 'Pick one above.'));
      return;
    }
    document.title = (app.service ? app.service + ' · ' : '') + 'vigil · ' + page;
    app.view = view(ctx) || null;
    window.scrollTo(0, 0);
  }

  // ------------------------------------------------------------------- errors

  function errorsView(ctx) {
    if (ctx.path[1]) return errorGroupView(ctx, ctx.path[1]);
    const head = pageHead('Errors', h('span', {class: 'sub'}, 'grouped by fingerprint, newest first'));
    const body = h('div');
    fill(ctx.root, head, body);
    let shown = new Map(); // fingerprint -> count, to mark groups that moved

    async function load() {
      let data;
      try {
        data = await api('errors');
      } catch (e) {
        if (current(ctx.gen)) clear(body).appendChild(errorBox(e));
        return;
      }
      if (!current(ctx.gen)) return;
      const groups = data.groups || [];
      setErrorBadge(groups.length);
      if (!groups.length) {
        clear(body).appendChild(emptyState('No errors captured yet.', 'Errors and panics passed to observe.Capture, and panics the middleware recovers, show up here.'));
        return;
      }
      const total = groups.reduce((n, g) => n + (g.count || 0), 0);
      const before = shown;
      shown = new Map();
      const rows = groups.map((g) => {
        shown.set(g.fingerprint, g.count);
        const moved = before.size && before.get(g.fingerprint) !== g.count;
        const href = route(['errors', g.fingerprint]);
        return h('tr', {class: 'click' + (moved ? ' flash' : ''), 'data-href': href, 'data-fingerprint': g.fingerprint, onclick: rowClick},
          h('td', {class: 'lvl'}, h('span', {class: cls('dot lvl-', levelName(g.level), ['error', 'warn', 'info', 'debug'])})),
          h('td', {class: 'title'},
            link(href, h('span', {class: 'etype'}, g.type || 'error'), h('span', {class: 'etitle'}, errTitle(g)))),
          h('td', {class: 'mono route'}, clip(g.route || '–')),
          h('td', {class: 'num count'}, fmtNum(g.count)),
          h('td', {class: 'num'}, when(g.last_seen)),
          h('td', {class: 'num'}, when(g.first_seen)),
          h('td', {class: 'links'},
            g.trace_id ? link(route(['traces', g.trace_id]), 'trace') : null));
      });
      fill(body, 
        h('p', {class: 'summary'}, fmtNum(groups.length) + ' groups · ' + fmtNum(total) + ' events'),
        table([{label: '', class: 'lvl'}, 'Error', 'Route', {label: 'Count', class: 'num'},
          {label: 'Last seen', class: 'num'}, {label: 'First seen', class: 'num'}, ''], rows, {class: 'errors'}));
    }
    load();
    return {update: (c) => c.errors && load()};
  }

  // errTitle is a group's title without the leading "type: " it may repeat.
  function errTitle(g) {
    const t = String(g.title || '');
    const p = String(g.type || '') + ': ';
    return (g.type && t.startsWith(p) ? t.slice(p.length) : t) || '(no message)';
  }

  function rowClick(ev) {
    if (ev.target.closest('a')) return; // the link itself navigates
    const href = ev.currentTarget.getAttribute('data-href');
    if (href) location.hash = href;
  }

  function setErrorBadge(n) {
    const b = document.getElementById('nav-errors');
    if (b) b.textContent = n ? String(n) : '';
  }

  function errorGroupView(ctx, fp) {
    const body = h('div');
    fill(ctx.root, h('div', {class: 'crumbs'}, link('#/errors', 'Errors'), ' / ', h('span', {class: 'mono'}, fp)), body);
    let selected = 0;
    let data = null;

    async function load() {
      try {
        data = await api('errors/' + encodeURIComponent(fp));
      } catch (e) {
        if (current(ctx.gen)) clear(body).appendChild(errorBox(e));
        return;
      }
      if (current(ctx.gen)) draw();
    }

    function draw() {
      const g = data.group || {};
      const events = (data.events || []).slice().sort((a, b) => parseTime(b.time) - parseTime(a.time));
      if (selected >= events.length) selected = 0;
      const ev = events[selected];
      const traceID = (ev && ev.trace_id) || g.trace_id;
      fill(body, 
        h('div', {class: 'pagehead'},
          h('h1', {class: 'errhead'}, h('span', {class: 'etype'}, g.type || 'error'), h('span', {class: 'etitle'}, errTitle(g)))),
        h('div', {class: 'facts'},
          pill('×' + fmtNum(g.count), 'count', 'captures in this group, deduplicated ones included'),
          pill(g.route || 'no route', 'mono'),
          pill(levelName(g.level), cls('lvl-', levelName(g.level), ['error', 'warn', 'info', 'debug'])),
          h('span', null, 'first seen ', when(g.first_seen)),
          h('span', null, 'last seen ', when(g.last_seen)),
          h('span', {class: 'spacer'}),
          traceID ? link(route(['traces', traceID]), h('span', {class: 'button'}, 'Open trace')) : null,
          traceID ? link(route(['logs'], {trace_id: traceID}), h('span', {class: 'button'}, 'Log lines')) : null),
        events.length > 1 ? h('div', {class: 'events-pick'}, 'Events (newest first): ', events.map((e, i) =>
          h('button', {type: 'button', class: i === selected ? 'on' : '', title: e.event_id || '', onclick: () => {
            selected = i;
            draw();
          }}, fmtClock(e.time)))) : null,
        ev ? eventDetail(ev) : emptyState('No event kept for this group.'));
    }

    load();
    return {update: (c) => c.errors && load()};
  }

  function eventDetail(ev) {
    const frames = ev.stack || []; // innermost call first, as the API lists them
    const hasApp = frames.some((f) => f.in_app);
    let onlyApp = false;
    const stackBox = h('div');
    function drawStack() {
      const shownFrames = onlyApp ? frames.filter((f) => f.in_app) : frames;
      clear(stackBox).appendChild(frames.length ? h('ol', {class: 'stack'}, shownFrames.map((f) =>
        h('li', {class: f.in_app ? 'frame app' : 'frame'},
          h('span', {class: 'fn'}, (f.module ? f.module + '.' : '') + (f.function || '?')),
          f.in_app ? pill('app', 'app') : null,
          h('span', {class: 'loc'}, (f.file || f.module || '') + (f.line ? ':' + f.line : ''))))) : h('p', {class: 'muted'}, 'no stack'));
    }
    drawStack();
    const req = ev.request || null;
    return h('div', {class: 'event'},
      ev.message && ev.message !== ev.value ? h('p', {class: 'message'}, ev.message) : null,
      section('Stack',
        hasApp ? h('label', {class: 'toggle'}, h('input', {type: 'checkbox', onchange: (e) => {
          onlyApp = e.target.checked;
          drawStack();
        }}), ' only application frames') : null,
        stackBox),
      h('div', {class: 'cols'},
        section('Request', req ? [
          h('p', {class: 'mono reqline'}, h('strong', null, req.method || ''), ' ', req.url || ''),
          req.query ? h('p', {class: 'mono muted'}, '?', req.query) : null,
          h('h3', null, 'Headers'), kv(req.headers, 'no headers'),
        ] : h('p', {class: 'muted'}, 'not captured in a request')),
        section('Event',
          kv(Object.assign({}, ev.type ? {type: ev.type} : {}, ev.value ? {value: ev.value} : {}, {
            event_id: ev.event_id || '', time: ev.time || '', route: ev.route || '',
            request_id: ev.request_id || '', trace_id: ev.trace_id || '', span_id: ev.span_id || '',
          })),
          h('div', {class: 'actions'},
            ev.trace_id ? link(route(['traces', ev.trace_id], {span: ev.span_id}), 'trace ' + shortId(ev.trace_id)) : null,
            ev.trace_id ? link(route(['logs'], {trace_id: ev.trace_id}), 'its log lines') : null))),
      h('div', {class: 'cols'},
        section('Attributes', kv(ev.attributes)),
        section('Breadcrumbs', (ev.breadcrumbs || []).length ? table(['Time', 'Category', 'Level', 'Message'],
          ev.breadcrumbs.map((b) => h('tr', null,
            h('td', {class: 'mono'}, fmtClock(b.time)), h('td', null, b.category || ''),
            h('td', null, b.level || ''), h('td', null, b.message || '')))) : h('p', {class: 'muted'}, 'none'))));
  }

  // ------------------------------------------------------------------- traces

  function tracesView(ctx) {
    if (ctx.path[1]) return traceView(ctx, ctx.path[1]);
    const view = ['recent', 'slow', 'failed'].includes(ctx.q.get('view')) ? ctx.q.get('view') : 'recent';
    const routeFilter = ctx.q.get('route') || '';
    const picker = h('select', {onchange: (e) => {
      location.hash = route(['traces'], {view: view, route: e.target.value});
    }}, h('option', {value: ''}, 'all routes'));
    const head = pageHead('Traces',
      tabs([
        {key: 'recent', label: 'Recent', href: route(['traces'], {route: routeFilter})},
        {key: 'slow', label: 'Slowest', href: route(['traces'], {view: 'slow', route: routeFilter})},
        {key: 'failed', label: 'Failed', href: route(['traces'], {view: 'failed', route: routeFilter})},
      ], view),
      h('label', {class: 'filter'}, 'Route ', picker));
    const body = h('div');
    fill(ctx.root, head, body);

    api('routes').then((d) => {
      if (!current(ctx.gen)) return;
      const names = [...new Set((d.routes || []).map((r) => r.route))].sort();
      if (routeFilter && !names.includes(routeFilter)) names.unshift(routeFilter);
      for (const n of names) picker.appendChild(h('option', {value: n, selected: n === routeFilter}, n));
    }).catch(() => {});

    async function load() {
      let data;
      try {
        data = await api('traces', {view: view, route: routeFilter});
      } catch (e) {
        if (current(ctx.gen)) clear(body).appendChild(errorBox(e));
        return;
      }
      if (!current(ctx.gen)) return;
      const traces = data.traces || [];
      if (!traces.length) {
        clear(body).appendChild(emptyState(view === 'failed' ? 'No failed traces held.' : 'No traces held yet.',
          'Sampled spans of this process show up here as they end.'));
        return;
      }
      const max = Math.max(...traces.map((t) => t.duration_ms || 0), 0.001);
      const rows = traces.map((t) => {
        const href = route(['traces', t.trace_id]);
        const bar = h('span', {class: t.error ? 'bar err' : 'bar'});
        bar.style.width = Math.max(1, (100 * (t.duration_ms || 0)) / max) + '%';
        return h('tr', {class: 'click' + (t.error ? ' failed' : ''), 'data-href': href, 'data-trace': t.trace_id, onclick: rowClick},
          h('td', {class: 'num'}, when(t.start)),
          h('td', null, link(href, t.root || '(unnamed)')),
          h('td', {class: 'mono route'}, clip(t.route || '–')),
          h('td', null, statusPill(t.error ? 'error' : t.status)),
          h('td', {class: 'num'}, fmtMs(t.duration_ms)),
          h('td', {class: 'barcell'}, h('span', {class: 'track'}, bar)),
          h('td', {class: 'num'}, fmtNum(t.spans)),
          h('td', {class: 'mono muted'}, shortId(t.trace_id)));
      });
      clear(body).appendChild(table(['Started', 'Root span', 'Route', 'Status', {label: 'Duration', class: 'num'}, '',
        {label: 'Spans', class: 'num'}, 'Trace'], rows, {class: 'traces'}));
    }
    load();
    return {update: (c) => c.traces && load()};
  }

  function traceView(ctx, traceID) {
    const body = h('div');
    fill(ctx.root, h('div', {class: 'crumbs'}, link('#/traces', 'Traces'), ' / ', h('span', {class: 'mono'}, traceID)), body);
    let selected = ctx.q.get('span') || '';
    let data = null;
    let spanCount = -1;

    async function load() {
      try {
        data = await api('traces/' + encodeURIComponent(traceID));
      } catch (e) {
        if (current(ctx.gen)) clear(body).appendChild(errorBox(e));
        return;
      }
      if (!current(ctx.gen)) return;
      const n = (data.spans || []).length;
      if (n !== spanCount) {
        spanCount = n;
        draw();
      }
    }

    function draw() {
      const spans = data.spans || [];
      const byID = new Map(spans.map((sp) => [sp.span_id, sp]));
      const children = new Map();
      const roots = [];
      for (const sp of spans) {
        if (sp.parent_id && byID.has(sp.parent_id) && sp.parent_id !== sp.span_id) {
          if (!children.has(sp.parent_id)) children.set(sp.parent_id, []);
          children.get(sp.parent_id).push(sp);
        } else {
          roots.push(sp);
        }
      }
      const byStart = (a, b) => (a.offset_ms || 0) - (b.offset_ms || 0);
      roots.sort(byStart);
      for (const list of children.values()) list.sort(byStart);
      // Depth-first order with depth; a visited set guards against cycles in bad data.
      const order = [];
      const seen = new Set();
      const walk = (sp, depth) => {
        if (seen.has(sp.span_id)) return;
        seen.add(sp.span_id);
        order.push({sp: sp, depth: depth});
        for (const c of children.get(sp.span_id) || []) walk(c, depth + 1);
      };
      roots.forEach((r) => walk(r, 0));
      const total = Math.max(0.001, ...spans.map((sp) => (sp.offset_ms || 0) + (sp.duration_ms || 0)));
      const root = roots[0] || {};
      const failed = spans.filter((sp) => String(sp.status).toLowerCase() === 'error').length;
      const db = data.db || {};

      const rows = h('div', {class: 'waterfall'});
      rows.appendChild(ruler(total));
      for (const {sp, depth} of order) {
        rows.appendChild(spanRow(sp, depth, total));
        if (sp.span_id === selected) rows.appendChild(spanDetail(sp));
      }
      fill(body, 
        h('div', {class: 'pagehead'}, h('h1', null, root.name || '(trace)')),
        h('div', {class: 'facts'},
          pill(fmtMs(total), 'count', 'from the first span start to the last span end'),
          pill(spans.length + (spans.length === 1 ? ' span' : ' spans')),
          failed ? pill(failed + ' failed', 'bad') : pill('no errors', 'good'),
          db.calls ? pill('DB ' + fmtNum(db.calls) + ' calls · ' + fmtMs(db.duration_ms), 'db') : null,
          data.dropped_spans ? pill(fmtNum(data.dropped_spans) + ' spans not kept', 'bad', 'spans over the per-trace bound of the console') : null,
          h('span', null, 'started ', when(root.start)),
          h('span', {class: 'spacer'}),
          link(route(['logs'], {trace_id: traceID}), h('span', {class: 'button'}, 'All log lines')),
          root.attributes && root.attributes['http.route'] ? link(route(['routes'], {route: root.attributes['http.route']}), h('span', {class: 'button'}, 'Route')) : null),
        rows,
        h('p', {class: 'muted hint'}, 'Click a span for its attributes, events and log lines.'));

      function spanRow(sp, depth, total) {
        const isErr = String(sp.status).toLowerCase() === 'error';
        const kind = cls('k-', sp.kind, ['server', 'client', 'internal', 'producer', 'consumer']);
        const bar = h('span', {class: 'bar ' + kind + (isErr ? ' err' : '')});
        bar.style.left = (100 * (sp.offset_ms || 0)) / total + '%';
        bar.style.width = Math.max(0.2, (100 * (sp.duration_ms || 0)) / total) + '%';
        const label = h('span', {class: 'dur'}, fmtMs(sp.duration_ms));
        // The label sits right of the bar; the track keeps a margin for the longest one.
        label.style.left = Math.min(100, (100 * ((sp.offset_ms || 0) + (sp.duration_ms || 0))) / total) + '%';
        const name = h('div', {class: 'sname'},
          h('span', {class: 'kind ' + kind, title: sp.kind || ''}, (sp.kind || '?').slice(0, 3)),
          h('span', {class: 'nm', title: sp.name || ''}, sp.name || '(unnamed)'),
          isErr ? pill('error', 'bad') : null,
          sp.logs ? link(route(['logs'], {trace_id: traceID, span_id: sp.span_id}), h('span', {class: 'logs', title: 'log lines written in this span'}, sp.logs + ' log')) : null);
        name.style.paddingLeft = 6 + depth * 16 + 'px';
        return h('div', {class: 'srow' + (sp.span_id === selected ? ' on' : ''), 'data-span': sp.span_id, 'data-depth': depth, onclick: (e) => {
          if (e.target.closest('a')) return;
          selected = selected === sp.span_id ? '' : sp.span_id;
          history.replaceState(null, '', route(['traces', traceID], {span: selected}));
          draw();
        }}, name, h('div', {class: 'strack'}, bar, label));
      }

      function spanDetail(sp) {
        const start = parseTime(sp.start);
        return h('div', {class: 'sdetail'},
          h('div', {class: 'facts'},
            h('strong', null, sp.name || ''),
            pill(sp.kind || 'span', 'mono'),
            statusPill(sp.status),
            sp.status_message ? h('span', {class: 'errtext'}, sp.status_message) : null,
            h('span', {class: 'mono muted'}, 'span ' + sp.span_id),
            h('span', null, fmtMs(sp.duration_ms) + ' at +' + fmtMs(sp.offset_ms)),
            h('span', {class: 'spacer'}),
            sp.logs ? link(route(['logs'], {trace_id: traceID, span_id: sp.span_id}), h('span', {class: 'button'}, sp.logs + (sp.logs === 1 ? ' log line' : ' log lines')))
              : h('span', {class: 'muted'}, 'no log lines in this span')),
          h('div', {class: 'cols'},
            h('div', null, h('h3', null, 'Attributes'), kv(sp.attributes)),
            h('div', null, h('h3', null, 'Events'), (sp.events || []).length ? h('ul', {class: 'sevents'}, sp.events.map((e) =>
              h('li', null,
                h('div', null, h('strong', null, e.name || ''), ' ', h('span', {class: 'muted'}, '+' + fmtMs(parseTime(e.time) - start))),
                kv(e.attributes, 'no attributes')))) : h('p', {class: 'muted'}, 'none'))));
      }
    }

    load();
    return {update: (c) => c.traces && load()};
  }

  function ruler(total) {
    const ticks = h('div', {class: 'strack ruler'});
    for (let i = 0; i <= 4; i++) {
      const t = h('span', {class: 'tick'}, fmtMs((total * i) / 4));
      t.style.left = i * 25 + '%';
      if (i === 4) t.classList.add('last');
      ticks.appendChild(t);
    }
    return h('div', {class: 'srow head'}, h('div', {class: 'sname'}, 'Span'), ticks);
  }

  // ------------------------------------------------------------------- routes

  function routesView(ctx) {
    const head = pageHead('Routes', h('span', {class: 'sub', id: 'routes-window'}, 'from the process\'s own metrics'));
    const body = h('div');
    const detail = h('div');
    fill(ctx.root, head, body, detail);
    let pick = {route: ctx.q.get('route') || '', method: ctx.q.get('method') || ''};
    let last = 0;

    async function load() {
      last = Date.now();
      let data;
      try {
        data = await api('routes');
      } catch (e) {
        if (current(ctx.gen)) clear(body).appendChild(errorBox(e));
        return;
      }
      if (!current(ctx.gen)) return;
      const routes = (data.routes || []).slice().sort((a, b) => (b.count || 0) - (a.count || 0) || String(a.route).localeCompare(String(b.route)));
      document.getElementById('routes-window').textContent = (data.window_s >= 1 ? 'rate over the last ' + fmtDuration(data.window_s) : 'rate: measuring') + '; counts and percentiles since start';
      if (!routes.length) {
        clear(body).appendChild(emptyState('No requests measured yet.', 'Routes show up with their first request through observe.Middleware.'));
        clear(detail);
        return;
      }
      let sel = routes.find((r) => r.route === pick.route && (!pick.method || r.method === pick.method));
      if (!sel) sel = routes.find((r) => r.route === pick.route) || routes[0];
      const maxP99 = Math.max(...routes.map((r) => r.p99_ms || 0), 0.001);
      const rows = routes.map((r) => {
        const bar = h('span', {class: 'bar'});
        bar.style.width = Math.max(1, (100 * (r.p99_ms || 0)) / maxP99) + '%';
        return h('tr', {class: 'click' + (r === sel ? ' on' : ''), 'data-route': r.route, onclick: () => {
          pick = {route: r.route, method: r.method};
          history.replaceState(null, '', route(['routes'], pick));
          load();
        }},
          h('td', {class: 'mono method'}, clip(r.method || '')),
          h('td', {class: 'mono route'}, clip(r.route || '')),
          h('td', {class: 'num'}, data.window_s >= 1 ? fmtRate(r.rate) : '–'),
          h('td', {class: 'num'}, fmtNum(r.count)),
          h('td', {class: 'num' + (r.err4xx ? ' warnv' : ' muted')}, fmtPct(r.err4xx, r.count)),
          h('td', {class: 'num' + (r.err5xx ? ' badv' : ' muted')}, fmtPct(r.err5xx, r.count)),
          h('td', {class: 'num p50'}, fmtMs(r.p50_ms)),
          h('td', {class: 'num p90'}, fmtMs(r.p90_ms)),
          h('td', {class: 'num p99'}, fmtMs(r.p99_ms)),
          h('td', {class: 'barcell'}, h('span', {class: 'track'}, bar)),
          h('td', {class: 'num' + (r.db_calls_per_req ? '' : ' muted')}, r.db_calls_per_req ? fmtNum(r.db_calls_per_req) : '–'),
          h('td', {class: 'num' + (r.db_ms_per_req ? '' : ' muted')}, r.db_ms_per_req ? fmtMs(r.db_ms_per_req) : '–'));
      });
      clear(body).appendChild(table(['Method', 'Route', {label: 'Rate', class: 'num'}, {label: 'Requests', class: 'num'},
        {label: '4xx', class: 'num'}, {label: '5xx', class: 'num'}, {label: 'p50', class: 'num'}, {label: 'p90', class: 'num'},
        {label: 'p99', class: 'num'}, '', {label: 'DB calls/req', class: 'num'}, {label: 'DB time/req', class: 'num'}], rows, {class: 'routes'}));
      clear(detail).appendChild(routeDetail(sel));
    }

    load();
    return {
      update: (c) => c.traces && Date.now() - last > SLOW_REFRESH_MS / 2 && load(),
      tick: () => Date.now() - last > SLOW_REFRESH_MS && load(),
    };
  }

  function routeDetail(r) {
    // The slowest exemplars first; the chart shows them all.
    const ex = (r.exemplars || []).slice().sort((a, b) => (b.value_ms || 0) - (a.value_ms || 0)).slice(0, 12);
    return h('section', {class: 'panel routedetail', 'data-route': r.route},
      h('h2', null, h('span', {class: 'mono'}, (r.method ? r.method + ' ' : '') + r.route), ' latency'),
      h('div', {class: 'facts'},
        pill('p50 ' + fmtMs(r.p50_ms), 'p50'), pill('p90 ' + fmtMs(r.p90_ms), 'p90'), pill('p99 ' + fmtMs(r.p99_ms), 'p99'),
        h('span', null, fmtNum(r.count) + ' requests'),
        h('span', {class: 'spacer'}),
        link(route(['traces'], {view: 'slow', route: r.route}), h('span', {class: 'button'}, 'Slowest traces')),
        link(route(['traces'], {view: 'failed', route: r.route}), h('span', {class: 'button'}, 'Failed traces'))),
      h('div', {class: 'cols chartcols'},
        h('div', null, histogram(r)),
        h('div', null, h('h3', null, 'Exemplars'), ex.length ? h('ul', {class: 'exemplars'}, ex.map((e) =>
          h('li', null, link(route(['traces', e.trace_id]), h('span', {class: 'num'}, fmtMs(e.value_ms)), ' ', h('span', {class: 'mono muted'}, shortId(e.trace_id))))))
          : h('p', {class: 'muted'}, 'none yet: exemplars come from sampled requests'))));
  }

  // histogram draws the route's latency distribution as an SVG bar chart: one bar per
  // bucket, lines at p50/p90/p99 and a dot per exemplar, linked to its trace. The API gives
  // Prometheus's buckets: upper bound "le" in milliseconds ("+Inf" for the last), counts
  // cumulative; the bars show the requests in each bucket.
  function histogram(r) {
    let buckets = (r.buckets || []).map((b) => {
      const le = b.le === null || b.le === undefined || b.le === '+Inf' ? Infinity : Number(b.le);
      return {le: isNaN(le) ? Infinity : le, cum: Number(b.count) || 0};
    });
    buckets.sort((a, b) => a.le - b.le);
    buckets.forEach((b, i) => {
      b.count = Math.max(0, b.cum - (i > 0 ? buckets[i - 1].cum : 0));
    });
    // Trim empty buckets at both ends, keeping one on each side for context.
    let lo = buckets.findIndex((b) => b.count > 0);
    let hi = buckets.length - 1 - [...buckets].reverse().findIndex((b) => b.count > 0);
    if (lo < 0) return h('p', {class: 'muted'}, 'no observations');
    lo = Math.max(0, lo - 1);
    hi = Math.min(buckets.length - 1, hi + 1);
    const firstLower = lo > 0 ? buckets[lo - 1].le : 0;
    buckets = buckets.slice(lo, hi + 1);

    const W = 760;
    const H = 230;
    const M = {l: 44, r: 30, t: 14, b: 40};
    const iw = W - M.l - M.r;
    const ih = H - M.t - M.b;
    const max = Math.max(...buckets.map((b) => b.count));
    const bw = iw / buckets.length;
    const svg = s('svg', {class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'latency histogram'});
    // y grid
    const yTicks = niceTicks(max);
    for (const v of yTicks) {
      const y = M.t + ih - (ih * v) / yTicks[yTicks.length - 1];
      svg.appendChild(s('line', {class: 'grid', x1: M.l, x2: W - M.r, y1: y, y2: y}));
      svg.appendChild(s('text', {class: 'ylab', x: M.l - 6, y: y + 4}, fmtNum(v)));
    }
    const yMax = yTicks[yTicks.length - 1];
    const lower = (i) => (i === 0 ? firstLower : buckets[i - 1].le);
    buckets.forEach((b, i) => {
      const bh = (ih * b.count) / yMax;
      const x = M.l + i * bw;
      const rect = s('rect', {class: 'hbar', x: x + 1, y: M.t + ih - bh, width: Math.max(1, bw - 2), height: Math.max(0, bh)},
        s('title', null, fmtMs(lower(i)) + ' – ' + (isFinite(b.le) ? fmtMs(b.le) : '∞') + ': ' + fmtNum(b.count) + ' requests'));
      svg.appendChild(rect);
      svg.appendChild(s('text', {class: 'xlab', x: x + bw, y: H - M.b + 14}, isFinite(b.le) ? fmtLe(b.le) : '+Inf'));
    });
    svg.appendChild(s('text', {class: 'xlab', x: M.l, y: H - M.b + 14}, fmtLe(firstLower)));
    svg.appendChild(s('line', {class: 'axis', x1: M.l, x2: W - M.r, y1: M.t + ih, y2: M.t + ih}));
    svg.appendChild(s('text', {class: 'xtitle', x: M.l + iw / 2, y: H - 6}, 'latency (bucket upper bound)'));
    // xAt maps a latency to an x position, linear inside its bucket.
    const xAt = (ms) => {
      for (let i = 0; i < buckets.length; i++) {
        if (ms <= buckets[i].le) {
          const lo = lower(i);
          const hi = isFinite(buckets[i].le) ? buckets[i].le : lo * 2 || 1;
          const f = hi > lo ? Math.min(1, Math.max(0, (ms - lo) / (hi - lo))) : 1;
          return M.l + (i + f) * bw;
        }
      }
      return M.l + iw;
    };
    for (const [name, v] of [['p50', r.p50_ms], ['p90', r.p90_ms], ['p99', r.p99_ms]]) {
      if (!isFinite(v) || v === null) continue;
      const x = xAt(v);
      svg.appendChild(s('line', {class: 'pline ' + name, x1: x, x2: x, y1: M.t, y2: M.t + ih}));
      svg.appendChild(s('text', {class: 'plab ' + name, x: x + 3, y: M.t + 10 + ['p50', 'p90', 'p99'].indexOf(name) * 12}, name));
    }
    for (const e of r.exemplars || []) {
      if (!e.trace_id) continue;
      const a = s('a', {href: route(['traces', e.trace_id])},
        s('circle', {class: 'exemplar', cx: xAt(e.value_ms), cy: M.t + ih - 6, r: 4.5}, s('title', null, 'exemplar ' + fmtMs(e.value_ms) + ' → trace ' + e.trace_id)));
      svg.appendChild(a);
    }
    return svg;
  }

  function fmtLe(ms) {
    if (ms === 0) return '0';
    if (ms < 1) return ms.toFixed(1) + 'ms';
    if (ms < 1000) return Math.round(ms) + 'ms';
    return ms / 1000 + 's';
  }

  function niceTicks(max) {
    if (max <= 0) return [0, 1];
    const step0 = max / 4;
    const mag = Math.pow(10, Math.floor(Math.log10(step0)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((v) => v >= step0);
    const st = Math.max(1, step);
    const out = [];
    for (let v = 0; v < max + st; v += st) out.push(v);
    return out;
  }

  // ------------------------------------------------------------------- logs

  function logsView(ctx) {
    const f = {
      level: ctx.q.get('level') || '',
      q: ctx.q.get('q') || '',
      trace_id: ctx.q.get('trace_id') || '',
      span_id: ctx.q.get('span_id') || '',
    };
    let seq = 0;
    let rows = 0;
    let paused = false;
    let debounce = null;
    const list = h('div', {class: 'loglist'});
    const count = h('span', {class: 'muted'});
    const setQuery = () => history.replaceState(null, '', route(['logs'], f));
    const level = h('select', {onchange: (e) => {
      f.level = e.target.value;
      setQuery();
      reload();
    }}, [['', 'all levels'], ['debug', '≥ debug'], ['info', '≥ info'], ['warn', '≥ warn'], ['error', 'error']].map(([v, l]) =>
      h('option', {value: v, selected: v === f.level}, l)));
    const search = h('input', {type: 'search', placeholder: 'search text…', value: f.q, spellcheck: 'false', oninput: (e) => {
      clearTimeout(debounce);
      debounce = setTimeout(() => {
        f.q = e.target.value;
        setQuery();
        reload();
      }, 250);
    }});
    const chips = h('span', {class: 'chips'});
    const follow = h('button', {type: 'button', class: 'on', title: 'Pause or resume the tail on this page', onclick: () => {
      paused = !paused;
      follow.classList.toggle('on', !paused);
      follow.textContent = paused ? 'paused' : 'tailing';
      if (!paused) more();
    }}, 'tailing');
    drawChips();
    fill(ctx.root, pageHead('Logs', h('div', {class: 'toolbar'}, level, search, chips, follow, count)), list);

    function drawChips() {
      clear(chips);
      for (const k of ['trace_id', 'span_id']) {
        if (!f[k]) continue;
        chips.appendChild(h('span', {class: 'chip'}, (k === 'trace_id' ? 'trace ' : 'span ') + shortId(f[k]),
          h('button', {type: 'button', title: 'remove this filter', onclick: () => {
            f[k] = '';
            if (k === 'trace_id') f.span_id = '';
            setQuery();
            drawChips();
            reload();
          }}, '×')));
      }
      if (f.trace_id) chips.appendChild(link(route(['traces', f.trace_id], {span: f.span_id}), 'open trace'));
    }

    // filterGen changes with the filters: an answer for older filters is dropped. While the
    // list reloads, the tail waits (it would fetch from the old list's last line).
    let filterGen = 0;
    let reloading = false;
    let fetching = false;

    async function reload() {
      const mine = ++filterGen;
      reloading = true;
      let data = null;
      let failure = null;
      try {
        data = await api('logs', Object.assign({limit: 300}, f));
      } catch (e) {
        failure = e;
      }
      if (!current(ctx.gen) || mine !== filterGen) return;
      reloading = false;
      clear(list);
      rows = 0;
      if (failure) {
        list.appendChild(errorBox(failure));
        return;
      }
      seq = data.seq || 0;
      const lines = data.lines || [];
      if (!lines.length) list.appendChild(h('div', {class: 'empty logempty'}, h('p', null, 'No log lines match.')));
      prepend(lines, false);
      more(); // what arrived while the list loaded
    }

    async function more() {
      if (paused || fetching || reloading) return; // one tail request at a time: no line shown twice
      fetching = true;
      const mine = filterGen;
      let data;
      try {
        data = await api('logs', Object.assign({after: seq, limit: 500}, f));
      } catch (e) {
        return;
      } finally {
        fetching = false;
      }
      if (!current(ctx.gen) || paused || mine !== filterGen) return;
      if ((data.lines || []).length) {
        const empty = list.querySelector('.logempty');
        if (empty) empty.remove();
      }
      seq = Math.max(seq, data.seq || 0);
      prepend(data.lines || [], true);
    }

    // prepend shows lines (oldest first from the API) newest on top.
    function prepend(lines, fresh) {
      const frag = document.createDocumentFragment();
      for (let i = lines.length - 1; i >= 0; i--) {
        if (lines[i].seq > seq) seq = lines[i].seq;
        frag.appendChild(logRow(lines[i], fresh));
      }
      list.insertBefore(frag, list.firstChild);
      rows += lines.length;
      while (rows > MAX_LOG_ROWS && list.lastChild) {
        list.removeChild(list.lastChild);
        rows--;
      }
      count.textContent = rows + (rows === 1 ? ' line' : ' lines');
    }

    reload();
    return {update: (c) => c.logs && more()};
  }

  // Keys every line has, shown in their own columns or not at all (service is the same on
  // every line of the process).
  const LOG_STANDARD = new Set(['time', 'level', 'msg', 'trace_id', 'span_id', 'request_id', 'service']);

  function logRow(l, fresh) {
    const lvl = levelName(l.level);
    const raw = l.raw && typeof l.raw === 'object' ? l.raw : null;
    const extra = h('span', {class: 'attrs'});
    if (raw) {
      for (const k of Object.keys(raw)) {
        if (LOG_STANDARD.has(k)) continue;
        const v = fmtValue(raw[k]);
        add(extra, [h('span', {class: 'k'}, k), '=', h('span', {class: 'v'}, v.length > 160 ? v.slice(0, 160) + '…' : v), ' ']);
      }
    }
    const row = h('div', {class: 'logrow ' + cls('lvl-', lvl, ['error', 'warn', 'info', 'debug']) + (fresh ? ' flash' : ''), 'data-seq': l.seq},
      h('span', {class: 'ts mono', title: fmtFull(l.time)}, fmtClock(l.time)),
      h('span', {class: 'lv'}, lvl === 'other' ? String(l.level || '').slice(0, 5) : lvl),
      h('span', {class: 'msg'}, l.msg || ''),
      extra,
      l.trace_id ? link(route(['traces', l.trace_id], {span: l.span_id}), h('span', {class: 'tlink', title: 'trace ' + l.trace_id}, 'trace')) : h('span'));
    row.addEventListener('click', (e) => {
      if (e.target.closest('a')) return;
      const open = row.nextSibling && row.nextSibling.classList && row.nextSibling.classList.contains('raw');
      if (open) {
        row.nextSibling.remove();
        return;
      }
      row.after(h('pre', {class: 'raw'}, raw ? JSON.stringify(raw, null, 2) : String(l.msg || '')));
    });
    return row;
  }

  // ------------------------------------------------------------------- vigil

  function vigilView(ctx) {
    const body = h('div', {class: 'dash'});
    fill(ctx.root, pageHead('vigil', h('span', {class: 'sub'}, 'what vigil itself received, sent and dropped')), body);
    let last = 0;

    async function load() {
      last = Date.now();
      let self;
      let health;
      try {
        [self, health] = await Promise.all([api('self'), api('health').catch((e) => ({error: e}))]);
      } catch (e) {
        if (current(ctx.gen)) clear(body).appendChild(errorBox(e));
        return;
      }
      if (!current(ctx.gen)) return;
      const rt = self.runtime || {};
      fill(body, 
        h('div', {class: 'cols three'},
          healthPanel(health),
          section('Runtime', h('dl', {class: 'figures'},
            fig('goroutines', fmtNum(rt.goroutines)),
            fig('heap in use', fmtBytes(rt.heap_alloc)),
            fig('heap from OS', fmtBytes(rt.heap_sys)),
            fig('GC cycles', fmtNum(rt.num_gc)),
            fig('GC pauses', fmtMs(rt.gc_pause_total_ms)),
            fig('uptime', fmtDuration(rt.uptime_s)))),
          section('Exporters', (self.exporters || []).length ? table(['Exporter', 'Last success', 'Last error'],
            self.exporters.map((e) => h('tr', {class: e.last_error && parseTime(e.last_error_time) > parseTime(e.last_ok || '') ? 'failed' : ''},
              h('td', null, e.name || ''),
              h('td', null, e.last_ok ? when(e.last_ok) : h('span', {class: 'muted'}, 'never')),
              h('td', null, e.last_error ? [h('span', {class: 'errtext'}, e.last_error), ' ', when(e.last_error_time)] : h('span', {class: 'muted'}, 'none'))))) : h('p', {class: 'muted'}, 'no exporters'))),
        h('div', {class: 'cols'},
          section('Counters', counters(self.counters || [])),
          section('Configuration', config(self.config || []))),
        self.limits ? section('Console limits', kv(self.limits)) : null);
    }

    load();
    return {tick: () => Date.now() - last > SLOW_REFRESH_MS && load()};
  }

  function fig(label, value) {
    return h('div', {class: 'fig'}, h('dt', null, label), h('dd', null, value));
  }

  function healthPanel(health) {
    if (!health || health.error) {
      return section('Health', h('p', {class: 'muted'}, health && health.error ? String(health.error.message) : 'unavailable'));
    }
    const checks = health.checks || [];
    const st = String(health.status || (checks.every((c) => c.status === 'ok') ? 'ok' : 'fail'));
    return section('Health',
      h('p', null, pill(st, st === 'ok' ? 'good' : st === 'fail' ? 'bad' : 'dim'), ' ', checks.length ? checks.length + ' checks' : 'no checks registered'),
      checks.length ? table(['Check', 'Status', {label: 'Latency', class: 'num'}, 'Since'], checks.map((c) => h('tr', {class: c.status === 'ok' ? '' : 'failed'},
        h('td', null, c.name || '', c.error ? h('div', {class: 'errtext'}, c.error) : null),
        h('td', null, pill(c.status || '?', c.status === 'ok' ? 'good' : 'bad')),
        h('td', {class: 'num'}, fmtMs(c.latency_ms)),
        h('td', null, c.since ? when(c.since) : '–')))) : null);
  }

  // counters lists vigil's own counters; zeros are hidden unless asked for, and a counter of
  // something lost (dropped, failed, ...) that is not zero is marked.
  let showZeroCounters = false;

  function counters(list) {
    if (!list.length) return h('p', {class: 'muted'}, 'none');
    const box = h('div');
    const sorted = list.slice().sort((a, b) => String(a.name).localeCompare(String(b.name)));
    const zeros = sorted.filter((c) => !c.value).length;
    const draw = () => {
      const shown = showZeroCounters ? sorted : sorted.filter((c) => c.value);
      fill(box,
        zeros ? h('label', {class: 'toggle'}, h('input', {type: 'checkbox', checked: showZeroCounters, onchange: (e) => {
          showZeroCounters = e.target.checked;
          draw();
        }}), ' show the ' + zeros + ' counters at zero') : null,
        shown.length ? table(['Counter', 'Labels', {label: 'Value', class: 'num'}], shown.map((c) => {
          const labels = Object.keys(c.labels || {}).sort().map((k) => k + '=' + c.labels[k]).join(' ');
          const bad = c.value > 0 && lostCounter(c);
          return h('tr', {class: c.value ? (bad ? 'failed' : '') : 'zero'},
            h('td', {class: 'mono'}, c.name || ''), h('td', {class: 'mono muted'}, labels), h('td', {class: 'num'}, fmtNum(c.value)));
        }), {class: 'counters'}) : h('p', {class: 'muted'}, 'every counter is at zero: nothing dropped, nothing failed'));
    };
    draw();
    return box;
  }

  // lostCounter tells a counter of something lost (dropped, failed, rate limited, ...) by its
  // name or by the value of its outcome/reason label.
  function lostCounter(c) {
    const lost = /drop|fail|lost|full|limited|capped|overflow|panic|timeout|evict|error/;
    const name = String(c.name || '').replace(/^vigil_errors_/, '');
    if (/_series$/.test(name)) return false;
    const why = ['outcome', 'reason', 'result', 'status'].map((k) => (c.labels || {})[k]).filter(Boolean).join(' ');
    return lost.test(why) || (/drop|fail|lost|panic|overflow|evict/.test(name));
  }

  function config(list) {
    if (!list.length) return h('p', {class: 'muted'}, 'none');
    return table(['Setting', 'Value', 'Source'], list.map((c) => {
      const src = String(c.source || '');
      const kind = src.startsWith('env') || /^[A-Z0-9_]+$/.test(src) ? 'env' : src === 'default' ? 'default' : 'field';
      return h('tr', {class: kind === 'default' ? 'zero' : ''},
        h('td', null, h('div', {class: 'mono'}, c.name || ''), c.field ? h('div', {class: 'muted small'}, c.field) : null),
        h('td', {class: 'mono val'}, c.value === '' ? h('span', {class: 'muted'}, '(empty)') : fmtValue(c.value)),
        h('td', null, pill(src || '?', 'src-' + kind)));
    }), {class: 'config'});
  }

  // ------------------------------------------------------------------- live

  async function poll() {
    const btn = document.getElementById('live');
    try {
      if (app.live) {
        const v = await api('version');
        btn.classList.remove('offline');
        const prev = app.version;
        app.version = v;
        if (prev) {
          const changed = {errors: v.errors !== prev.errors, traces: v.traces !== prev.traces, logs: v.logs !== prev.logs};
          if (changed.errors && !(app.view && location.hash.startsWith('#/errors'))) refreshBadge();
          if (app.view && app.view.update && (changed.errors || changed.traces || changed.logs)) app.view.update(changed);
        }
        if (app.view && app.view.tick) app.view.tick();
        document.getElementById('foot').textContent = 'live · updated ' + fmtClock(new Date().toISOString()) +
          ' · ' + fmtNum(v.errors) + ' errors, ' + fmtNum(v.traces) + ' traces, ' + fmtNum(v.logs) + ' log lines seen';
      }
    } catch (e) {
      btn.classList.add('offline');
      document.getElementById('foot').textContent = 'cannot reach the service: ' + e.message;
    }
    for (const t of document.querySelectorAll('time.ago')) t.textContent = fmtAgo(t.getAttribute('data-t'));
    setTimeout(poll, POLL_MS);
  }

  function refreshBadge() {
    api('errors').then((d) => setErrorBadge((d.groups || []).length)).catch(() => {});
  }

  function serviceName() {
    api('self').then((d) => {
      const c = (d.config || []).find((x) => x.field === 'Service' || x.name === 'OTEL_SERVICE_NAME' || x.name === 'VIGIL_SERVICE');
      if (c && c.value) {
        app.service = String(c.value);
        document.getElementById('service').textContent = app.service;
        document.title = app.service + ' · ' + document.title;
      }
    }).catch(() => {});
  }

  function start() {
    app.main = document.getElementById('main');
    const btn = document.getElementById('live');
    btn.addEventListener('click', () => {
      app.live = !app.live;
      btn.classList.toggle('on', app.live);
      btn.textContent = app.live ? 'live' : 'paused';
    });
    window.addEventListener('hashchange', navigate);
    navigate();
    refreshBadge();
    serviceName();
    setTimeout(poll, 0);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
