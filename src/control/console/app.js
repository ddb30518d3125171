// The Keymaster web console: plain JavaScript, no framework, no build step. Every view calls the
// same /v1/ control API routes as the command line; the session cookie stands in for the token,
// and every change carries the session's CSRF token. Text from the server is only ever set as
// textContent, never parsed as HTML.
'use strict';

let csrf = null;
const view = () => document.getElementById('view');

/** An element: h('td', { class: 'x', onclick: f }, 'text', child, ...). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style') el.style.cssText = v; // CSSOM, which the CSP allows (a style attribute it would not)
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function table(headers, rows) {
  return h('table', {}, h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))), h('tbody', {}, rows));
}

function fields(pairs) {
  return h('dl', { class: 'fields' }, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

function toast(text) {
  const t = document.getElementById('toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), 4000);
}

class NotLoggedIn extends Error {}

async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrf ?? '';
  const r = await fetch(path, { method, credentials: 'same-origin', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 401) {
    showLogin();
    throw new NotLoggedIn('not logged in');
  }
  const data = r.status === 204 ? null : await r.json().catch(() => null);
  if (!r.ok) throw new Error(data?.error?.message ?? `${r.status} ${r.statusText}`);
  return data;
}

/** "3d 4h", "12m 5s": the two largest units. */
function duration(seconds) {
  let s = Math.max(0, Math.round(seconds));
  const parts = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]]) {
    if (s >= size || (unit === 's' && parts.length === 0)) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  return parts.slice(0, 2).join(' ');
}

/** A live "in 29d 23h" / "due 4s ago" to an ISO time. */
function countdown(iso) {
  if (!iso) return '—';
  return h('span', { class: 'countdown', title: iso, dataset: { deadline: iso } }, countdownText(iso));
}
function countdownText(iso) {
  const left = (Date.parse(iso) - Date.now()) / 1000;
  return left >= 0 ? `in ${duration(left)}` : `due ${duration(-left)} ago`;
}
setInterval(() => {
  for (const el of document.querySelectorAll('[data-deadline]')) el.textContent = countdownText(el.dataset.deadline);
}, 1000);

const stateSpan = (state) => h('span', { class: `state-${state}` }, state);

// ------------------------------------------------------------------------------------------
// Views
// ------------------------------------------------------------------------------------------

async function statusView() {
  const s = await api('GET', '/v1/status');
  const r = s.resolver;
  return [
    h('h2', {}, 'Server status'),
    fields([
      ['Version', s.version], ['PID', s.pid], ['Started', s.startedAt], ['Uptime', duration(s.uptimeSeconds)],
      ['Config file', s.configFile ?? '(built-in defaults)'], ['State directory', s.stateDir],
    ]),
    h('h3', {}, 'Listeners'),
    table(['Purpose', 'Protocol', 'Address'], s.listeners.map((l) => h('tr', {}, h('td', {}, l.purpose), h('td', {}, l.protocol), h('td', {}, l.address)))),
    r && h('h3', {}, 'Resolver'),
    r && fields([
      ['Client queries', r.queries], ['From the response cache', r.answeredFromResponseCache],
      ['Cache', `${r.cache.entries} RRsets, ${(r.cache.bytes / 1048576).toFixed(1)} MiB, hit ratio ${(r.cache.hitRatio * 100).toFixed(1)} %`],
      ['Validation', `${r.validation.secure} secure, ${r.validation.insecure} insecure, ${r.validation.bogus} bogus, ${r.validation.indeterminate} indeterminate`],
      ['Upstream', `${r.upstream.queries} queries, ${r.upstream.timeouts} timeouts`],
      ['SERVFAIL / REFUSED', `${r.servfail} / ${r.refused}`],
    ]),
  ];
}

