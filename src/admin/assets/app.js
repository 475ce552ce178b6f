/* global document, window, location, navigator, fetch, setTimeout, setInterval, clearInterval, FormData, URLSearchParams, Node */
// The bilhetagem admin panel: plain modern JavaScript, no framework and no build step.
// Every value that comes from the server goes into the page as text (textContent), never as HTML,
// and every request that changes something carries the session's CSRF token.

const main = document.getElementById('main');
const top = document.getElementById('top');
const alertsBox = document.getElementById('alerts');
const modal = document.getElementById('modal');

const state = { session: null, timers: new Set(), alertTimer: null, candidate: null };

/* ------------------------------------------------------------------ DOM helpers */

function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (['value', 'checked', 'disabled', 'selected', 'hidden', 'required', 'readOnly', 'open'].includes(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  return append(el, children);
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs ?? {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  return append(el, children);
}

const pad = (n) => String(n).padStart(2, '0');
function fmtTime(value) {
  if (value === null || value === undefined) return '—';
  const d = new Date(value);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
const fmtClock = (ms) => {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
};
const timeEl = (value) => (value ? h('time', { datetime: new Date(value).toISOString(), title: new Date(value).toISOString() }, fmtTime(value)) : '—');
const fmtNum = (n) => Number(n ?? 0).toLocaleString('en-US');
function fmtAge(seconds) {
  const v = Number(seconds ?? 0);
  if (v < 120) return `${Math.round(v)} s`;
  if (v < 7200) return `${Math.round(v / 60)} min`;
  return `${(v / 3600).toFixed(1)} h`;
}
const shortVersion = (v) => (v ? String(v).replace(/^sha256:/, '').slice(0, 12) : '—');
const sum = (values) => values.reduce((a, b) => a + (b || 0), 0);
const jsonBlock = (value, cls = '') => h('pre', { class: `json ${cls}` }, JSON.stringify(value, null, 2));
const badge = (text, kind) => h('span', { class: `badge b-${kind ?? text}` }, text);
const can = (permission) => Boolean(state.session?.permissions?.includes(permission));
function toIso(localValue) {
  if (!localValue) return '';
  const d = new Date(localValue);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}
function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/* ------------------------------------------------------------------ API */

class ApiError extends Error {
  constructor(status, data) {
    super(data?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = data?.code;
    this.data = data;
  }
}

async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin' };
  if (method !== 'GET') {
    headers['content-type'] = 'application/json';
    headers['x-csrf-token'] = state.session?.csrfToken ?? '';
    init.body = JSON.stringify(body ?? {});
  }
  const res = await fetch(`/admin/api${path}`, init);
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const error = new ApiError(res.status, data);
    if (res.status === 401 && path !== '/login' && state.session) showLogin('Your session ended; log in again.');
    throw error;
  }
  return data;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const text = q.toString();
  return text ? `?${text}` : '';
}

function errorBox(error) {
  const e = error instanceof ApiError ? error : new ApiError(0, { message: String(error?.message ?? error) });
  return h('div', { class: 'error', role: 'alert' }, h('strong', {}, e.code ?? 'Error'), ' ', e.message);
}

/* ------------------------------------------------------------------ timers, modal, toast */

function every(ms, fn) {
  const id = setInterval(() => {
    if (!document.hidden) fn();
  }, ms);
  state.timers.add(id);
  return id;
}
function stopTimers() {
  for (const id of state.timers) clearInterval(id);
  state.timers.clear();
}

function openModal(title, body, actions) {
  modal.replaceChildren(h('div', { class: 'dialog', role: 'dialog', 'aria-modal': 'true', 'aria-label': title }, h('h2', {}, title), body, h('div', { class: 'actions' }, actions)));
  modal.hidden = false;
  modal.querySelector('input, textarea, button')?.focus();
}
function closeModal() {
  modal.hidden = true;
  modal.replaceChildren();
}
function confirmBox(title, message, okText = 'Confirm', danger = false) {
  return new Promise((resolve) => {
    const done = (v) => {
      closeModal();
      resolve(v);
    };
    openModal(title, h('p', {}, message), [
      h('button', { type: 'button', class: 'secondary', onclick: () => done(false) }, 'Cancel'),
      h('button', { type: 'button', class: danger ? 'danger' : 'primary', 'data-confirm': '', onclick: () => done(true) }, okText),
    ]);
  });
}
/** A secret shown once (a new API key, a generated password), with a copy button. */
function showSecret(title, label, secret, note) {
  const input = h('input', { type: 'text', readOnly: true, value: secret, class: 'secret', 'aria-label': label });
  openModal(title, h('div', {}, h('p', {}, note), h('label', {}, label), input), [
    h('button', { type: 'button', class: 'secondary', onclick: () => navigator.clipboard?.writeText(secret).catch(() => input.select()) }, 'Copy'),
    h('button', { type: 'button', class: 'primary', onclick: closeModal }, 'Done'),
  ]);
  input.select();
}
function toast(message, kind = 'ok') {
  const el = h('div', { class: `toast t-${kind}`, role: 'status' }, message);
  document.body.append(el);
  setTimeout(() => el.remove(), 4000);
}

/* ------------------------------------------------------------------ login, layout, routing */

function showLogin(message) {
  stopTimers();
  if (state.alertTimer) clearInterval(state.alertTimer);
  state.session = null;
  top.hidden = true;
  alertsBox.replaceChildren();
  closeModal();
  const error = h('div', { class: 'form-error', role: 'alert' });
  const form = h(
    'form',
    { class: 'login card', id: 'login-form' },
    h('h1', {}, h('span', { class: 'logo' }, 'b'), ' bilhetagem admin'),
    message ? h('p', { class: 'notice' }, message) : null,
    h('label', { for: 'username' }, 'Username'),
    h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true }),
    h('label', { for: 'password' }, 'Password'),
    h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    error,
    h('button', { type: 'submit', class: 'primary' }, 'Log in'),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.replaceChildren();
    const data = new FormData(form);
    try {
      state.session = await api('POST', '/login', { username: data.get('username'), password: data.get('password') });
      startApp();
    } catch (e) {
      error.textContent = e.message;
    }
  });
  main.replaceChildren(form);
  form.querySelector('#username').focus();
}

const PAGES = [
  { id: 'overview', title: 'Overview', perm: 'read', render: overviewPage },
  { id: 'records', title: 'Records', perm: 'read', render: recordsPage },
  { id: 'dead-letters', title: 'Dead letters', perm: 'read', render: deadLettersPage },
  { id: 'rules', title: 'Rules', perm: 'read', render: rulesPage },
  { id: 'playground', title: 'Playground', perm: 'playground', render: playgroundPage },
  { id: 'keys', title: 'API keys', perm: 'keys:read', render: keysPage },
  { id: 'accounts', title: 'Accounts', perm: 'accounts:read', render: accountsPage },
  { id: 'audit', title: 'Audit log', perm: 'read', render: auditPage },
];
const HIDDEN_PAGES = { record: { title: 'Record', perm: 'read', nav: 'records', render: recordPage } };

function startApp() {
  const u = state.session.user;
  top.hidden = false;
  document.getElementById('nav').replaceChildren(...PAGES.filter((p) => can(p.perm)).map((p) => h('a', { href: `#/${p.id}`, dataset: { page: p.id } }, p.title)));
  document.getElementById('who').replaceChildren(
    h('span', { class: 'user', id: 'current-user' }, u.username),
    badge(u.role, `role-${u.role}`),
    h('button', { type: 'button', class: 'link', onclick: changePasswordDialog }, 'Password'),
    h('button', { type: 'button', class: 'link', id: 'logout', onclick: logout }, 'Log out'),
  );
  refreshAlerts();
  if (state.alertTimer) clearInterval(state.alertTimer);
  state.alertTimer = setInterval(() => document.hidden || refreshAlerts(), 15000);
  if (!location.hash || location.hash === '#' || location.hash === '#/') location.hash = '#/overview';
  else route();
}

async function logout() {
  try {
    await api('POST', '/logout');
  } finally {
    showLogin('You are logged out.');
  }
}

