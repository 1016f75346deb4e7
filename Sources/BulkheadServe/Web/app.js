// bulkhead console: a hash-routed single page over the JSON API (docs/api-contract.md).
// No framework, no build step. Everything the API returns may be attacker-controlled
// (pod names, users, raw records), so the DOM is built with createElement/textContent only:
// nothing here assigns innerHTML, and no data ends up in an attribute that executes.
'use strict';

(() => {
  const API = '/api/v1';
  const LEVELS = ['informational', 'low', 'medium', 'high', 'critical'];
  const STATUSES = ['open', 'acknowledged', 'closed'];
  const TACTICS = ['reconnaissance', 'resource-development', 'initial-access', 'execution', 'persistence',
    'privilege-escalation', 'defense-evasion', 'credential-access', 'discovery', 'lateral-movement',
    'collection', 'command-and-control', 'exfiltration', 'impact'];
  const ALERT_FILTERS = ['since', 'until', 'level', 'status', 'rule', 'tactic', 'source', 'namespace', 'pod', 'image', 'user', 'q'];
  const PAGE_SIZES = [25, 50, 100, 200, 500];

  const app = document.getElementById('app');
  const nav = document.getElementById('nav');
  let renderSeq = 0;       // bumps on every navigation; late responses for an old page are dropped
  let refreshTimer = null; // periodic refresh of the current page (sources)

  // ---------- DOM helpers ----------

  class AuthError extends Error {}
  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }

  /** Safe element builder: props become properties/attributes, children become text nodes. */
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      else if (k === 'text') el.textContent = String(v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (typeof v === 'function' && k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'href') el.setAttribute('href', safeHref(v));
      else if (['hidden', 'disabled', 'selected', 'checked', 'required', 'autofocus'].includes(k)) el[k] = Boolean(v);
      else if (k === 'value') el.value = String(v);
      else if (k.startsWith('on') || k === 'style' || k === 'src') throw new Error('refusing attribute ' + k);
      else el.setAttribute(k, String(v));
    }
    add(el, children);
    return el;
  }

  function add(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  /** Links are in-app hash routes or ATT&CK pages; anything else becomes inert. */
  function safeHref(v) {
    const s = String(v);
    if (s.startsWith('#/') || s.startsWith('https://attack.mitre.org/')) return s;
    return '#/';
  }

  const text = (v) => (v === null || v === undefined || v === '' ? '—' : String(v));
  const cls = (prefix, v, allowed) => prefix + (allowed.includes(v) ? v : 'unknown');

  function fmtTime(iso) {
    if (!iso) return '—';
    return String(iso).replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  }

  function ago(iso) {
    if (!iso) return '';
    const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
    if (!Number.isFinite(s)) return '';
    return duration(Math.abs(s)) + (s >= 0 ? ' ago' : ' ahead');
  }

  function duration(s) {
    if (s < 90) return s + ' s';
    if (s < 5400) return Math.round(s / 60) + ' min';
    if (s < 172800) return Math.round(s / 3600) + ' h';
    return Math.round(s / 86400) + ' d';
  }

  const time = (iso) => h('time', { datetime: iso || null, title: iso ? iso + ' (' + ago(iso) + ')' : null }, fmtTime(iso));
  const level = (l) => h('span', { class: ['badge', cls('level-', l, LEVELS)] }, text(l));
  const status = (s, id) => h('span', { id, class: ['badge', cls('status-', s, STATUSES)] }, text(s));
  const chips = (list, klass) => h('span', { class: 'chips' }, (list || []).map((t) => h('span', { class: ['chip', klass] }, t)));
  const card = (title, id, ...body) => h('section', { class: 'card', id }, h('h2', null, title), body);
  const detectionLink = (name) => (name ? h('a', { href: '#/detections/' + name, class: 'detection-link' }, name) : text(null));

  function technique(t) {
    const m = /^T(\d{4})(?:\.(\d{3}))?$/.exec(String(t));
    if (!m) return h('span', { class: 'chip technique' }, t);
    const url = 'https://attack.mitre.org/techniques/T' + m[1] + '/' + (m[2] ? m[2] + '/' : '');
    return h('a', { class: 'chip technique', href: url, target: '_blank', rel: 'noopener noreferrer' }, t);
  }

  function table(id, headers, rows, empty) {
    const body = rows.length ? rows : [h('tr', { class: 'empty' }, h('td', { colspan: headers.length }, empty || 'Nothing here.'))];
    return h('table', { id, class: 'data' }, h('thead', null, h('tr', null, headers.map((x) => h('th', { scope: 'col' }, x)))), h('tbody', null, body));
  }

  function keyValues(id, pairs) {
    return h('table', { id, class: 'kv' }, h('tbody', null, pairs.map(([k, v]) => h('tr', null, h('th', { scope: 'row' }, k), h('td', null, v)))));
  }

  function flash(message, kind) {
    const el = h('div', { class: ['flash', kind === 'error' ? 'error-banner' : 'ok-banner'], role: 'status' }, message);
    app.prepend(el);
    setTimeout(() => el.remove(), 6000);
  }

  // ---------- API ----------

  async function api(path, { method = 'GET', body, redirectOn401 = true } = {}) {
    const headers = { Accept: 'application/json' };
    if (method !== 'GET') headers['X-Bulkhead-CSRF'] = '1';
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, { method, headers, credentials: 'same-origin', cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new ApiError(0, 'network', 'Cannot reach bulkhead (' + e.message + ').');
    }
    if (res.status === 401 && redirectOn401) {
      toLogin();
      throw new AuthError('login required');
    }
    const raw = res.status === 204 ? '' : await res.text();
    let data = null;
    if (raw) { try { data = JSON.parse(raw); } catch { data = null; } }
    if (!res.ok) {
      const retry = res.headers.get('Retry-After');
      const msg = (data && data.message) || raw.slice(0, 300) || res.statusText;
      throw new ApiError(res.status, (data && data.error) || 'http_' + res.status, msg + (retry ? ' (retry after ' + retry + ' s)' : ''));
    }
    return data;
  }

  function toLogin() {
    const here = location.hash;
    if (!here.startsWith('#/login')) {
      sessionStorage.setItem('bulkhead.next', here || '#/alerts');
      location.hash = '#/login';
    }
  }

  // ---------- router ----------

  function parseRoute() {
    const raw = location.hash.replace(/^#/, '') || '/alerts';
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    const parts = path.split('/').filter(Boolean).map((p) => { try { return decodeURIComponent(p); } catch { return p; } });
    return { parts, query };
  }

  const routes = {
    login: () => viewLogin(),
    alerts: (r) => (r.parts[1] ? viewAlert(r.parts[1]) : viewAlerts(r.query)),
    incidents: (r) => (r.parts[1] ? viewIncident(r.parts[1], r.query) : viewIncidents(r.query)),
    coverage: () => viewCoverage(),
    sources: (r, seq) => viewSources(r, seq),
    detections: (r) => (r.parts.length > 1 ? viewDetection(r.parts.slice(1).join('/')) : viewDetections()),
  };

  async function render() {
    const seq = ++renderSeq;
    clearInterval(refreshTimer);
    refreshTimer = null;
    const route = parseRoute();
    const name = route.parts[0] || 'alerts';
    nav.hidden = name === 'login';
    for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.id === 'nav-' + name);
    document.body.dataset.route = name;
    const view = routes[name];
    if (!view) { mount(seq, pageError('No page ' + location.hash + '.')); return; }
    app.setAttribute('aria-busy', 'true');
    try {
      const node = await view(route, seq);
      mount(seq, node);
    } catch (e) {
      if (e instanceof AuthError) return;
      mount(seq, pageError(e.message || String(e), e.status));
    } finally {
      if (seq === renderSeq) app.removeAttribute('aria-busy');
    }
  }

  function mount(seq, node) {
    if (seq !== renderSeq || !node) return false;
    app.replaceChildren(node);
    window.scrollTo(0, 0);
    return true;
  }

  function pageError(message, statusCode) {
    return h('div', { class: 'page' }, h('div', { class: 'error-banner', id: 'page-error' },
      statusCode ? 'Error ' + statusCode + ': ' : '', message));
  }

  function setTitle(t) { document.title = t + ' · bulkhead'; }

  // ---------- login ----------

  function viewLogin() {
    setTitle('Sign in');
    const input = h('input', { id: 'login-token', name: 'token', type: 'password', autocomplete: 'current-password', required: true, autofocus: true, spellcheck: 'false' });
    const error = h('p', { id: 'login-error', class: 'error-banner', hidden: true });
    const button = h('button', { id: 'login-submit', type: 'submit', class: 'primary' }, 'Sign in');
    const form = h('form', { id: 'login-form', class: 'login-card' },
      h('h1', null, 'bulkhead'),
      h('p', { class: 'muted' }, 'Sign in with an API token. The console keeps an HttpOnly session cookie for 12 hours.'),
      h('label', { for: 'login-token' }, 'API token'), input, button, error);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      button.disabled = true;
      error.hidden = true;
      try {
        await api(API + '/session', { method: 'POST', body: { token: input.value.trim() }, redirectOn401: false });
        input.value = '';
        const next = sessionStorage.getItem('bulkhead.next');
        sessionStorage.removeItem('bulkhead.next');
        location.hash = next && !next.startsWith('#/login') ? next : '#/alerts';
      } catch (e) {
        error.textContent = e.status === 401 ? 'Unknown token.' : e.message;
        error.hidden = false;
      } finally {
        button.disabled = false;
      }
    });
    setTimeout(() => input.focus(), 0);
    return h('div', { class: 'page login-page' }, form);
  }

  async function logout() {
    try { await api(API + '/session', { method: 'DELETE', redirectOn401: false }); } catch { /* the cookie goes anyway */ }
    sessionStorage.removeItem('bulkhead.next');
    location.hash = '#/login';
  }

  // ---------- alerts ----------

  function input(name, value, placeholder, list) {
    return h('label', { class: 'field' }, h('span', null, name === 'q' ? 'text' : name),
      h('input', { name, value: value || '', placeholder, list, type: 'text', spellcheck: 'false' }));
  }

  function select(name, value, options, label) {
    return h('label', { class: 'field' }, h('span', null, label || name),
      h('select', { name }, h('option', { value: '' }, 'any'), options.map((o) => h('option', { value: o, selected: o === value }, o))));
  }

  /** A filter form whose submit rewrites the hash query (so filters are bookmarkable). */
  function filterForm(id, route, fields, query) {
    const form = h('form', { id, class: 'filters' }, fields,
      h('div', { class: 'filter-actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Apply'),
        h('button', { type: 'reset', class: 'link-button' }, 'Clear')));
    const go = (params) => {
      const target = '#/' + route + (params.toString() ? '?' + params : '');
      if (location.hash === target) render(); else location.hash = target;
    };
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const params = new URLSearchParams();
      for (const [k, v] of new FormData(form)) if (String(v).trim()) params.set(k, String(v).trim());
      if (query.get('limit')) params.set('limit', query.get('limit'));
      go(params);
    });
    form.addEventListener('reset', (ev) => { ev.preventDefault(); go(new URLSearchParams()); });
    return form;
  }

  const timeHints = () => h('datalist', { id: 'time-hints' }, ['1h', '24h', '7d', '30d'].map((v) => h('option', { value: v })));

  async function viewAlerts(query) {
    setTitle('Alerts');
    const limit = PAGE_SIZES.includes(Number(query.get('limit'))) ? Number(query.get('limit')) : 100;
    const offset = Math.max(0, Number(query.get('offset')) || 0);
    const params = new URLSearchParams();
    for (const k of ALERT_FILTERS) if (query.get(k)) params.set(k, query.get(k));
    params.set('limit', String(limit));
    params.set('offset', String(offset));
    const data = await api(API + '/alerts?' + params);
    const alerts = data.alerts || [];

    const form = filterForm('alerts-filters', 'alerts', [
      input('since', query.get('since'), '24h or RFC 3339', 'time-hints'),
      input('until', query.get('until'), 'RFC 3339', 'time-hints'),
      select('level', query.get('level'), LEVELS, 'min level'),
      select('status', query.get('status'), STATUSES),
      select('tactic', query.get('tactic'), TACTICS),
      input('rule', query.get('rule'), 'detection or rule id'),
      input('source', query.get('source'), 'k8s_audit'),
      input('namespace', query.get('namespace')),
      input('pod', query.get('pod')),
      input('image', query.get('image')),
      input('user', query.get('user')),
      input('q', query.get('q'), 'title or entity'),
    ], query);

    const rows = alerts.map((a) => h('tr', { class: ['alert-row', cls('row-', a.level, LEVELS)], dataset: { id: String(a.id) } },
      h('td', null, level(a.level)),
      h('td', { class: 'title-cell' }, h('a', { class: 'alert-link', href: '#/alerts/' + encodeURIComponent(a.id) }, text(a.title)),
        a.detection ? h('div', { class: 'sub' }, a.detection) : null),
      h('td', { class: 'entity-cell', title: Object.entries(a.entity || {}).map(([k, v]) => k + '=' + v).join('\n') }, text(a.entity_label)),
      h('td', null, text(a.source)),
      h('td', null, chips(a.tactics, 'tactic')),
      h('td', { class: 'num' }, text(a.count)),
      h('td', null, time(a.last_seen)),
      h('td', null, status(a.status))));

    const total = Number(data.total) || 0;
    const pageTo = (off, lim) => {
      const p = new URLSearchParams(query);
      p.set('offset', String(off));
      p.set('limit', String(lim));
      return '#/alerts?' + p;
    };
    const sizeSelect = h('select', { id: 'alerts-page-size', 'aria-label': 'alerts per page' },
      PAGE_SIZES.map((n) => h('option', { value: n, selected: n === limit }, n + ' per page')));
    sizeSelect.addEventListener('change', () => { location.hash = pageTo(0, Number(sizeSelect.value)); });
    const prev = h('a', { id: 'alerts-prev', class: ['button', offset === 0 && 'disabled'], href: pageTo(Math.max(0, offset - limit), limit) }, '← Newer');
    const next = h('a', { id: 'alerts-next', class: ['button', offset + limit >= total && 'disabled'], href: pageTo(offset + limit, limit) }, 'Older →');
    const pager = h('div', { id: 'alerts-pager', class: 'pager' },
      h('span', { id: 'alerts-count' }, total ? (offset + 1) + '–' + (offset + alerts.length) + ' of ' + total : '0 alerts'),
      prev, next, sizeSelect);

    return h('div', { class: 'page' },
      h('div', { class: 'page-head' }, h('h1', null, 'Alerts'),
        h('button', { type: 'button', id: 'alerts-refresh', onclick: () => render() }, 'Refresh')),
      timeHints(), form, pager,
      h('div', { class: 'table-wrap' }, table('alerts-table', ['Level', 'Alert', 'Entity', 'Source', 'Tactics', 'Count', 'Last seen', 'Status'], rows, 'No alerts match these filters.')));
  }

  async function viewAlert(id) {
    setTitle('Alert ' + id);
    const data = await api(API + '/alerts/' + encodeURIComponent(id));
    const page = h('div', { class: 'page alert-page' });
    fillAlert(page, data);
    return page;
  }

  function fillAlert(page, a) {
    setTitle(a.title || 'Alert');
    const entityPairs = Object.entries(a.entity || {}).map(([k, v]) => [k, h('code', null, v)]);
    const evidence = (a.evidence || []).map((e, i) => h('div', { class: 'evidence' },
      h('div', { class: 'evidence-meta' }, h('strong', null, '#' + (i + 1) + ' '), text(e.origin), ' · ', time(e.time)),
      h('pre', { class: 'evidence-record' }, JSON.stringify(e.record, null, 2))));
    const containment = (a.containment || []).map((c) => {
      const pre = h('pre', { class: 'containment-text' }, text(c.text));
      const copy = h('button', { type: 'button', class: 'link-button copy' }, 'Copy');
      copy.addEventListener('click', () => copyText(pre, c.text, copy));
      return h('div', { class: 'containment' }, h('h3', null, h('span', { class: 'chip kind' }, text(c.kind)), ' ', text(c.title), ' ', copy), pre);
    });
    const history = (a.history || []).map((x) => h('tr', null, h('td', null, time(x.time)), h('td', null, status(x.status)), h('td', null, text(x.by)), h('td', { class: 'note' }, text(x.note))));

    const note = h('textarea', { id: 'alert-note', rows: 2, maxlength: 4000, placeholder: 'Note (why, what was checked, ticket)' });
    const button = (label, target, bid) => h('button', { type: 'button', id: bid, class: target === 'closed' ? 'danger' : 'primary', disabled: a.status === target,
      onclick: async (ev) => {
        ev.target.disabled = true;
        try {
          const updated = await api(API + '/alerts/' + encodeURIComponent(a.id) + '/status', { method: 'POST', body: { status: target, note: note.value } });
          fillAlert(page, updated);
          flash('Alert ' + a.id + ' is now ' + updated.status + '.');
        } catch (e) {
          if (!(e instanceof AuthError)) flash(e.message, 'error');
          ev.target.disabled = false;
        }
      } }, label);

    page.replaceChildren(
      h('div', { class: 'crumbs' }, h('a', { href: '#/alerts' }, '← Alerts')),
      h('div', { class: 'page-head' }, h('h1', { id: 'alert-title' }, text(a.title)),
        h('div', { class: 'meta' }, level(a.level), ' ', status(a.status, 'alert-status'), ' ',
          h('span', { class: 'count', id: 'alert-count', title: 'occurrences in the dedup window' }, '×' + text(a.count)))),
      h('div', { class: 'grid' },
        card('Summary', 'alert-summary', keyValues('alert-meta', [
          ['Alert id', text(a.id)], ['First seen', time(a.first_seen)], ['Last seen', time(a.last_seen)], ['Received', time(a.received_at)],
          ['Source', text(a.source)], ['Origin', h('code', null, text(a.origin))], ['Detection', detectionLink(a.detection)],
          ['Rule id', h('code', null, text(a.rule_id))], ['Note', text(a.note)],
        ]), a.detection ? h('p', null, h('a', { href: '#/alerts?rule=' + encodeURIComponent(a.detection) }, 'Other alerts of this detection')) : null),
        card('Entity', 'alert-entity-card', h('p', { class: 'entity-label' }, text(a.entity_label)),
          entityPairs.length ? keyValues('alert-entity', entityPairs) : h('p', { class: 'muted', id: 'alert-entity' }, 'No entity fields.')),
        card('ATT&CK', 'alert-attack', h('div', null, h('h3', null, 'Tactics'), chips(a.tactics, 'tactic')),
          h('div', null, h('h3', null, 'Techniques'), h('span', { class: 'chips' }, (a.techniques || []).map(technique)))),
        card('Triage', 'alert-actions', note, h('div', { class: 'actions' },
          button('Acknowledge', 'acknowledged', 'alert-ack'), button('Close', 'closed', 'alert-close'), button('Reopen', 'open', 'alert-reopen')))),
      card('Response steps', 'alert-response-card', (a.response_steps || []).length
        ? h('ol', { id: 'alert-response' }, a.response_steps.map((s) => h('li', null, s)))
        : h('p', { id: 'alert-response', class: 'muted' }, 'No response steps for this detection.')),
      card('Containment (printed, never run)', 'alert-containment', containment.length ? containment : h('p', { class: 'muted' }, 'No containment artefacts.')),
      card('Detection strategy (ADS excerpt)', 'alert-ads-card', a.ads
        ? [h('pre', { id: 'alert-ads', class: 'markdown' }, text(a.ads.excerpt)), h('p', null, 'Full rule and ADS: ', detectionLink(a.ads.detection))]
        : h('p', { id: 'alert-ads', class: 'muted' }, 'No ADS for this rule.')),
      card('Evidence', 'alert-evidence', evidence.length ? evidence : h('p', { class: 'muted' }, 'No evidence stored.')),
      card('History', 'alert-history-card', table('alert-history', ['Time', 'Status', 'By', 'Note'], history, 'No status changes yet.')));
  }

  async function copyText(pre, value, button) {
    try {
      await navigator.clipboard.writeText(value);
      button.textContent = 'Copied';
    } catch {
      const range = document.createRange();
      range.selectNodeContents(pre);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      button.textContent = 'Selected: press Ctrl+C';
    }
    setTimeout(() => { button.textContent = 'Copy'; }, 2500);
  }

  // ---------- incidents ----------

  async function viewIncidents(query) {
    setTitle('Incidents');
    const params = new URLSearchParams();
    for (const k of ['since', 'until', 'level', 'namespace']) if (query.get(k)) params.set(k, query.get(k));
    params.set('limit', '200');
    const data = await api(API + '/incidents?' + params);
    const keep = new URLSearchParams();
    for (const k of ['since', 'until']) if (query.get(k)) keep.set(k, query.get(k));
    const suffix = keep.toString() ? '?' + keep : '';
    const rows = (data.incidents || []).map((i) => h('tr', { class: ['incident-row', cls('row-', i.level, LEVELS)] },
      h('td', null, level(i.level)),
      h('td', { class: 'title-cell' }, h('a', { class: 'incident-link', href: '#/incidents/' + encodeURIComponent(i.id) + suffix }, text(i.title)),
        h('div', { class: 'sub' }, (i.links || []).join(' · '))),
      h('td', { class: 'num' }, text(i.alerts)),
      h('td', null, chips(i.sources, 'source')),
      h('td', null, time(i.first_seen)),
      h('td', null, time(i.last_seen))));
    const form = filterForm('incidents-filters', 'incidents', [
      input('since', query.get('since'), 'default 7d', 'time-hints'),
      input('until', query.get('until'), 'RFC 3339', 'time-hints'),
      select('level', query.get('level'), LEVELS, 'min level'),
      input('namespace', query.get('namespace')),
    ], query);
    return h('div', { class: 'page' },
      h('div', { class: 'page-head' }, h('h1', null, 'Incidents'),
        h('p', { class: 'muted' }, 'Alerts that share a pod, container, node, user, cloud instance or public address within 30 minutes.')),
      timeHints(), form,
      h('div', { class: 'table-wrap' }, table('incidents-table', ['Level', 'Incident', 'Alerts', 'Sources', 'First seen', 'Last seen'], rows, 'No incidents in this time range.')));
  }

  async function viewIncident(id, query) {
    setTitle('Incident ' + id);
    const params = new URLSearchParams();
    for (const k of ['since', 'until']) if (query.get(k)) params.set(k, query.get(k));
    const i = await api(API + '/incidents/' + encodeURIComponent(id) + (params.toString() ? '?' + params : ''));
    setTitle(i.title || id);
    const timeline = (i.timeline || []).map((e) => h('li', { class: ['timeline-item', cls('tl-', e.level, LEVELS)] },
      h('div', { class: 'tl-time' }, time(e.time)),
      h('div', { class: 'tl-body' },
        h('div', null, level(e.level), ' ', h('a', { class: 'alert-link', href: '#/alerts/' + encodeURIComponent(e.alert_id) }, text(e.title))),
        h('div', { class: 'sub' }, h('span', { class: 'chip source' }, text(e.source)), ' ', text(e.entity)))));
    return h('div', { class: 'page incident-page' },
      h('div', { class: 'crumbs' }, h('a', { href: '#/incidents' + (params.toString() ? '?' + params : '') }, '← Incidents')),
      h('div', { class: 'page-head' }, h('h1', { id: 'incident-title' }, text(i.title)),
        h('div', { class: 'meta' }, level(i.level), ' ', h('span', { class: 'count' }, text(i.alerts) + ' alerts'), ' ', chips(i.sources, 'source'))),
      h('div', { class: 'grid' },
        card('Summary', 'incident-summary', keyValues('incident-meta', [
          ['Incident id', h('code', null, text(i.id))], ['First seen', time(i.first_seen)], ['Last seen', time(i.last_seen)],
          ['Linked by', h('span', { class: 'chips' }, (i.links || []).map((l) => h('code', { class: 'chip' }, l)))],
          ['Tactics', chips(i.tactics, 'tactic')],
        ])),
        card('Entities', 'incident-entities-card', table('incident-entities', ['Field', 'Values'],
          (i.entities || []).map((e) => h('tr', null, h('th', { scope: 'row' }, text(e.field)), h('td', null, (e.values || []).map((v) => h('code', { class: 'chip' }, v)))))))),
      card('Timeline', 'incident-timeline-card', h('ol', { id: 'incident-timeline', class: 'timeline' }, timeline)));
  }

  // ---------- coverage ----------

  async function viewCoverage() {
    setTitle('ATT&CK coverage');
    const data = await api(API + '/coverage');
    const tactics = data.tactics && data.tactics.length ? data.tactics : TACTICS;
    const byTactic = new Map(tactics.map((t) => [t, []]));
    for (const e of data.entries || []) {
      if (!byTactic.has(e.tactic)) byTactic.set(e.tactic, []);
      byTactic.get(e.tactic).push(e);
    }
    const techniques = new Set((data.entries || []).map((e) => e.technique));
    // The detections of the technique under the pointer, in a panel on the side away from it.
    const detail = h('aside', { id: 'coverage-detail', class: 'card', hidden: true });
    const show = (e, cell) => {
      const r = cell.getBoundingClientRect();
      detail.classList.toggle('left', r.left + r.width / 2 > window.innerWidth / 2);
      detail.hidden = false;
      detail.replaceChildren(h('button', { type: 'button', class: 'link-button close', 'aria-label': 'close', onclick: () => { detail.hidden = true; } }, '×'),
        h('h2', null, text(e.technique), ' ', text(e.name)),
        h('p', { class: 'muted' }, text(e.tactic), ' · best maturity ', text(e.maturity)),
        h('ul', { class: 'detections' }, (e.detections || []).map((d) => h('li', null, level(d.level), ' ',
          h('a', { href: '#/detections/' + d.name }, text(d.title)), h('div', { class: 'sub' }, text(d.name), ' · ', text(d.maturity))))));
    };
    const columns = [...byTactic.entries()].map(([tactic, entries]) => {
      entries.sort((a, b) => String(a.technique).localeCompare(String(b.technique)));
      const cells = entries.map((e) => {
        const n = (e.detections || []).length;
        const first = (e.detections || [])[0];
        const cell = h('a', {
          class: ['heat-cell', 'heat-' + Math.min(n, 4), cls('maturity-', e.maturity, ['stable', 'test', 'experimental'])],
          href: first ? '#/detections/' + first.name : '#/coverage',
          title: e.technique + ' ' + e.name + '\n' + (e.detections || []).map((d) => '• ' + d.title).join('\n'),
          dataset: { technique: String(e.technique), tactic: String(tactic), detections: String(n) },
        }, h('span', { class: 'tech-id' }, text(e.technique)), h('span', { class: 'tech-name' }, text(e.name)), h('span', { class: 'tech-count' }, String(n)));
        cell.addEventListener('mouseenter', () => show(e, cell));
        cell.addEventListener('focus', () => show(e, cell));
        return cell;
      });
      return h('div', { class: ['heat-col', !entries.length && 'empty'], dataset: { tactic } },
        h('div', { class: 'heat-head' }, tactic.replace(/-/g, ' '), h('span', { class: 'sub' }, entries.length + ' techniques')),
        cells.length ? cells : h('div', { class: 'heat-empty', title: 'no detection' }, '—'));
    });
    const heatmap = h('div', { id: 'coverage-heatmap', class: 'heatmap' }, columns);
    // Tactics without a technique stay as narrow columns so the covered ones get the width.
    heatmap.style.gridTemplateColumns = [...byTactic.values()].map((x) => (x.length ? 'minmax(6.5rem, 1fr)' : '2.4rem')).join(' ');
    const legend = h('div', { class: 'legend' }, 'Detections per technique: ',
      [1, 2, 3, 4].map((n) => h('span', { class: ['heat-cell', 'legend-cell', 'heat-' + n] }, n === 4 ? '4+' : String(n))),
      ' Maturity (border): ', ['stable', 'test', 'experimental'].map((m) => h('span', { class: ['heat-cell', 'legend-cell', 'heat-1', 'maturity-' + m] }, m)));
    return h('div', { class: 'page coverage-page' },
      h('div', { class: 'page-head' }, h('h1', null, 'ATT&CK coverage'),
        h('p', { class: 'muted', id: 'coverage-summary' }, text(data.detections) + ' detections · ' + techniques.size + ' techniques · ' +
          [...byTactic.values()].filter((x) => x.length).length + ' tactics')),
      legend, h('p', { class: 'muted' }, 'Hover or focus a technique to list its detections; click it to open the first one.'),
      h('div', { class: 'table-wrap' }, heatmap), detail);
  }

  // ---------- sources ----------

  async function viewSources(_route, seq) {
    setTitle('Sources');
    const page = h('div', { class: 'page' });
    const load = async () => {
      const data = await api(API + '/sources');
      const rows = (data.sources || []).map((s) => {
        const st = ['ok', 'silent', 'never'].includes(s.status) ? s.status : 'unknown';
        const marker = st === 'silent'
          ? h('span', { class: 'badge status-silent gap-marker' }, '⚠ SILENT — gap' + (s.silent_seconds != null ? ' ' + duration(s.silent_seconds) : ''))
          : h('span', { class: ['badge', 'status-' + st] }, st === 'never' ? 'never seen' : st);
        return h('tr', { class: ['source-row', 'source-' + st], dataset: { source: String(s.source) } },
          h('td', null, h('code', null, text(s.source))),
          h('td', { class: 'num' }, Number(s.records || 0).toLocaleString('en')),
          h('td', { class: ['num', s.bad > 0 && 'bad'] }, Number(s.bad || 0).toLocaleString('en')),
          h('td', { class: 'num' }, Number(s.rate_per_second || 0).toFixed(2)),
          h('td', null, time(s.last_seen), s.last_seen ? h('div', { class: 'sub' }, ago(s.last_seen)) : null),
          h('td', null, marker));
      });
      page.replaceChildren(
        h('div', { class: 'page-head' }, h('h1', null, 'Sources'),
          h('p', { class: 'muted' }, 'Rate over the last ' + text(data.window_seconds) + ' s; a source that sent before is silent after ' +
            duration(Number(data.silence_after_seconds) || 600) + ' without records. Refreshes every 15 s.')),
        h('div', { class: 'table-wrap' }, table('sources-table', ['Source', 'Records', 'Bad', 'Records/s', 'Last seen', 'Status'], rows, 'No telemetry received yet.')));
    };
    await load();
    if (seq !== renderSeq) return null;
    const timer = setInterval(() => {
      if (seq !== renderSeq) { clearInterval(timer); return; }
      load().catch((e) => { if (!(e instanceof AuthError)) flash(e.message, 'error'); });
    }, 15000);
    refreshTimer = timer;
    return page;
  }

  // ---------- detections ----------

  async function viewDetection(name) {
    setTitle(name);
    const parts = name.split('/');
    const path = parts.length === 2 ? API + '/detections/' + parts.map(encodeURIComponent).join('/') : API + '/detections?name=' + encodeURIComponent(name);
    const d = await api(path);
    setTitle(d.title || name);
    return h('div', { class: 'page detection-page' },
      h('div', { class: 'crumbs' }, h('a', { href: '#/coverage' }, '← Coverage'), ' · ', h('a', { href: '#/detections' }, 'All detections')),
      h('div', { class: 'page-head' }, h('h1', { id: 'detection-title' }, text(d.title)),
        h('div', { class: 'meta' }, level(d.level), ' ', h('span', { class: 'chip' }, text(d.status)), ' ', h('code', null, text(d.name)))),
      h('div', { class: 'grid' },
        card('Mapping', 'detection-meta', keyValues('detection-kv', [
          ['Rule id', h('code', null, text(d.id))], ['Source', text(d.source)],
          ['Tactics', chips(d.tactics, 'tactic')], ['Techniques', h('span', { class: 'chips' }, (d.techniques || []).map(technique))],
        ]), h('p', null, h('a', { href: '#/alerts?rule=' + encodeURIComponent(d.name) }, 'Alerts from this detection')))),
      card('Sigma rule (rule.yml)', 'detection-rule-card', h('pre', { id: 'detection-rule', class: 'code' }, text(d.rule_yaml))),
      card('Alerting & Detection Strategy (ADS.md, shown as text)', 'detection-ads-card', h('pre', { id: 'detection-ads', class: 'markdown' }, text(d.ads_markdown))));
  }

  async function viewDetections() {
    setTitle('Detections');
    const data = await api(API + '/detections');
    const rows = (data.detections || []).map((d) => h('tr', null,
      h('td', null, level(d.level)),
      h('td', { class: 'title-cell' }, h('a', { href: '#/detections/' + d.name }, text(d.title)), h('div', { class: 'sub' }, text(d.name))),
      h('td', null, text(d.status)), h('td', null, chips(d.tactics, 'tactic')),
      h('td', null, h('span', { class: 'chips' }, (d.techniques || []).map(technique)))));
    return h('div', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', null, 'Detections'), h('p', { class: 'muted' }, rows.length + ' loaded')),
      h('div', { class: 'table-wrap' }, table('detections-table', ['Level', 'Detection', 'Maturity', 'Tactics', 'Techniques'], rows)));
  }

  // ---------- start ----------

  document.getElementById('nav-logout').addEventListener('click', logout);
  window.addEventListener('hashchange', render);
  if (!location.hash || location.hash === '#' || location.hash === '#/') location.replace('#/alerts');
  else render();
})();