async function trustPointsView() {
  const { trustPoints } = await api('GET', '/v1/trust-points');
  const details = await Promise.all(trustPoints.map((tp) => api('GET', `/v1/trust-points?zone=${encodeURIComponent(tp.zone)}`)));
  const out = [h('h2', {}, 'Trust points'), importForm()];
  if (details.length === 0) out.push(h('p', { class: 'muted' }, 'No trust points.'));
  for (const tp of details) {
    out.push(
      h('h3', { id: `tp-${tp.zone}` }, tp.zone, ' ', stateSpan(tp.state)),
      fields([
        ['Next refresh', countdown(tp.nextRefresh)], ['Last refresh', tp.lastRefresh], ['Last result', tp.lastResult],
        ['Anchors', Object.entries(tp.anchorCounts).map(([k, v]) => `${v} ${k}`).join(', ')],
      ]),
      h('button', { type: 'button', onclick: () => act(() => api('POST', '/v1/trust-points/refresh', { zone: tp.zone }), `refreshed ${tp.zone}`) }, 'Refresh now'),
      table(
        ['Key tag', 'Type', 'Algorithm', 'State', 'Trusted', 'Next', 'When', ''],
        tp.anchors.map((a) =>
          h('tr', { class: 'anchor', dataset: { keyTag: a.keyTag, state: a.state } },
            h('td', {}, a.keyTag), h('td', {}, a.type), h('td', {}, a.algorithm), h('td', {}, stateSpan(a.state)),
            h('td', {}, a.trusted ? 'yes' : 'no'), h('td', {}, a.nextState ?? '—'), h('td', {}, countdown(a.nextStateTime)),
            h('td', {}, h('button', { type: 'button', onclick: () => confirm(`Remove anchor ${a.keyTag} of ${tp.zone}?`) && act(() => api('DELETE', `/v1/trust-anchors?zone=${encodeURIComponent(tp.zone)}&keyTag=${a.keyTag}`), `removed ${a.keyTag}`) }, 'Remove')),
          ),
        ),
      ),
    );
  }
  return out;
}

function importForm() {
  const file = h('input', { type: 'file', name: 'file', id: 'anchor-file', required: true });
  return h('form', { class: 'inline', id: 'import-form', onsubmit: (e) => {
    e.preventDefault();
    const f = file.files[0];
    if (!f) return;
    const kind = /^dsset-/i.test(f.name) ? 'dsset' : 'keyset';
    act(async () => api('POST', '/v1/trust-anchors/import', { kind, fileName: f.name, text: await f.text() }), `imported ${f.name}`);
  } }, h('label', {}, 'Add anchors from a dsset-/keyset- file', file), h('button', { type: 'submit' }, 'Import'));
}

async function policyView() {
  const p = await api('GET', '/v1/policy');
  const ns = h('input', { name: 'namespace', placeholder: '.corp.example', required: true });
  const mode = h('select', { name: 'mode' }, ['require', 'log-only', 'no-validation', 'default'].map((m) => h('option', { value: m }, m)));
  const until = h('input', { name: 'until', placeholder: '7d or 2026-12-31T00:00:00Z' });
  const fwd = h('input', { name: 'forwarders', placeholder: '192.0.2.53, 192.0.2.54' });
  const add = h('form', { class: 'inline', id: 'policy-form', onsubmit: (e) => {
    e.preventDefault();
    const body = { namespace: ns.value.trim(), mode: mode.value };
    if (until.value.trim()) body.until = until.value.trim();
    if (fwd.value.trim()) body.forwarders = fwd.value.split(',').map((x) => x.trim()).filter(Boolean);
    act(() => api('POST', '/v1/policy', body), `rule ${body.namespace} added`);
  } }, h('label', {}, 'Namespace', ns), h('label', {}, 'Mode', mode), h('label', {}, 'Until', until), h('label', {}, 'Forwarders', fwd), h('button', { type: 'submit' }, 'Add rule'));
  return [
    h('h2', {}, 'Policy table'),
    !p.validation && h('p', { class: 'error' }, 'Validation is off server-wide (dnssec.validation: false).'),
    add,
    table(['Namespace', 'Mode', 'Until', 'Forwarders', 'Source', ''], p.rules.map((r) =>
      h('tr', { class: 'rule', dataset: { namespace: r.namespace } },
        h('td', {}, r.namespace), h('td', {}, r.mode), h('td', {}, r.until ? countdown(r.until) : '—'), h('td', {}, r.forwarders.join(', ') || '—'),
        h('td', {}, r.source), h('td', {}, r.source === 'store' ? h('button', { type: 'button', onclick: () => act(() => api('DELETE', `/v1/policy?namespace=${encodeURIComponent(r.namespace)}`), `rule ${r.namespace} removed`) }, 'Remove') : h('span', { class: 'muted' }, 'config file')),
      ))),
  ];
}