function changePasswordDialog() {
  const error = h('div', { class: 'form-error', role: 'alert' });
  const current = h('input', { type: 'password', autocomplete: 'current-password', id: 'pw-current' });
  const next = h('input', { type: 'password', autocomplete: 'new-password', id: 'pw-next' });
  const again = h('input', { type: 'password', autocomplete: 'new-password', id: 'pw-again' });
  openModal(
    'Change your password',
    h('div', { class: 'form' }, h('label', { for: 'pw-current' }, 'Current password'), current, h('label', { for: 'pw-next' }, 'New password (10 characters or more)'), next, h('label', { for: 'pw-again' }, 'New password again'), again, error),
    [
      h('button', { type: 'button', class: 'secondary', onclick: closeModal }, 'Cancel'),
      h(
        'button',
        {
          type: 'button',
          class: 'primary',
          onclick: async () => {
            if (next.value !== again.value) return void (error.textContent = 'The new passwords differ.');
            try {
              await api('POST', '/password', { current: current.value, next: next.value });
              closeModal();
              toast('Password changed; your other sessions ended.');
            } catch (e) {
              error.textContent = e.message;
            }
          },
        },
        'Change password',
      ),
    ],
  );
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, q = ''] = raw.split('?');
  const parts = path.split('/').map((p) => decodeURIComponent(p));
  return { page: parts[0] || 'overview', args: parts.slice(1), params: new URLSearchParams(q) };
}
function hashFor(page, args = [], params = {}) {
  return `#/${[page, ...args].map(encodeURIComponent).join('/')}${query(params)}`;
}

async function route() {
  if (!state.session) return;
  stopTimers();
  closeModal();
  const r = parseHash();
  const page = PAGES.find((p) => p.id === r.page) ?? HIDDEN_PAGES[r.page];
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.page === (page?.nav ?? page?.id));
  const view = h('section', { class: 'page', dataset: { page: r.page } });
  main.replaceChildren(view);
  if (!page) return void append(view, h('h1', {}, 'Not found'), h('p', {}, 'There is no such page.'));
  document.title = `${page.title} · bilhetagem admin`;
  if (!can(page.perm)) {
    return void append(view, h('h1', {}, page.title), h('div', { class: 'error forbidden', role: 'alert' }, `Your role (${state.session.user.role}) may not see this page.`));
  }
  try {
    await page.render(view, r);
  } catch (e) {
    view.append(errorBox(e));
  }
}
window.addEventListener('hashchange', route);

async function refreshAlerts(given) {
  try {
    const alerts = given ?? (await api('GET', '/alerts')).alerts;
    alertsBox.replaceChildren(
      ...alerts.map((a) =>
        h('div', { class: `alert a-${a.severity}`, dataset: { alert: a.id } }, h('strong', {}, a.title), h('span', {}, a.detail)),
      ),
    );
  } catch {
    /* the page shows its own errors */
  }
}

/* ------------------------------------------------------------------ charts (inline SVG) */

function niceMax(v) {
  if (v <= 5) return 5;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
const fmtTick = (v) => (v >= 10000 ? `${Math.round(v / 1000)}k` : Number.isInteger(v) ? String(v) : v.toFixed(1));

function axes(g, { W, H, m, max, from, to, ticks = 6 }) {
  const ih = H - m.t - m.b;
  for (const f of [0, 0.5, 1]) {
    const y = m.t + ih - f * ih;
    g.append(s('line', { x1: m.l, x2: W - m.r, y1: y, y2: y, class: 'grid' }), s('text', { x: m.l - 6, y: y + 4, class: 'tick', 'text-anchor': 'end' }, fmtTick(max * f)));
  }
  const iw = W - m.l - m.r;
  for (let i = 0; i <= ticks; i++) {
    const t = from + ((to - from) * i) / ticks;
    g.append(s('text', { x: m.l + (iw * i) / ticks, y: H - 6, class: 'tick', 'text-anchor': i === 0 ? 'start' : i === ticks ? 'end' : 'middle' }, fmtClock(t)));
  }
}

function legend(series) {
  return h('div', { class: 'legend' }, series.map((se) => h('span', {}, h('i', { class: `sw ${se.cls}` }), `${se.name} `, h('b', {}, fmtNum(se.total ?? sum(se.values))))));
}

/** Stacked bars, one per bucket. */
function barChart({ title, buckets, bucketMs, series, id }) {
  const W = 640;
  const H = 190;
  const m = { l: 40, r: 8, t: 10, b: 22 };
  const n = buckets.length;
  const iw = W - m.l - m.r;
  const ih = H - m.t - m.b;
  const totals = buckets.map((_, i) => sum(series.map((se) => se.values[i])));
  const max = niceMax(Math.max(0, ...totals));
  const from = buckets[0] ?? 0;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title });
  axes(svg, { W, H, m, max, from, to: from + n * bucketMs });
  const bw = iw / Math.max(1, n);
  const gap = bw > 4 ? 1 : 0;
  buckets.forEach((start, i) => {
    let y0 = 0;
    for (const se of series) {
      const v = se.values[i] || 0;
      if (!v) continue;
      const y = m.t + ih - ((y0 + v) / max) * ih;
      svg.append(s('rect', { x: m.l + i * bw + gap / 2, y, width: Math.max(0.5, bw - gap), height: (v / max) * ih, class: se.cls }, s('title', {}, `${fmtClock(start)} ${se.name}: ${v}`)));
      y0 += v;
    }
  });
  return h('figure', { class: 'chart-box', dataset: { chart: id } }, h('figcaption', {}, title), svg, legend(series));
}