async function zonesView() {
  const { zones } = await api('GET', '/v1/zones');
  return [
    h('h2', {}, 'Zones'),
    table(['Zone', 'Serial', 'Signed', 'Denial', 'Key Master', 'Records'], zones.map((z) =>
      h('tr', {}, h('td', {}, h('a', { href: `#/zones/${encodeURIComponent(z.name)}` }, z.name)), h('td', {}, z.serial), h('td', {}, z.signed ? 'yes' : 'no'),
        h('td', {}, z.denial ?? '—'), h('td', {}, z.keyMaster), h('td', {}, z.records)))),
  ];
}

async function zoneView(name) {
  const path = `/v1/zones/${encodeURIComponent(name)}`;
  const [zone, { zones }] = await Promise.all([api('GET', path), api('GET', '/v1/zones')]);
  const keys = zone.signed ? (await api('GET', `${path}/keys`)).keys : [];
  const out = [h('h2', {}, `Zone ${zone.name}`), fields([
    ['File', zone.file], ['Serial', zone.serial], ['Signed', zone.signed ? `yes (${zone.denial})` : 'no'], ['Key Master', zone.keyMaster], ['Signed at', zone.signedAt],
  ])];
  if (zone.policy) {
    const p = zone.policy;
    out.push(h('h3', {}, 'Signing settings'), fields([
      ['Algorithm', p.algorithm], ['Denial', p.denial === 'nsec3' ? `NSEC3, ${p.nsec3Iterations} iterations, salt ${p.nsec3SaltLength} octets${p.nsec3OptOut ? ', opt-out' : ''}` : 'NSEC'],
      ['KSK rollover', duration(p.kskRollover)], ['ZSK rollover', duration(p.zskRollover)], ['Signature validity', duration(p.signatureValidity)],
      ['DNSKEY TTL', duration(p.dnskeyTtl)], ['RFC 5011', p.rfc5011 ? 'yes' : 'no'],
    ]));
  }
  if (keys.length > 0) out.push(h('h3', {}, 'Keys'), legend(), keyTable(name, keys));
  out.push(h('h3', {}, zone.signed ? 'Sign again' : 'Sign'), signForms(name, zones.filter((z) => z.signed && z.name !== name)));
  if (zone.signed) out.push(h('button', { type: 'button', onclick: () => confirm(`Unsign ${name}?`) && act(() => api('POST', `${path}/unsign`, {}), `${name} unsigned`) }, 'Unsign'));
  return out;
}

function legend() {
  return h('p', { class: 'legend muted' }, 'Timeline:', h('span', { class: 'swatch published' }), 'published', h('span', { class: 'swatch active' }), 'active', h('span', { class: 'swatch retired' }), 'retired', ' — black line: now, red line: the next action');
}

/** Each key on one time axis: published (created) → active → retired, now, and the next action. */
function keyTable(zone, keys) {
  const times = keys.flatMap((k) => [k.created, k.activated, k.retired, k.rollover?.nextRolloverActionTime, k.nextRolloverTime]).filter(Boolean).map(Date.parse);
  const start = Math.min(...times, Date.now());
  const end = Math.max(...times, Date.now() + 60_000);
  const at = (t) => `${(((t - start) / (end - start)) * 100).toFixed(2)}%`;
  const bar = (k) => {
    const c = Date.parse(k.created);
    const a = k.activated ? Date.parse(k.activated) : undefined;
    const r = k.retired ? Date.parse(k.retired) : undefined;
    const segs = [h('div', { class: 'seg published', style: `left:${at(c)};right:${100 - parseFloat(at(a ?? r ?? end))}%` })];
    if (a) segs.push(h('div', { class: 'seg active', style: `left:${at(a)};right:${100 - parseFloat(at(r ?? end))}%` }));
    if (r) segs.push(h('div', { class: 'seg retired', style: `left:${at(r)};right:0` }));
    segs.push(h('div', { class: 'now', style: `left:${at(Date.now())}` }));
    const next = k.rollover?.nextRolloverActionTime;
    if (next) segs.push(h('div', { class: 'next', style: `left:${at(Date.parse(next))}`, title: `${k.rollover.nextRolloverAction} at ${next}` }));
    return h('div', { class: 'timeline' }, segs);
  };
  const keyPath = (k) => `/v1/zones/${encodeURIComponent(zone)}/keys/${encodeURIComponent(k.keyId)}`;
  return table(['Tag', 'Role', 'State', 'Timeline', 'Rollover step', 'Next action', 'When', ''], keys.map((k) =>
    h('tr', { class: 'key', dataset: { keyTag: k.keyTag, status: k.rollover?.currentRolloverStatus ?? 'NotRolling' } },
      h('td', { title: k.keyId }, k.keyTag), h('td', {}, k.role.toUpperCase()), h('td', {}, stateSpan(k.state)), h('td', {}, bar(k)),
      h('td', {}, k.rollover?.currentRolloverStatus ?? '—'), h('td', {}, k.rollover?.nextRolloverAction ?? '—'), h('td', {}, countdown(k.rollover?.nextRolloverActionTime ?? k.nextRolloverTime)),
      h('td', {},
        k.state === 'Active' && h('button', { type: 'button', onclick: () => act(() => api('POST', `${keyPath(k)}/roll`, {}), `rollover of ${k.keyTag} started`) }, 'Roll'),
        k.rollover?.currentRolloverStatus === 'KskWaitingForDSUpdate' && h('button', { type: 'button', onclick: () => act(() => api('POST', `${keyPath(k)}/step-rollover`, {}), `DS of ${k.keyTag} confirmed`) }, 'Step (DS is there)'),
      ),
    )));
}

/** The server's preview (the CLI's too) of signing a signed zone again, as a confirmation question. */
function signPreviewText(p) {
  const lines = [`${p.zone} is signed. Signing it again changes:`];
  if (p.changes.length === 0) lines.push('  no signing option (it is re-signed as it is)');
  for (const c of p.changes) lines.push(`  ${c.field}: ${c.from} → ${c.to}`);
  if (p.algorithmRollover) lines.push(`An algorithm rollover starts: ${p.algorithmRollover.from.join(', ')} → ${p.algorithmRollover.to}.`);
  if (p.algorithmRolloverUnderway) lines.push(`An algorithm rollover is under way (${p.algorithmRolloverUnderway.from} → ${p.algorithmRolloverUnderway.to}).`);
  if (p.keysRegenerated) lines.push('New keys of the new sizes replace the old ones at once.');
  if (p.endsUnsign) lines.push('The unsign under way is called off.');
  return `${lines.join('\n')}\n\nSign?`;
}

/** Signs after the server's dry run, asking first when the zone is signed (nothing is sent if not confirmed). */
async function signConfirmed(path, body) {
  const preview = await api('POST', path, { ...body, dryRun: true });
  if (preview.needsConfirmation && !confirm(signPreviewText(preview))) throw new Error('not signed: not confirmed');
  return api('POST', path, body);
}

/** The signing wizard's three ways: defaults, like another zone, or custom settings. */
function signForms(zone, signedZones) {
  const path = `/v1/zones/${encodeURIComponent(zone)}/sign`;
  const like = h('select', { name: 'like' }, signedZones.map((z) => h('option', { value: z.name }, z.name)));
  const algorithm = h('select', { name: 'algorithm' }, [['13', 'ECDSAP256SHA256'], ['14', 'ECDSAP384SHA384'], ['15', 'ED25519'], ['8', 'RSASHA256']].map(([v, n]) => h('option', { value: v }, n)));
  const denial = h('select', { name: 'denial' }, ['nsec3', 'nsec'].map((d) => h('option', { value: d }, d)));
  const zsk = h('input', { name: 'zskRollover', value: '90', size: 4 });
  const ksk = h('input', { name: 'kskRollover', value: '755', size: 4 });
  const rfc5011 = h('input', { type: 'checkbox', name: 'rfc5011', checked: true });
  return h('div', {},
    h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); act(() => signConfirmed(path, { defaults: true }), `${zone} signed with the defaults`); } },
      h('button', { type: 'submit' }, 'Sign with the defaults')),
    signedZones.length > 0 && h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); act(() => signConfirmed(path, { like: like.value }), `${zone} signed like ${like.value}`); } },
      h('label', {}, 'Like zone', like), h('button', { type: 'submit' }, 'Sign like it')),
    h('form', { class: 'inline', onsubmit: (e) => {
      e.preventDefault();
      const options = { algorithm: Number(algorithm.value), denial: denial.value, zskRollover: Number(zsk.value) * 86400, kskRollover: Number(ksk.value) * 86400, rfc5011: rfc5011.checked };
      act(() => signConfirmed(path, { options }), `${zone} signed`);
    } }, h('label', {}, 'Algorithm', algorithm), h('label', {}, 'Denial', denial), h('label', {}, 'ZSK rollover (days)', zsk), h('label', {}, 'KSK rollover (days)', ksk), h('label', {}, 'RFC 5011', rfc5011), h('button', { type: 'submit' }, 'Sign with these')),
  );
}