/** Lines over time (samples at irregular times). */
function lineChart({ title, from, to, series, id, format = fmtTick }) {
  const W = 640;
  const H = 190;
  const m = { l: 40, r: 8, t: 10, b: 22 };
  const iw = W - m.l - m.r;
  const ih = H - m.t - m.b;
  const max = niceMax(Math.max(0, ...series.flatMap((se) => se.points.map((p) => p[1]))));
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title });
  axes(svg, { W, H, m, max, from, to });
  const x = (t) => m.l + ((t - from) / (to - from)) * iw;
  const y = (v) => m.t + ih - (v / max) * ih;
  for (const se of series) {
    if (se.points.length === 0) continue;
    const d = se.points.map(([t, v], i) => `${i ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    svg.append(s('path', { d, class: `line ${se.cls}` }));
    const [lt, lv] = se.points[se.points.length - 1];
    svg.append(s('circle', { cx: x(lt), cy: y(lv), r: 3, class: `dot ${se.cls}` }, s('title', {}, `${fmtClock(lt)} ${se.name}: ${format(lv)}`)));
  }
  if (series.every((se) => se.points.length === 0)) svg.append(s('text', { x: W / 2, y: H / 2, class: 'empty', 'text-anchor': 'middle' }, 'no samples yet'));
  return h(
    'figure',
    { class: 'chart-box', dataset: { chart: id } },
    h('figcaption', {}, title),
    svg,
    h('div', { class: 'legend' }, series.map((se) => h('span', {}, h('i', { class: `sw ${se.cls}` }), `${se.name} `, h('b', {}, se.points.length ? format(se.points[se.points.length - 1][1]) : '—')))),
  );
}

/* ------------------------------------------------------------------ overview */

async function overviewPage(view, r) {
  const windowName = r.params.get('window') === '24h' ? '24h' : '1h';
  const head = h(
    'div',
    { class: 'page-head' },
    h('h1', {}, 'Overview'),
    h(
      'div',
      { class: 'segmented', role: 'group', 'aria-label': 'Time window' },
      h('a', { href: hashFor('overview', [], { window: '1h' }), class: windowName === '1h' ? 'on' : '' }, 'Last hour'),
      h('a', { href: hashFor('overview', [], { window: '24h' }), class: windowName === '24h' ? 'on' : '' }, 'Last day'),
    ),
    h('span', { class: 'live', id: 'live' }, 'live'),
  );
  const body = h('div', { class: 'overview' });
  view.append(head, body);

  const draw = (o) => {
    const unit = o.bucketMs >= 3600000 ? 'hour' : o.bucketMs > 60000 ? `${o.bucketMs / 60000} minutes` : 'minute';
    const kpi = (key, label, value, extra) => h('div', { class: 'kpi', dataset: { kpi: key } }, h('span', { class: 'kpi-value' }, value), h('span', { class: 'kpi-label' }, label), extra ? h('span', { class: 'kpi-extra' }, extra) : null);
    const codes = Object.entries(o.rejectsByCode).sort((a, b) => sum(b[1]) - sum(a[1]));
    const top = codes.slice(0, 7).map(([code, values], i) => ({ name: code, values, cls: `c${i}` }));
    if (codes.length > 7) top.push({ name: 'other', values: o.buckets.map((_, i) => sum(codes.slice(7).map(([, v]) => v[i]))), cls: 'c7' });
    const deliveries = Object.entries(o.deliveries);
    body.replaceChildren(
      h(
        'div',
        { class: 'kpis' },
        kpi('received', `received, ${o.window === '1h' ? 'last hour' : 'last day'}`, fmtNum(sum(o.records.received))),
        kpi('accepted', 'accepted', fmtNum(sum(o.records.accepted))),
        kpi('skipped', 'skipped', fmtNum(sum(o.records.skipped))),
        kpi('rejected', 'rejected', fmtNum(sum(o.records.rejected))),
        kpi('pending', 'queue depth (undelivered)', fmtNum(o.totals.pending)),
        kpi('oldest', 'oldest undelivered', o.totals.pending ? fmtAge(o.totals.oldestPendingAgeS) : '—'),
        kpi('dead-letters', 'open dead letters', fmtNum(o.totals.openDeadLetters)),
      ),
      h(
        'div',
        { class: 'charts' },
        barChart({
          title: `Records per ${unit}`,
          id: 'records',
          buckets: o.buckets,
          bucketMs: o.bucketMs,
          series: [
            { name: 'accepted', values: o.records.accepted, cls: 's-accepted' },
            { name: 'skipped', values: o.records.skipped, cls: 's-skipped' },
            { name: 'rejected', values: o.records.rejected, cls: 's-rejected' },
          ],
        }),
        barChart({ title: `Rejections by code, per ${unit}`, id: 'rejects', buckets: o.buckets, bucketMs: o.bucketMs, series: top.length ? top : [{ name: 'none', values: [], cls: 'c0' }] }),
        barChart({
          title: `Delivery attempts by outcome, per ${unit}`,
          id: 'deliveries',
          buckets: o.buckets,
          bucketMs: o.bucketMs,
          series: ['delivered', 'retry', 'dead'].map((outcome) => ({
            name: outcome,
            values: o.buckets.map((_, i) => sum(deliveries.map(([, d]) => d[outcome][i]))),
            cls: `s-${outcome}`,
          })),
        }),
        lineChart({
          title: 'Queue depth and age of the oldest undelivered record',
          id: 'queue',
          from: o.from,
          to: o.to,
          series: [
            { name: 'undelivered', points: o.queue.map((q) => [q.at, q.pending]), cls: 's-pending' },
            { name: 'oldest (s)', points: o.queue.map((q) => [q.at, q.oldestPendingAgeS]), cls: 's-age' },
          ],
        }),
        barChart({ title: `Dead letters made, per ${unit}`, id: 'dead-letters', buckets: o.buckets, bucketMs: o.bucketMs, series: [{ name: 'dead letters', values: o.deadLetters, cls: 's-dead' }] }),
      ),
      h('h2', {}, 'Targets'),
      table(
        ['target', 'undelivered', 'in flight', 'delivered', 'dead', 'discarded', 'oldest undelivered', 'attempts in window', 'breaker'],
        o.targets.map((t) => {
          const d = o.deliveries[t.name];
          return h(
            'tr',
            { dataset: { target: t.name } },
            h('td', {}, t.name),
            num(t.pending),
            num(t.leased),
            num(t.delivered),
            num(t.dead),
            num(t.discarded),
            h('td', { class: 'num' }, t.pending ? fmtAge(t.oldestPendingAgeS) : '—'),
            h('td', { class: 'num' }, d ? `${fmtNum(sum(d.delivered))} ok · ${fmtNum(sum(d.retry))} retry · ${fmtNum(sum(d.dead))} dead` : '—'),
            h(
              'td',
              {},
              t.breaker ? badge(t.breaker, `breaker-${t.breaker}`) : h('span', { class: 'muted', title: 'no forwarder runs in this process' }, 'n/a'),
              t.standby
                ? h('span', { class: 'badge b-standby', title: `another process delivers this target: ${t.standby.holder}, its lock runs until ${fmtTime(t.standby.until)}` }, 'standby')
                : null,
            ),
          );
        }),
        'No target has outbox rows yet.',
      ),
      h('p', { class: 'muted small' }, 'Ruleset running: ', o.ruleset ? h('a', { href: '#/rules' }, `${o.ruleset.name} ${shortVersion(o.ruleset.version)}`) : 'none', ` · updated ${fmtTime(o.generatedAt)}`),
    );
    refreshAlerts(o.alerts);
  };

  const load = async () => {
    const live = document.getElementById('live');
    try {
      draw(await api('GET', `/overview${query({ window: windowName })}`));
      live?.classList.remove('stale');
    } catch (e) {
      live?.classList.add('stale');
      if (!body.firstChild) body.append(errorBox(e));
    }
  };
  await load();
  every(5000, load);
}

const num = (n) => h('td', { class: 'num' }, fmtNum(n));

function table(headers, rows, empty = 'Nothing here.', attrs = {}) {
  return h(
    'div',
    { class: 'table-wrap' },
    h('table', attrs, h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))), h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: headers.length, class: 'muted empty' }, empty)))),
  );
}

/* ------------------------------------------------------------------ records */

function filterForm(fields, params, onSubmit) {
  const form = h('form', { class: 'filters' });
  for (const f of fields) {
    const id = `f-${f.name}`;
    let input;
    if (f.options) input = h('select', { id, name: f.name }, f.options.map(([v, label]) => h('option', { value: v, selected: params.get(f.name) === v }, label)));
    else if (f.type === 'datetime-local') input = h('input', { id, name: f.name, type: 'datetime-local', value: toLocalInput(params.get(f.name)) });
    else input = h('input', { id, name: f.name, value: params.get(f.name) ?? '', placeholder: f.placeholder ?? '', list: f.list });
    form.append(h('div', { class: 'field' }, h('label', { for: id }, f.label), input));
  }
  form.append(h('div', { class: 'field buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Search'), h('button', { type: 'reset', class: 'secondary' }, 'Clear')));
  const read = () => {
    const out = {};
    for (const f of fields) {
      const v = form.elements[f.name].value.trim();
      out[f.name] = f.type === 'datetime-local' ? toIso(v) : v;
    }
    return out;
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    onSubmit(read());
  });
  form.addEventListener('reset', () => setTimeout(() => onSubmit(read()), 0));
  return form;
}

/** A list with a "Load more" button, fetched page by page with the cursor. */
function pagedList(load, headers, row, empty, tableAttrs) {
  const tbody = h('tbody');
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more');
  const status = h('p', { class: 'muted small' });
  let cursor = null;
  let count = 0;
  const fetchPage = async () => {
    more.disabled = true;
    try {
      const page = await load(cursor);
      if (count === 0 && page.items.length === 0) tbody.append(h('tr', {}, h('td', { colspan: headers.length, class: 'muted empty' }, empty)));
      for (const item of page.items) tbody.append(...[row(item)].flat());
      count += page.items.length;
      cursor = page.nextCursor;
      more.hidden = !cursor;
      status.textContent = count ? `${fmtNum(count)} shown${cursor ? '; there are more' : ''}` : '';
    } catch (e) {
      status.replaceChildren(errorBox(e));
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener('click', fetchPage);
  const el = h('div', {}, h('div', { class: 'table-wrap' }, h('table', tableAttrs ?? {}, h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))), tbody)), status, more);
  return { el, ready: fetchPage() };
}

const verdictBadge = (v) => badge(v, v);

async function recordsPage(view, r) {
  const p = r.params;
  view.append(
    h('h1', {}, 'Records'),
    filterForm(
      [
        { name: 'source', label: 'Source' },
        { name: 'id', label: 'Record id' },
        { name: 'subject', label: 'Customer' },
        { name: 'verdict', label: 'Verdict', options: [['', 'any'], ['accepted', 'accepted'], ['skipped', 'skipped'], ['rejected', 'rejected']] },
        { name: 'code', label: 'Code', placeholder: 'e.g. UNKNOWN_CUSTOMER' },
        { name: 'from', label: 'Received from', type: 'datetime-local' },
        { name: 'to', label: 'to', type: 'datetime-local' },
      ],
      p,
      (values) => (location.hash = hashFor('records', [], values)),
    ),
  );
  const filters = Object.fromEntries(['source', 'id', 'subject', 'verdict', 'code', 'from', 'to'].map((k) => [k, p.get(k) ?? '']));
  const list = pagedList(
    (cursor) => api('GET', `/records${query({ ...filters, limit: 50, cursor })}`),
    ['received', 'source', 'id', 'type', 'customer', 'verdict', 'code', 'ruleset'],
    (hit) =>
      h(
        'tr',
        { class: 'clickable', dataset: { record: `${hit.source}/${hit.id}` }, onclick: () => (location.hash = hashFor('record', [hit.source, hit.id])) },
        h('td', {}, timeEl(hit.receivedAt)),
        h('td', {}, hit.source),
        h('td', {}, h('a', { href: hashFor('record', [hit.source, hit.id]) }, hit.id)),
        h('td', {}, hit.type ?? '—'),
        h('td', {}, hit.subject ?? '—'),
        h('td', {}, verdictBadge(hit.verdict)),
        h('td', { title: hit.codes.join(', ') }, hit.code ?? '—', hit.codes.length > 1 ? h('span', { class: 'muted' }, ` +${hit.codes.length - 1}`) : null),
        h('td', { class: 'mono', title: hit.rulesetVersion }, shortVersion(hit.rulesetVersion)),
      ),
    'No record matches.',
    { id: 'records-table' },
  );
  view.append(list.el);
  await list.ready;
}

function reasons(errors) {
  return h(
    'ul',
    { class: 'reasons' },
    errors.map((e) =>
      h(
        'li',
        {},
        h('span', { class: 'code' }, e.code),
        ' ',
        e.message,
        h(
          'div',
          { class: 'reason-details' },
          e.path ? h('span', {}, 'at ', h('code', {}, e.path)) : null,
          e.rule ? h('span', {}, 'rule ', h('code', {}, e.rule)) : null,
          e.keyword ? h('span', {}, 'keyword ', h('code', {}, e.keyword)) : null,
          'expected' in e ? h('span', {}, 'expected ', h('code', {}, JSON.stringify(e.expected))) : null,
          'actual' in e ? h('span', {}, 'actual ', h('code', {}, JSON.stringify(e.actual))) : null,
        ),
      ),
    ),
  );
}

async function recordPage(view, r) {
  const [source, id] = r.args;
  const story = await api('GET', `/records/${encodeURIComponent(source)}/${encodeURIComponent(id)}`);
  const rec = story.record;
  view.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/records' }, 'Records'), ' / ', source),
    h('div', { class: 'page-head' }, h('h1', {}, id), rec ? verdictBadge(rec.verdict) : verdictBadge('rejected')),
  );
  const explainBox = h('div', { class: 'explain-box' });
  const explainButton = (label, rejection) =>
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        onclick: async () => {
          explainBox.replaceChildren(h('p', { class: 'muted' }, 'Running the decision again…'));
          try {
            const out = await api('GET', `/records/${encodeURIComponent(source)}/${encodeURIComponent(id)}/explain${query({ rejection })}`);
            explainBox.replaceChildren(h('h3', {}, `Decision traced with ruleset ${shortVersion(out.version)}, as of ${fmtTime(out.now)}`), renderExplanation(out.explanation));
          } catch (e) {
            explainBox.replaceChildren(errorBox(e));
          }
        },
      },
      label,
    );

  if (rec) {
    const targets = Object.values(rec.targets);
    view.append(
      h(
        'div',
        { class: 'card facts' },
        dl([
          ['source', rec.source],
          ['type', rec.type],
          ['customer', rec.subject ?? '—'],
          ['received', timeEl(rec.receivedAt)],
          ['ruleset version', h('a', { href: hashFor('rules', [], { version: rec.rulesetVersion }), class: 'mono' }, rec.rulesetVersion), rec.rulesetVersion === story.runningVersion ? ' (running)' : ''],
          ['payload hash', h('span', { class: 'mono' }, rec.payloadHash)],
        ]),
      ),
      h(
        'div',
        { class: 'card verdict', id: 'verdict' },
        h('h2', {}, 'Verdict'),
        rec.verdict === 'accepted'
          ? h('p', {}, verdictBadge('accepted'), ` mapped for ${targets.length} target${targets.length === 1 ? '' : 's'}: ${targets.map((t) => t.target).join(', ') || 'none'}`)
          : h('p', {}, verdictBadge('skipped'), ' ', h('span', { class: 'code' }, rec.code ?? ''), ' ', rec.message ?? ''),
        explainButton('Explain this decision'),
        explainBox,
      ),
    );
    if (story.rejections.length) view.append(rejectionsCard(story.rejections, explainButton, 'Earlier rejections of this id'));
    view.append(
      h(
        'div',
        { class: 'card', id: 'targets' },
        h('h2', {}, 'Output and delivery per target'),
        targets.length === 0
          ? h('p', { class: 'muted' }, 'Skipped records are not sent anywhere.')
          : targets.map((t) =>
              h(
                'div',
                { class: 'target', dataset: { target: t.target, status: t.status } },
                h('h3', {}, t.target, ' ', badge(t.status, `d-${t.status}`)),
                dl([
                  ['attempts', String(t.attempts)],
                  ['replays', String(t.replays)],
                  ['next attempt', t.status === 'pending' ? timeEl(t.nextAttemptAt) : '—'],
                  ['delivered', timeEl(t.deliveredAt)],
                  ['receipt', t.receipt ? `HTTP ${t.receipt.statusCode ?? '—'}${t.receipt.targetId ? ` · ${t.receipt.targetId}` : ''}` : '—'],
                  ['last error', t.lastError ?? '—'],
                ]),
                t.status === 'dead' ? h('p', {}, h('a', { href: hashFor('dead-letters', [], { target: t.target }) }, 'See its dead letter')) : null,
                h('details', {}, h('summary', {}, 'Body sent'), jsonBlock(t.body)),
              ),
            ),
      ),
      h(
        'div',
        { class: 'card', id: 'attempts' },
        h('h2', {}, 'Every delivery attempt'),
        table(
          ['at', 'target', 'outcome', 'HTTP', 'latency', 'target id', 'error', 'answer', 'worker'],
          rec.deliveries.map((a) =>
            h(
              'tr',
              { dataset: { outcome: a.outcome } },
              h('td', {}, timeEl(a.at)),
              h('td', {}, a.target),
              h('td', {}, badge(a.outcome, `o-${a.outcome}`)),
              h('td', { class: 'num' }, a.statusCode ?? '—'),
              h('td', { class: 'num' }, a.latencyMs === null ? '—' : `${Math.round(a.latencyMs)} ms`),
              h('td', { class: 'mono' }, a.targetId ?? '—'),
              h('td', {}, a.error ?? '—'),
              h('td', {}, a.answer === null ? '—' : h('details', {}, h('summary', {}, 'answer'), jsonBlock(a.answer))),
              h('td', { class: 'mono small' }, a.worker ?? '—'),
            ),
          ),
          'No attempt yet.',
        ),
      ),
      h('div', { class: 'card' }, h('h2', {}, 'Record as received'), jsonBlock(rec.payload)),
    );
  } else {
    view.append(rejectionsCard(story.rejections, explainButton, 'Rejected'), h('div', { class: 'card' }, h('h2', {}, 'Decision trace'), explainBox));
    const first = story.rejections[0];
    if (first?.payload !== null && first?.payload !== undefined) view.append(h('div', { class: 'card' }, h('h2', {}, 'Record as received'), jsonBlock(first.payload)));
  }
}

function rejectionsCard(rejections, explainButton, title) {
  return h(
    'div',
    { class: 'card', id: 'rejections' },
    h('h2', {}, title),
    rejections.map((rj) =>
      h(
        'div',
        { class: 'rejection' },
        h('p', {}, timeEl(rj.receivedAt), ' · ruleset ', h('span', { class: 'mono', title: rj.rulesetVersion }, shortVersion(rj.rulesetVersion)), ' · ', `${rj.errors.length} reason${rj.errors.length === 1 ? '' : 's'}`),
        reasons(rj.errors),
        rj.payload === null ? h('p', { class: 'muted small' }, 'The payload was not kept, so it cannot be explained again.') : explainButton('Explain this rejection', rj.seq),
      ),
    ),
  );
}

function dl(pairs) {
  return h('dl', { class: 'pairs' }, pairs.map(([k, ...v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

/* ------------------------------------------------------------------ explanation (record story and playground) */

function renderExplanation(exp) {
  const res = exp.result;
  const out = h('div', { class: 'explanation', dataset: { verdict: res.verdict } });
  const verdict = h('div', { class: 'result' }, h('span', { class: 'label' }, 'Result '), verdictBadge(res.verdict));
  if (res.verdict === 'skipped') verdict.append(' ', h('span', { class: 'code' }, res.code), ' ', res.message, res.rule ? h('span', { class: 'muted' }, ` (rule ${res.rule})`) : null);
  out.append(verdict);
  if (res.verdict === 'rejected') out.append(reasons(res.errors));
  out.append(
    h('h4', {}, 'Record type'),
    h('p', {}, exp.type ?? '(none)', exp.knownType ? '' : h('span', { class: 'muted' }, ' — not configured in the manifest')),
    h('h4', {}, 'Schema'),
    exp.schema.valid ? h('p', { class: 'ok' }, '✓ valid') : reasons(exp.schema.errors),
  );
  if (exp.facts) out.append(h('details', {}, h('summary', {}, 'Facts the rules saw'), jsonBlock(exp.facts)));
  if (exp.rules.length) {
    out.append(
      h('h4', {}, 'Rules, in the order they run'),
      h(
        'ol',
        { class: 'rules' },
        exp.rules.map((rule) => {
          const ev = rule.event.type === 'reject' || rule.event.type === 'skip' ? `${rule.event.type} ${rule.event.params?.code ?? ''}` : `annotate ${rule.event.type}`;
          return h(
            'li',
            { class: rule.fired ? 'fired' : 'not-fired', dataset: { rule: rule.name } },
            h('div', {}, h('span', { class: rule.fired ? 'mark ok' : 'mark fail' }, rule.fired ? '✓' : '✗'), ' ', h('strong', {}, rule.name), ` → ${ev}`, rule.fired ? badge('fired', 'fired') : null, h('span', { class: 'muted small' }, ` priority ${rule.priority} · ${rule.file}`)),
            h('ul', { class: 'tree' }, conditionTree(rule.conditions)),
          );
        }),
      ),
    );
  }
  if (res.verdict === 'accepted') {
    if (res.annotations?.length) out.append(h('h4', {}, 'Annotations'), jsonBlock(res.annotations));
    out.append(h('h4', {}, 'Output per target'), Object.entries(res.outputs).map(([target, body]) => h('div', { class: 'output', dataset: { target } }, h('h5', {}, target), jsonBlock(body))));
  }
  return out;
}

function conditionTree(t) {
  const mark = (ok) => h('span', { class: ok ? 'mark ok' : 'mark fail' }, ok ? '✓' : '✗');
  switch (t.kind) {
    case 'not-evaluated':
      return h('li', { class: 'muted' }, '· not evaluated (an earlier condition decided)');
    case 'fact':
      return h('li', {}, mark(t.result), ' ', h('code', {}, `${t.fact}${t.path ? ` ${t.path}` : ''}`), ` ${t.operator} `, h('code', {}, JSON.stringify(t.compareValue)), h('span', { class: 'muted' }, ' — the record had '), h('code', {}, JSON.stringify(t.factValue ?? null)));
    case 'all':
    case 'any':
      return h('li', {}, mark(t.result), ` ${t.kind}`, h('ul', {}, t.children.map(conditionTree)));
    case 'not':
      return h('li', {}, mark(t.result), ' not', h('ul', {}, conditionTree(t.child)));
    case 'condition':
      return h('li', {}, mark(t.result), ` condition "${t.name}"`, h('ul', {}, conditionTree(t.child)));
    default:
      return h('li', {}, JSON.stringify(t));
  }
}

/* ------------------------------------------------------------------ dead letters */

async function deadLettersPage(view, r) {
  const p = r.params;
  const filters = Object.fromEntries(['status', 'target', 'code', 'reason', 'from', 'to'].map((k) => [k, p.get(k) ?? '']));
  const writable = can('dead-letters:write');
  const selected = new Set();
  const actionBar = h('div', { class: 'bulk' });
  const result = h('div');
  view.append(
    h('h1', {}, 'Dead letters'),
    filterForm(
      [
        { name: 'status', label: 'Status', options: [['', 'open (dead)'], ['retried', 'retried'], ['discarded', 'discarded']] },
        { name: 'target', label: 'Target', list: 'targets-list' },
        { name: 'code', label: 'Code', placeholder: 'e.g. HTTP_400' },
        { name: 'reason', label: 'Reason contains' },
        { name: 'from', label: 'From', type: 'datetime-local' },
        { name: 'to', label: 'to', type: 'datetime-local' },
      ],
      p,
      (values) => (location.hash = hashFor('dead-letters', [], values)),
    ),
    h('datalist', { id: 'targets-list' }, (state.session.targets ?? []).map((t) => h('option', { value: t }))),
  );
  const resolve = async (action, ids) => {
    const ok = await confirmBox(
      action === 'retry' ? 'Retry dead letters' : 'Discard dead letters',
      action === 'retry' ? `Put ${ids.length} row${ids.length === 1 ? '' : 's'} back in the outbox, to be sent again?` : `Give up on ${ids.length} row${ids.length === 1 ? '' : 's'}? Nothing is deleted; they stay, marked discarded.`,
      action === 'retry' ? 'Retry' : 'Discard',
      action === 'discard',
    );
    if (!ok) return;
    try {
      const out = await api('POST', `/dead-letters/${action}`, { ids });
      toast(`${out.resolved.length} ${action === 'retry' ? 'retried' : 'discarded'}${out.failed.length ? `, ${out.failed.length} failed` : ''}`);
      await route();
    } catch (e) {
      result.replaceChildren(errorBox(e));
    }
  };
  const updateBar = () => {
    actionBar.replaceChildren(
      h('span', { class: 'muted' }, `${selected.size} selected`),
      h('button', { type: 'button', class: 'primary', id: 'retry-selected', disabled: !writable || selected.size === 0, title: writable ? '' : 'needs the operator or admin role', onclick: () => resolve('retry', [...selected]) }, 'Retry selected'),
      h('button', { type: 'button', class: 'danger', id: 'discard-selected', disabled: !writable || selected.size === 0, title: writable ? '' : 'needs the operator or admin role', onclick: () => resolve('discard', [...selected]) }, 'Discard selected'),
    );
  };
  const open = (filters.status || 'dead') === 'dead';
  if (open) {
    updateBar();
    view.append(actionBar, result);
  }
  const list = pagedList(
    (cursor) => api('GET', `/dead-letters${query({ ...filters, status: filters.status || 'dead', limit: 50, cursor })}`),
    [open ? '' : 'status', 'id', 'dead-lettered', 'target', 'record', 'code', 'HTTP', 'reason', ''],
    (d) => {
      const detail = h('tr', { class: 'detail', hidden: true }, h('td', { colspan: 9 }));
      const showDetail = async () => {
        detail.hidden = !detail.hidden;
        if (detail.hidden || detail.dataset.loaded) return;
        detail.dataset.loaded = '1';
        try {
          const v = await api('GET', `/dead-letters/${encodeURIComponent(d.id)}`);
          detail.firstChild.replaceChildren(
            dl([
              ['reason', v.deadLetter.reason],
              ['last answer', v.deadLetter.answer === null ? '—' : jsonBlock(v.deadLetter.answer)],
              ['resolved', v.deadLetter.resolvedAt ? [timeEl(v.deadLetter.resolvedAt), ` by ${v.deadLetter.resolvedBy ?? '?'}`] : '—'],
            ]),
            h('h4', {}, 'Attempts at this target'),
            table(['at', 'outcome', 'HTTP', 'error'], v.attempts.map((a) => h('tr', {}, h('td', {}, timeEl(a.at)), h('td', {}, badge(a.outcome, `o-${a.outcome}`)), h('td', {}, a.statusCode ?? '—'), h('td', {}, a.error ?? '—'))), 'No attempt recorded.'),
          );
        } catch (e) {
          detail.firstChild.replaceChildren(errorBox(e));
        }
      };
      const checkbox = open ? h('input', { type: 'checkbox', 'aria-label': `select dead letter ${d.id}`, disabled: !writable, onchange: (e) => (e.target.checked ? selected.add(d.id) : selected.delete(d.id), updateBar()) }) : null;
      const row = h(
        'tr',
        { dataset: { deadLetter: d.id, record: d.recordId } },
        h('td', {}, open ? checkbox : badge(d.status, `dl-${d.status}`)),
        h('td', { class: 'mono' }, d.id),
        h('td', {}, timeEl(d.at)),
        h('td', {}, d.target),
        h('td', {}, h('a', { href: hashFor('record', [d.source, d.recordId]) }, `${d.source} / ${d.recordId}`)),
        h('td', {}, d.code ?? '—'),
        h('td', { class: 'num' }, d.statusCode ?? '—'),
        h('td', { class: 'reason' }, d.reason),
        h(
          'td',
          { class: 'row-actions' },
          h('button', { type: 'button', class: 'link', onclick: showDetail }, 'Details'),
          open && writable ? h('button', { type: 'button', class: 'link', dataset: { action: 'retry' }, onclick: () => resolve('retry', [d.id]) }, 'Retry') : null,
          open && writable ? h('button', { type: 'button', class: 'link danger', dataset: { action: 'discard' }, onclick: () => resolve('discard', [d.id]) }, 'Discard') : null,
        ),
      );
      return [row, detail];
    },
    open ? 'No open dead letter. Good.' : 'None.',
    { id: 'dead-letters-table' },
  );
  view.append(list.el);
  if (can('replay')) view.append(replayForm());
  await list.ready;
}

function replayForm() {
  const out = h('div');
  const form = h(
    'form',
    { class: 'filters card replay' },
    h('h2', {}, 'Replay delivered records'),
    h('p', { class: 'muted small' }, 'Sends again what was delivered in a time range (for a target that lost data). Every send carries the same idempotency key, so what the target still has is not counted twice.'),
    h('div', { class: 'field' }, h('label', { for: 'rp-from' }, 'Delivered from'), h('input', { id: 'rp-from', name: 'from', type: 'datetime-local', required: true })),
    h('div', { class: 'field' }, h('label', { for: 'rp-to' }, 'to'), h('input', { id: 'rp-to', name: 'to', type: 'datetime-local', required: true })),
    h('div', { class: 'field' }, h('label', { for: 'rp-source' }, 'Source (optional)'), h('input', { id: 'rp-source', name: 'source' })),
    h('div', { class: 'field' }, h('label', { for: 'rp-target' }, 'Target (optional)'), h('input', { id: 'rp-target', name: 'target', list: 'targets-list' })),
    h('div', { class: 'field buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Replay')),
    out,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = (n) => form.elements[n].value.trim();
    if (!(await confirmBox('Replay deliveries', 'Send the deliveries of this range again?', 'Replay'))) return;
    try {
      const res = await api('POST', '/replay', { from: toIso(v('from')), to: toIso(v('to')), ...(v('source') ? { source: v('source') } : {}), ...(v('target') ? { target: v('target') } : {}) });
      out.replaceChildren(h('p', { class: 'ok' }, `${res.requeued} deliveries queued again.`));
    } catch (err) {
      out.replaceChildren(errorBox(err));
    }
  });
  return form;
}

/* ------------------------------------------------------------------ rules */

async function rulesPage(view, r) {
  const info = await api('GET', '/rules');
  const operator = can('ruleset:activate');
  const active = info.active;
  const fileView = h('div', { class: 'file-view' });
  const showFiles = async (version) => {
    fileView.replaceChildren(h('p', { class: 'muted' }, 'Loading files…'));
    try {
      const v = await api('GET', `/rules/files${query({ version })}`);
      const paths = Object.keys(v.files).sort();
      const content = h('pre', { class: 'code-view', id: 'file-content' });
      const pick = (path) => {
        content.textContent = v.files[path];
        for (const b of list.querySelectorAll('button')) b.classList.toggle('on', b.dataset.path === path);
      };
      const list = h('div', { class: 'file-list' }, paths.map((path) => h('button', { type: 'button', class: 'file', dataset: { path }, onclick: () => pick(path) }, path)));
      fileView.replaceChildren(
        h('h3', {}, `Files of ${shortVersion(v.version)}`, v.activatedBy ? h('span', { class: 'muted small' }, ` · activated by ${v.activatedBy} at ${fmtTime(v.at)}`) : null),
        paths.length ? h('div', { class: 'files' }, list, content) : h('p', { class: 'muted' }, 'The files of this version were not kept (the server was given a parsed ruleset).'),
      );
      if (paths.length) pick(paths.includes('rules/manifest.json') ? 'rules/manifest.json' : paths[0]);
    } catch (e) {
      fileView.replaceChildren(errorBox(e));
    }
  };
  const activate = async (body, label) => {
    const running = active?.version;
    if (!(await confirmBox(label, `Check ${body.version ? shortVersion(body.version) : 'the candidate'} and put it in service in place of ${shortVersion(running)}? New records are judged by it at once.`, label))) return;
    try {
      const out = await api('POST', '/rules/activate', body);
      toast(out.changed ? `${out.action === 'rollback' ? 'Rolled back' : 'Activated'}: ${shortVersion(out.version)} is running` : `${shortVersion(out.version)} was already running`);
      await route();
    } catch (e) {
      view.prepend(errorBox(e));
      if (e.data?.lint) view.prepend(lintReport(e.data.lint));
    }
  };

  view.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Rules')),
    h(
      'div',
      { class: 'card', id: 'active-ruleset' },
      h('h2', {}, 'Running'),
      active
        ? dl([
            ['name', active.name],
            ['version', h('span', { class: 'mono', id: 'running-version' }, active.version)],
            ['loaded', timeEl(active.loadedAt)],
            ['files', String(active.files.length)],
          ])
        : h('p', { class: 'muted' }, 'No ruleset is loaded.'),
      info.lastReloadFailure
        ? h('div', { class: 'error' }, h('strong', {}, 'The files on disk were refused'), ` (${fmtTime(info.lastReloadFailure.at)}, ${info.lastReloadFailure.trigger}): ${info.lastReloadFailure.error.message}`)
        : null,
      h(
        'div',
        { class: 'actions' },
        active ? h('button', { type: 'button', class: 'secondary', onclick: () => showFiles(active.version) }, 'Show files') : null,
        active ? h('button', { type: 'button', class: 'secondary', onclick: () => newCandidate(active.version) }, 'New candidate from these files') : null,
        operator && info.canReload
          ? h(
              'button',
              {
                type: 'button',
                class: 'secondary',
                onclick: async () => {
                  try {
                    const out = await api('POST', '/rules/reload');
                    toast(out.changed ? `Loaded ${shortVersion(out.version)} from the files` : 'The files have not changed');
                    await route();
                  } catch (e) {
                    view.prepend(errorBox(e));
                  }
                },
              },
              'Reload from files',
            )
          : null,
      ),
      fileView,
    ),
  );

  if (state.candidate) view.append(candidateEditor(operator && info.canActivate, activate));

  const seen = new Set();
  view.append(
    h(
      'div',
      { class: 'card' },
      h('h2', {}, 'History of activations'),
      !info.canActivate ? h('p', { class: 'muted small' }, 'This server cannot swap rulesets from the panel; activation needs a server whose ruleset holder has swap().') : null,
      table(
        ['activated', 'version', 'by', ''],
        info.history.map((a) => {
          const first = !seen.has(a.version);
          seen.add(a.version);
          return h(
            'tr',
            { dataset: { version: a.version }, class: a.running && first ? 'running' : '' },
            h('td', {}, timeEl(a.at)),
            h('td', { class: 'mono', title: a.version }, shortVersion(a.version), a.running && first ? [' ', badge('running', 'running')] : null),
            h('td', {}, a.activatedBy),
            h(
              'td',
              { class: 'row-actions' },
              h('button', { type: 'button', class: 'link', onclick: () => showFiles(a.version) }, 'Files'),
              h('a', { class: 'link', href: hashFor('playground', [], { version: a.version }) }, 'Try'),
              operator && info.canActivate && !a.running && first ? h('button', { type: 'button', class: 'link', dataset: { action: 'activate' }, onclick: () => activate({ version: a.version }, 'Activate this version') }, 'Activate') : null,
            ),
          );
        }),
        'No activation is recorded yet.',
        { id: 'history' },
      ),
    ),
  );
  const wanted = r.params.get('version');
  if (wanted) await showFiles(wanted);
}

async function newCandidate(version) {
  const v = await api('GET', `/rules/files${query({ version })}`);
  state.candidate = { base: v.version, files: { ...v.files }, selected: 'rules/manifest.json', check: null };
  await route();
}

function lintReport(lint) {
  return h(
    'div',
    { class: 'lint' },
    h('p', {}, `${lint.errors} error${lint.errors === 1 ? '' : 's'}, ${lint.warnings} warning${lint.warnings === 1 ? '' : 's'}`),
    h('ul', {}, lint.problems.map((p) => h('li', { class: `sev-${p.severity}` }, h('code', {}, `${p.file}:${p.line}:${p.column}`), ` ${p.severity}: ${p.message} `, h('span', { class: 'muted' }, `[${p.check}]`)))),
  );
}

function candidateEditor(canActivate, activate) {
  const c = state.candidate;
  const status = h('div', { class: 'check-status' }, c.check ? checkSummary(c.check) : null);
  const textarea = h('textarea', { class: 'editor', id: 'candidate-editor', spellcheck: 'false', 'aria-label': 'file content' });
  const list = h('div', { class: 'file-list' });
  const drawList = () =>
    list.replaceChildren(
      ...Object.keys(c.files)
        .sort()
        .map((path) => h('button', { type: 'button', class: `file ${path === c.selected ? 'on' : ''}`, dataset: { path }, onclick: () => select(path) }, path)),
    );
  const select = (path) => {
    c.selected = path;
    textarea.value = c.files[path] ?? '';
    drawList();
  };
  textarea.addEventListener('input', () => {
    c.files[c.selected] = textarea.value;
    c.check = null;
    status.replaceChildren(h('span', { class: 'muted' }, 'changed; not checked yet'));
  });
  select(c.files[c.selected] === undefined ? Object.keys(c.files).sort()[0] : c.selected);
  const check = async () => {
    try {
      c.check = await api('POST', '/rules/check', { files: c.files });
      status.replaceChildren(checkSummary(c.check));
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
  };
  return h(
    'div',
    { class: 'card candidate', id: 'candidate' },
    h('h2', {}, 'Candidate', h('span', { class: 'muted small' }, ` — edited from ${shortVersion(c.base)}; nothing runs until it is activated`)),
    h('div', { class: 'files' }, list, textarea),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', id: 'check-candidate', onclick: check }, 'Check'),
      h('a', { class: 'button secondary', href: hashFor('playground', [], { ruleset: 'candidate' }) }, 'Try in the playground'),
      canActivate ? h('button', { type: 'button', class: 'primary', id: 'activate-candidate', onclick: () => activate({ files: c.files }, 'Activate the candidate') }, 'Activate candidate') : null,
      h(
        'button',
        {
          type: 'button',
          class: 'link',
          onclick: () => {
            state.candidate = null;
            route();
          },
        },
        'Drop candidate',
      ),
    ),
    status,
  );
}

function checkSummary(check) {
  return h(
    'div',
    {},
    check.ok ? h('p', { class: 'ok' }, `✓ loads and compiles as ${shortVersion(check.version)}`) : h('p', { class: 'fail' }, '✗ would be refused', check.error ? `: ${check.error.message}` : ''),
    check.lint.problems.length ? lintReport(check.lint) : null,
  );
}

/* ------------------------------------------------------------------ playground */

function sampleRecord() {
  return {
    specversion: '1.0',
    id: `try-${Date.now().toString(36)}`,
    source: 'voice-platform',
    type: 'voice.call.completed',
    time: new Date(Date.now() - 5 * 60000).toISOString().replace(/\.\d+Z$/, 'Z'),
    subject: 'acme',
    data: { duration_s: 61, from: '+5511987654321', to: '+5521912345678', direction: 'outbound', region: 'br-sp' },
  };
}

async function playgroundPage(view, r) {
  const info = await api('GET', '/rules');
  const wanted = r.params.get('ruleset') === 'candidate' && state.candidate ? 'candidate' : r.params.get('version') ?? 'active';
  const versions = [...new Set(info.history.map((a) => a.version))].filter((v) => v !== info.active?.version);
  const select = h(
    'select',
    { id: 'pg-ruleset', name: 'ruleset' },
    h('option', { value: 'active', selected: wanted === 'active' }, `running: ${shortVersion(info.active?.version)}`),
    state.candidate ? h('option', { value: 'candidate', selected: wanted === 'candidate' }, 'the candidate being edited') : null,
    versions.map((v) => h('option', { value: v, selected: wanted === v }, `stored: ${shortVersion(v)}`)),
  );
  const textarea = h('textarea', { id: 'pg-record', class: 'editor record', spellcheck: 'false', 'aria-label': 'record (JSON)' });
  textarea.value = state.playgroundRecord ?? JSON.stringify(sampleRecord(), null, 2);
  const now = h('input', { id: 'pg-now', type: 'datetime-local' });
  const output = h('div', { class: 'pg-output', id: 'pg-output' }, h('p', { class: 'muted' }, 'Paste a record and run it: the result and the whole decision appear here.'));
  const run = async () => {
    state.playgroundRecord = textarea.value;
    let record;
    try {
      record = JSON.parse(textarea.value);
    } catch (e) {
      output.replaceChildren(h('div', { class: 'error', role: 'alert' }, `The record is not valid JSON: ${e.message}`));
      return;
    }
    const choice = select.value;
    const body = { record, ...(now.value ? { now: toIso(now.value) } : {}), ...(choice === 'candidate' ? { files: state.candidate.files } : choice !== 'active' ? { version: choice } : {}) };
    output.replaceChildren(h('p', { class: 'muted' }, 'Running…'));
    try {
      const out = await api('POST', '/rules/playground', body);
      output.replaceChildren(h('p', { class: 'muted small' }, `ruleset ${shortVersion(out.version)} · now ${fmtTime(out.now)}`), renderExplanation(out.explanation));
    } catch (e) {
      output.replaceChildren(errorBox(e), e.data?.lint ? lintReport(e.data.lint) : null);
    }
  };
  view.append(
    h('h1', {}, 'Playground'),
    h('p', { class: 'muted' }, 'Runs a record through a ruleset and shows every step. Nothing is stored or sent.'),
    h(
      'div',
      { class: 'playground' },
      h(
        'div',
        { class: 'pg-input' },
        h('div', { class: 'field' }, h('label', { for: 'pg-ruleset' }, 'Ruleset'), select),
        h('div', { class: 'field' }, h('label', { for: 'pg-now' }, 'Now (optional; default: the current time)'), now),
        h('label', { for: 'pg-record' }, 'Record (JSON)'),
        textarea,
        h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', id: 'pg-run', onclick: run }, 'Run'), h('button', { type: 'button', class: 'secondary', onclick: () => (textarea.value = JSON.stringify(sampleRecord(), null, 2)) }, 'Sample record')),
      ),
      output,
    ),
  );
}

/* ------------------------------------------------------------------ API keys */

async function keysPage(view) {
  const { items } = await api('GET', '/keys');
  const writable = can('keys:write');
  const known = [...new Set(items.flatMap((k) => k.sources))].sort();
  const error = h('div', { class: 'form-error', role: 'alert' });
  const form = h(
    'form',
    { class: 'filters card', id: 'new-key' },
    h('h2', {}, 'New API key'),
    h('div', { class: 'field' }, h('label', { for: 'key-name' }, 'Name'), h('input', { id: 'key-name', name: 'name', required: true, placeholder: 'voice production' })),
    h('div', { class: 'field wide' }, h('label', { for: 'key-sources' }, 'Sources it may send and read (comma separated; * for all, @admin for the admin routes)'), h('input', { id: 'key-sources', name: 'sources', required: true, list: 'sources-list', placeholder: 'voice-platform, sms-gateway' })),
    h('datalist', { id: 'sources-list' }, known.map((v) => h('option', { value: v }))),
    h('div', { class: 'field buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Create key')),
    error,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const sources = form.elements.sources.value.split(',').map((v) => v.trim()).filter(Boolean);
    try {
      const out = await api('POST', '/keys', { name: form.elements.name.value.trim(), sources });
      await route();
      showSecret('API key created', 'The key', out.key, `Copy the key for "${out.info.name}" now: it is shown only this once, and only its hash is stored.`);
    } catch (err) {
      error.textContent = err.message;
    }
  });
  view.append(
    h('h1', {}, 'API keys'),
    writable ? form : null,
    table(
      ['prefix', 'name', 'sources', 'created', 'status', ''],
      items.map((k) =>
        h(
          'tr',
          { dataset: { key: k.prefix } },
          h('td', { class: 'mono' }, k.prefix),
          h('td', {}, k.name),
          h('td', {}, k.sources.map((v) => h('span', { class: 'chip' }, v))),
          h('td', {}, timeEl(k.createdAt)),
          h('td', {}, k.revokedAt ? [badge('revoked', 'revoked'), ' ', timeEl(k.revokedAt)] : badge('active', 'active')),
          h(
            'td',
            { class: 'row-actions' },
            writable && !k.revokedAt
              ? h(
                  'button',
                  {
                    type: 'button',
                    class: 'link danger',
                    dataset: { action: 'revoke' },
                    onclick: async () => {
                      if (!(await confirmBox('Revoke API key', `Revoke ${k.prefix} ("${k.name}")? It stops working at its next request.`, 'Revoke', true))) return;
                      try {
                        await api('POST', `/keys/${encodeURIComponent(k.id)}/revoke`);
                        toast(`${k.prefix} revoked`);
                        await route();
                      } catch (err) {
                        view.prepend(errorBox(err));
                      }
                    },
                  },
                  'Revoke',
                )
              : null,
          ),
        ),
      ),
      'No API key yet.',
      { id: 'keys-table' },
    ),
  );
}

/* ------------------------------------------------------------------ accounts */

async function accountsPage(view) {
  const { items, roles } = await api('GET', '/accounts');
  const writable = can('accounts:write');
  const me = state.session.user.username;
  const error = h('div', { class: 'form-error', role: 'alert' });
  const form = h(
    'form',
    { class: 'filters card', id: 'new-account' },
    h('h2', {}, 'New account'),
    h('div', { class: 'field' }, h('label', { for: 'acc-username' }, 'Username'), h('input', { id: 'acc-username', name: 'username', required: true, autocomplete: 'off' })),
    h('div', { class: 'field' }, h('label', { for: 'acc-role' }, 'Role'), h('select', { id: 'acc-role', name: 'role' }, roles.map((r) => h('option', { value: r, selected: r === 'viewer' }, r)))),
    h('div', { class: 'field buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Create account')),
    error,
    h('p', { class: 'muted small wide' }, 'A password is generated and shown once; the person changes it after logging in. Roles: viewer reads; operator also handles dead letters, replays and rulesets; admin also manages keys and accounts.'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const out = await api('POST', '/accounts', { username: form.elements.username.value.trim(), role: form.elements.role.value });
      await route();
      showSecret('Account created', 'Password', out.password, `Give "${out.account.username}" this password; it is shown only this once.`);
    } catch (err) {
      error.textContent = err.message;
    }
  });
  view.append(
    h('h1', {}, 'Accounts'),
    writable ? form : null,
    table(
      ['username', 'role', 'created', 'changed', ''],
      items.map((a) => {
        const role = h(
          'select',
          {
            'aria-label': `role of ${a.username}`,
            disabled: !writable,
            onchange: async (e) => {
              try {
                await api('POST', `/accounts/${encodeURIComponent(a.username)}/role`, { role: e.target.value });
                toast(`${a.username} is now ${e.target.value}`);
              } catch (err) {
                view.prepend(errorBox(err));
                e.target.value = a.role;
              }
            },
          },
          roles.map((r) => h('option', { value: r, selected: r === a.role }, r)),
        );
        return h(
          'tr',
          { dataset: { account: a.username } },
          h('td', {}, a.username, a.username === me ? h('span', { class: 'muted' }, ' (you)') : null),
          h('td', {}, role),
          h('td', {}, timeEl(a.createdAt)),
          h('td', {}, timeEl(a.updatedAt)),
          h(
            'td',
            { class: 'row-actions' },
            writable
              ? h(
                  'button',
                  {
                    type: 'button',
                    class: 'link',
                    onclick: async () => {
                      if (!(await confirmBox('Reset password', `Give ${a.username} a new generated password? Their sessions end.`, 'Reset'))) return;
                      try {
                        const out = await api('POST', `/accounts/${encodeURIComponent(a.username)}/reset-password`);
                        showSecret('Password reset', 'New password', out.password, `Give "${a.username}" this password; it is shown only this once.`);
                      } catch (err) {
                        view.prepend(errorBox(err));
                      }
                    },
                  },
                  'Reset password',
                )
              : null,
            writable && a.username !== me
              ? h(
                  'button',
                  {
                    type: 'button',
                    class: 'link danger',
                    onclick: async () => {
                      if (!(await confirmBox('Remove account', `Remove ${a.username}? Their sessions end at once.`, 'Remove', true))) return;
                      try {
                        await api('DELETE', `/accounts/${encodeURIComponent(a.username)}`);
                        await route();
                      } catch (err) {
                        view.prepend(errorBox(err));
                      }
                    },
                  },
                  'Remove',
                )
              : null,
          ),
        );
      }),
      'No account.',
      { id: 'accounts-table' },
    ),
  );
}

/* ------------------------------------------------------------------ audit log */

async function auditPage(view, r) {
  const p = r.params;
  const filters = Object.fromEntries(['actor', 'action', 'target', 'from', 'to'].map((k) => [k, p.get(k) ?? '']));
  view.append(
    h('h1', {}, 'Audit log'),
    h('p', { class: 'muted' }, 'Every change made through the panel, the CLI or the admin API: who, what, when, before and after. It cannot be edited.'),
    filterForm(
      [
        { name: 'actor', label: 'Who' },
        { name: 'action', label: 'Action', placeholder: 'e.g. key.create' },
        { name: 'target', label: 'On' },
        { name: 'from', label: 'From', type: 'datetime-local' },
        { name: 'to', label: 'to', type: 'datetime-local' },
      ],
      p,
      (values) => (location.hash = hashFor('audit', [], values)),
    ),
  );
  const compact = (v) => (v === null || v === undefined ? '—' : h('code', { class: 'small' }, JSON.stringify(v)));
  const list = pagedList(
    (cursor) => api('GET', `/audit${query({ ...filters, limit: 50, cursor })}`),
    ['when', 'who', 'action', 'on', 'before', 'after'],
    (e) => h('tr', { dataset: { action: e.action } }, h('td', {}, timeEl(e.at)), h('td', {}, e.actor), h('td', {}, h('code', {}, e.action)), h('td', { class: 'mono' }, e.target ?? '—'), h('td', {}, compact(e.before)), h('td', {}, compact(e.after))),
    'Nothing recorded.',
    { id: 'audit-table' },
  );
  view.append(list.el);
  await list.ready;
}

/* ------------------------------------------------------------------ start */

modal.addEventListener('click', (e) => {
  if (e.target === modal) closeModal();
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && !modal.hidden) closeModal();
});

(async () => {
  try {
    state.session = await api('GET', '/session');
    startApp();
  } catch (e) {
    if (e.status === 401) showLogin();
    else main.replaceChildren(errorBox(e));
  }
})();