async function explainView() {
  const name = h('input', { name: 'name', id: 'explain-name', placeholder: 'www.example.com', required: true });
  const type = h('input', { name: 'type', value: 'A', size: 6 });
  const result = h('div', { id: 'explain-result' });
  const form = h('form', { class: 'inline', id: 'explain-form', onsubmit: async (e) => {
    e.preventDefault();
    result.replaceChildren(h('p', { class: 'muted' }, 'Resolving…'));
    try {
      result.replaceChildren(...chainOfTrust(await api('POST', '/v1/explain', { name: name.value.trim(), type: type.value.trim() || 'A' })));
    } catch (error) {
      result.replaceChildren(h('p', { class: 'error' }, error.message));
    }
  } }, h('label', {}, 'Name', name), h('label', {}, 'Type', type), h('button', { type: 'submit' }, 'Explain'));
  return [h('h2', {}, 'Explain: the chain of trust'), form, result];
}

/** The trace as a chain from the trust anchor down; the first link that failed is marked. */
function chainOfTrust(x) {
  const failing = x.trace.findIndex((s) => s.state === 'bogus');
  return [
    fields([['Name', `${x.name} ${x.type}`], ['Answer', `${x.rcode}, ${x.security}`], ['Reason', x.reason || '—'],
      ['EDE', x.ede.map((e) => `${e.code}: ${e.text}`).join('; ') || '—'], ['Policy', x.policy ? `${x.policy.namespace} (${x.policy.mode})` : '—']]),
    h('ol', { class: 'chain' }, x.trace.map((s, i) =>
      h('li', { class: `link-${s.state}${i === failing ? ' failing' : ''}`, dataset: { state: s.state } },
        h('span', { class: 'kind' }, s.kind), h('strong', {}, s.subject), ' ', stateSpan(s.state), i === failing ? h('span', { class: 'failing-label' }, '✗ failing link') : null,
        h('div', { class: 'muted' }, s.detail)))),
    x.answer.length > 0 && h('pre', {}, x.answer.join('\n')),
  ].filter(Boolean);
}

// ------------------------------------------------------------------------------------------
// Routing, login
// ------------------------------------------------------------------------------------------

const ROUTES = [
  [/^#\/status$/, statusView], [/^#\/trust-points$/, trustPointsView], [/^#\/policy$/, policyView],
  [/^#\/zones$/, zonesView], [/^#\/zones\/(.+)$/, (m) => zoneView(decodeURIComponent(m[1]))], [/^#\/explain$/, explainView],
];

async function render() {
  if (csrf === null) return showLogin();
  const hash = location.hash || '#/status';
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('current', hash.startsWith(a.getAttribute('href')));
  const route = ROUTES.find(([re]) => re.test(hash));
  if (!route) return void (location.hash = '#/status');
  try {
    const nodes = await route[1](route[0].exec(hash));
    view().replaceChildren(...[nodes].flat().filter(Boolean));
  } catch (error) {
    if (!(error instanceof NotLoggedIn)) view().replaceChildren(h('p', { class: 'error' }, error.message));
  }
}

/** Runs a change, says how it went, and redraws the view from the server. */
async function act(work, done) {
  try {
    await work();
    toast(done);
  } catch (error) {
    if (!(error instanceof NotLoggedIn)) toast(`failed: ${error.message}`);
  }
  await render();
}

function showLogin() {
  csrf = null;
  document.getElementById('nav').hidden = true;
  document.getElementById('login').hidden = false;
  view().replaceChildren();
}

async function start() {
  document.getElementById('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await fetch('/console/login', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: document.getElementById('token').value }) });
    const data = await r.json().catch(() => null);
    if (!r.ok) return void (document.getElementById('login-error').textContent = data?.error?.message ?? `${r.status}`);
    document.getElementById('token').value = '';
    loggedIn(data.csrf);
  });
  document.getElementById('logout').addEventListener('click', async () => {
    await fetch('/console/logout', { method: 'POST', credentials: 'same-origin' });
    showLogin();
  });
  window.addEventListener('hashchange', render);
  const r = await fetch('/console/session', { credentials: 'same-origin' });
  if (r.ok) loggedIn((await r.json()).csrf);
  else showLogin();
}

function loggedIn(token) {
  csrf = token;
  document.getElementById('login').hidden = true;
  document.getElementById('login-error').textContent = '';
  document.getElementById('nav').hidden = false;
  render();
}

start();
