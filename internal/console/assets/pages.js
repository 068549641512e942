// The console's pages. Each renders from the admin API into a fresh
// element; `every` (ms) refreshes it live; `after` runs once it is shown.

const ms = v => (v == null ? '—' : v >= 1000 ? (v / 1000).toFixed(2) + ' s' : Math.round(v) + ' ms');
const pct = v => (v == null ? '—' : (v * 100).toFixed(v > 0 && v < 0.01 ? 2 : 1) + '%');
const num = v => (v == null ? '—' : Number(v).toLocaleString());
const money = (micros, cur) => (micros / 1e6).toFixed(micros && micros < 10000 ? 4 : 2) + ' ' + (cur || '');
const when = s => (s ? new Date(s).toLocaleString(document.documentElement.lang) : '—');

function table(h, head, rows, attrs) {
  return h('table', attrs || {}, h('thead', {}, h('tr', {}, head.map(c => h('th', {}, c)))), h('tbody', {}, rows));
}

function tile(h, id, label, value) {
  return h('div', { class: 'tile', id }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value));
}

function pill(h, text, kind) {
  return h('span', { class: 'pill ' + (kind || '') }, text);
}

// usage asks the ledger; null when this gateway has none (404).
async function usage(api, query) {
  try {
    return await api('/admin/usage?' + query);
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

// budgetList asks GET /admin/budgets; null when this gateway has none (an
// older gateway, or the route is missing).
async function budgetList(api) {
  try {
    return (await api('/admin/budgets')).budgets || [];
  } catch (e) {
    if (e.status === 404 || e.status === 405) return null;
    throw e;
  }
}

// budgetBars draws a bar per budget of GET /admin/budgets: spent against
// the limit in the current period (reserved: requests still running).
function budgetBars(t, h, list) {
  return list.map(b => {
    const share = b.limit_micros ? b.spent_micros / b.limit_micros : 0;
    const who = b.subject || b.match || '*';
    return h('div', { class: 'row budget', 'data-budget': b.name, title: `${when(b.period_start)} – ${when(b.period_end)}` },
      h('span', {}, `${b.scope} ${who} · ${b.name} (${b.period})`),
      h('div', { class: 'bar' + (share >= 1 ? ' over' : '') }, h('div', { style: { width: Math.min(100, share * 100) + '%' } })),
      h('span', {}, `${money(b.spent_micros, b.currency)} / ${money(b.limit_micros, b.currency)}` +
        (b.reserved_micros > 0 ? ` (+${money(b.reserved_micros, b.currency)} ${t('reserved')})` : '')));
  });
}

let stats = null;
let costToday = null, costAt = 0; // today's cost from the ledger, and when it was asked
let budgetsToday = null; // GET /admin/budgets, asked with the cost

const overview = {
  every: 2000,
  async render({ t, h, api, colors }) {
    stats = await api('/admin/stats?window=120');
    const s = stats.last_minute;
    let cost;
    // The ledger is asked every 30 s, not at every refresh: a report is a
    // query over the day's rows.
    if (Date.now() - costAt > 30000) {
      costAt = Date.now();
      costToday = await usage(api, 'group_by=day&format=json&from=' + new Date().toLocaleDateString('sv')).catch(() => null);
      budgetsToday = await budgetList(api).catch(() => null);
    }
    const today = costToday;
    if (today == null) cost = h('p', { class: 'empty', id: 'cost-empty' }, t('noUsage'));
    else if (!today.totals?.length) cost = h('p', { class: 'muted' }, t('noUsageRows'));
    else cost = h('div', { class: 'grid' }, today.totals.map(r => tile(h, null, t('costToday'), money(r.cost_micros, r.currency))));
    return h('div', {},
      h('h1', {}, t('overview')),
      h('p', { class: 'help' }, t('overviewHelp')),
      h('div', { class: 'grid' },
        tile(h, 'tile-rps', t('rps'), stats.rps.toFixed(2)),
        tile(h, 'tile-error', t('errorRate'), pct(s.error_rate)),
        tile(h, 'tile-p50', t('p50'), ms(s.p50_ms)),
        tile(h, 'tile-p95', t('p95'), ms(s.p95_ms)),
        tile(h, 'tile-p99', t('p99'), ms(s.p99_ms)),
        tile(h, 'tile-ttft', t('ttft'), ms(s.ttft_p50_ms)),
        tile(h, 'tile-inflight', t('inflight'), num(stats.in_flight)),
        tile(h, 'tile-total', t('total'), num(stats.total_requests))),
      h('div', { class: 'charts' },
        chartBox(h, colors, 'chart-rps', t('chartRps'), ['req/s']),
        chartBox(h, colors, 'chart-err', t('chartErr'), [t('errorRate')]),
        chartBox(h, colors, 'chart-lat', t('chartLat'), ['p50', 'p95', 'p99']),
        chartBox(h, colors, 'chart-ttft', t('chartTtft'), ['p50', 'p95'])),
      h('h2', {}, t('costToday')), cost,
      budgetsToday?.length ? h('div', { id: 'budgets-today' }, h('h2', {}, t('budgetsToday')), budgetBars(t, h, budgetsToday)) : null);
  },
  after({ draw, tick }) {
    const ser = stats.series, times = ser.map(p => p.t);
    draw(document.getElementById('chart-rps'), times, [{ values: ser.map(p => p.requests) }], tick);
    draw(document.getElementById('chart-err'), times, [{ values: ser.map(p => (p.requests ? p.error_rate * 100 : null)) }], v => tick(v) + '%');
    draw(document.getElementById('chart-lat'), times, ['p50_ms', 'p95_ms', 'p99_ms'].map(k => ({ values: ser.map(p => p[k]) })), tick);
    draw(document.getElementById('chart-ttft'), times, ['ttft_p50_ms', 'ttft_p95_ms'].map(k => ({ values: ser.map(p => p[k]) })), tick);
  },
};

function chartBox(h, colors, id, title, labels) {
  return h('div', { class: 'card chart' }, h('h3', {}, title),
    h('div', { class: 'legend' }, labels.map((l, i) => h('span', {}, h('i', { style: { background: colors[i] } }), l))),
    h('canvas', { id }));
}

const upstreams = {
  every: 3000,
  async render({ t, h, api, arm }) {
    const [{ upstreams: pools }, { routes }, live] = await Promise.all([api('/admin/upstreams'), api('/admin/routes'), api('/admin/stats?window=1')]);
    const out = h('div', {}, h('h1', {}, t('upstreams')), h('p', { class: 'help' }, t('upstreamsHelp')));
    for (const p of pools) {
      out.append(h('h2', {}, p.provider, ' ', pill(h, p.policy), ' ',
        p.panic ? pill(h, t('panic'), 'bad') : null, ' ',
        h('span', { class: 'muted' }, `${t('inflight')}: ${p.inflight} · ${t('panicRouted')}: ${p.panic_routed}`)));
      if (p.last_failure) out.append(h('p', { class: 'muted' }, t('lastFailure') + ': ' + p.last_failure));
      out.append(table(h, [t('node'), t('health'), t('breaker'), t('latency'), t('inflight'), t('requests'), t('failures'), t('errShort'), t('lastError')],
        p.nodes.map(n => h('tr', { 'data-node': n.label },
          h('td', {}, n.label),
          h('td', {}, pill(h, n.health, n.health === 'ok' ? 'ok' : n.health === 'failing' ? 'bad' : '')),
          h('td', {}, pill(h, n.state, n.state === 'closed' ? 'ok' : n.state === 'open' ? 'bad' : 'warn'), n.open_until ? ' → ' + when(n.open_until) : ''),
          h('td', {}, ms(n.ewma_ttfb_ms || null)),
          h('td', {}, num(n.inflight)), h('td', {}, num(n.requests)), h('td', {}, num(n.failures)),
          h('td', {}, pct(n.error_rate)), h('td', { class: 'muted' }, n.last_error || '')))));
    }
    out.append(h('h2', {}, t('retries')));
    const retried = live.recent_retries || [];
    out.append(retried.length ? table(h, ['', t('status'), t('attempts')], retried.map(r => h('tr', {},
      h('td', {}, when(r.at * 1000)), h('td', {}, r.status), h('td', {}, r.attempts.join(' → ')))), { id: 'retries' })
      : h('p', { class: 'muted' }, t('noRetries')));
    out.append(h('h2', {}, t('routes')));
    if (!routes.length) {
      out.append(h('p', { class: 'empty' }, t('noRoutes')));
      return out;
    }
    const rows = [];
    for (const r of routes) {
      const hasCanary = r.targets.some(x => x.canary);
      r.targets.forEach((x, i) => {
        const actions = h('td', {});
        if (i === 0 && hasCanary) {
          const go = action => api(`/admin/routes/${encodeURIComponent(r.route)}/${action}`, { method: 'POST' });
          const promote = h('button', { class: 'promote' }, t('promote'));
          const rollback = h('button', { class: 'rollback danger' }, t('rollback'));
          arm(promote, () => go('promote'));
          arm(rollback, () => go('rollback'));
          actions.append(promote, ' ', rollback);
        }
        const ev = r.last_event;
        rows.push(h('tr', { 'data-route': r.route, 'data-target': x.name },
          h('td', {}, i === 0 ? r.route : ''), h('td', {}, x.name, x.canary ? [' ', pill(h, t('canary'), 'warn')] : null),
          h('td', { class: 'weight' }, x.weight), h('td', {}, x.configured_weight), h('td', {}, pct(x.error_rate)), h('td', {}, ms(x.p95_ms || null)),
          h('td', { class: 'muted' }, i === 0 && ev ? `${ev.action} ${ev.target || ''} ${when(ev.time)} ${ev.reason || ''}` : ''), actions));
      });
    }
    out.append(table(h, [t('route'), t('target'), t('weight'), t('configured'), t('errShort'), t('p95ms'), t('lastEvent'), t('actions')], rows, { id: 'routes' }));
    return out;
  },
};

const dims = ['model', 'team', 'tag', 'key', 'session', 'day', 'provider'];
let groupBy = 'model';

const usagePage = {
  async render({ t, h, api, showError, refresh }) {
    const out = h('div', {}, h('h1', {}, t('usage')), h('p', { class: 'help' }, t('usageHelp')));
    const report = await usage(api, 'format=json&group_by=' + groupBy);
    if (report == null) {
      out.append(h('p', { class: 'empty', id: 'usage-empty' }, t('noUsage')));
      return out;
    }
    const select = h('select', { id: 'group-by', onchange: e => { groupBy = e.target.value; refresh(); } },
      dims.map(d => h('option', { value: d, selected: d === groupBy }, t(d === 'key' ? 'keyCol' : d))));
    const csv = h('button', { onclick: () => exportCSV(api, showError) }, t('exportCsv'));
    out.append(h('div', { class: 'row' }, t('groupBy'), select, csv));
    const rows = (report.rows || []).map(r => h('tr', {},
      h('td', {}, Object.values(r.group || {}).join(' / ') || '—'), h('td', {}, num(r.requests)),
      h('td', {}, num(r.input_tokens)), h('td', {}, num(r.output_tokens)), h('td', {}, num(r.cache_read_tokens)),
      h('td', {}, money(r.cost_micros, r.currency))));
    out.append(rows.length ? table(h, [t(groupBy === 'key' ? 'keyCol' : groupBy), t('requests'), t('inputTokens'), t('outputTokens'), t('cacheRead'), t('cost')], rows)
      : h('p', { class: 'empty' }, t('noUsageRows')));
    out.append(await alerts(t, h, api));
    return out;
  },
};

async function exportCSV(api, showError) {
  try {
    const res = await api('/admin/usage?format=csv&group_by=' + groupBy, { raw: true });
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = `ferry-usage-${groupBy}.csv`;
    a.click();
    URL.revokeObjectURL(url);
  } catch (e) { showError(e); }
}

// alerts draws a bar per budget from GET /admin/budgets, and lists the
// budget alerts sent. A gateway without /admin/budgets gets its bars from
// the newest alert about each budget instead.
async function alerts(t, h, api) {
  const budgets = await budgetList(api).catch(() => null);
  let list;
  try { list = (await api('/admin/alerts')).deliveries || []; } catch { list = null; }
  if (list == null && budgets == null) return h('div', {});
  const out = h('div', { id: 'budgets' }, h('h2', {}, t('budgets')));
  if (budgets != null) {
    out.append(...(budgets.length ? budgetBars(t, h, budgets) : [h('p', { class: 'muted' }, t('noBudgets'))]));
  }
  if (list == null) return out;
  const seen = new Map();
  for (const d of list) {
    const a = d.alert;
    if (a.budget && !seen.has(a.scope + a.subject + a.budget)) seen.set(a.scope + a.subject + a.budget, a);
  }
  for (const a of budgets == null ? seen.values() : []) {
    const share = a.limit_micros ? a.spent_micros / a.limit_micros : 0;
    out.append(h('div', { class: 'row' }, h('span', {}, `${a.scope} ${a.subject} · ${a.budget} (${a.period || ''})`),
      h('div', { class: 'bar' + (share >= 1 ? ' over' : '') }, h('div', { style: { width: Math.min(100, share * 100) + '%' } })),
      h('span', {}, `${money(a.spent_micros, a.currency)} / ${money(a.limit_micros, a.currency)}`)));
  }
  out.append(h('h2', {}, t('alerts')));
  out.append(list.length ? table(h, ['', t('status'), 'webhook', ''], list.slice(0, 50).map(d => h('tr', {},
    h('td', {}, when(d.at)), h('td', {}, pill(h, d.ok ? 'ok' : 'failed', d.ok ? 'ok' : 'bad')), h('td', {}, d.webhook),
    h('td', {}, `${d.alert.kind} ${d.alert.scope} ${d.alert.subject} ${d.alert.percent ? d.alert.percent + '%' : ''}`)))) : h('p', { class: 'muted' }, t('noAlerts')));
  return out;
}

let fresh = null; // the key just made or rotated, shown once

const keysPage = {
  async render({ t, h, api, arm, refresh }) {
    const out = h('div', {}, h('h1', {}, t('keys')), h('p', { class: 'help' }, t('keysHelp')));
    let list;
    try { list = (await api('/admin/keys')).keys; } catch (e) {
      if (e.status === 403) { out.append(h('p', { class: 'empty' }, t('needsAdmin'))); return out; }
      throw e;
    }
    const form = h('form', { class: 'row', id: 'key-form' },
      h('input', { id: 'key-name', placeholder: t('name'), required: true }),
      h('select', { id: 'key-role' }, ['user', 'viewer', 'admin'].map(r => h('option', { value: r }, r))),
      h('input', { id: 'key-team', placeholder: t('team') }), h('input', { id: 'key-tag', placeholder: t('tag') }),
      h('input', { id: 'key-models', placeholder: t('modelsHint'), size: 28 }), h('input', { id: 'key-routes', placeholder: t('routesHint'), size: 28 }),
      h('label', {}, h('input', { id: 'key-signing', type: 'checkbox' }), ' ', t('signing')),
      h('button', { class: 'primary', id: 'key-create', type: 'submit' }, t('create')));
    const val = id => form.querySelector('#' + id).value.trim();
    const listOf = id => val(id) ? val(id).split(',').map(s => s.trim()).filter(Boolean) : undefined;
    form.addEventListener('submit', async ev => {
      ev.preventDefault();
      const body = { name: val('key-name'), role: val('key-role') };
      if (val('key-team')) body.team = val('key-team');
      if (val('key-tag')) body.tag = val('key-tag');
      if (listOf('key-models')) body.models = listOf('key-models');
      if (listOf('key-routes')) body.routes = listOf('key-routes');
      if (form.querySelector('#key-signing').checked) body.signing = true;
      try { fresh = await api('/admin/keys', { method: 'POST', body }); refresh(); } catch (e) { document.getElementById('page-error').textContent = t('error') + ': ' + e.message; }
    });
    out.append(form);
    if (fresh) {
      const shown = fresh;
      fresh = null; // once: the next render forgets it
      out.append(h('div', { class: 'card' }, h('p', {}, h('b', {}, shown.name), ' — ', t('newKey')),
        h('div', { class: 'secret', id: 'new-key' }, shown.key), h('p', {}, h('button', { onclick: () => navigator.clipboard?.writeText(shown.key) }, t('copy'))),
        shown.signing_secret ? [h('p', {}, t('newSigningSecret').replace('{id}', shown.id)), h('div', { class: 'secret', id: 'new-signing-secret' }, shown.signing_secret),
          h('p', {}, h('button', { onclick: () => navigator.clipboard?.writeText(shown.signing_secret) }, t('copy')))] : null));
    }
    if (!list.length) { out.append(h('p', { class: 'empty' }, t('noKeys'))); return out; }
    out.append(table(h, [t('name'), t('prefix'), t('role'), t('team'), t('tag'), t('models'), t('routes'), t('status'), t('created'), t('actions')],
      list.map(k => {
        const rotate = h('button', { class: 'rotate' }, t('rotate')), revoke = h('button', { class: 'danger revoke' }, t('revoke'));
        const ref = encodeURIComponent(k.id);
        arm(rotate, async () => { const r = await api(`/admin/keys/${ref}/rotate`, { method: 'POST', body: {} }); fresh = r; });
        arm(revoke, () => api(`/admin/keys/${ref}/revoke`, { method: 'POST' }));
        const live = k.status === 'active';
        return h('tr', { 'data-key': k.name },
          h('td', {}, k.name), h('td', {}, h('code', {}, k.prefix)), h('td', {}, k.role), h('td', {}, k.team || ''), h('td', {}, k.tag || ''),
          h('td', {}, (k.models || []).join(', ') || '*'), h('td', {}, (k.routes || []).join(', ') || '*'),
          h('td', { class: 'status' }, pill(h, k.status, live ? 'ok' : 'bad')), h('td', {}, when(k.created_at)),
          h('td', {}, live ? [rotate, ' ', revoke] : null));
      }), { id: 'keys' }));
    return out;
  },
};

const f2 = v => (v == null ? '—' : v.toFixed(2));

const shadowPage = {
  every: 5000,
  async render({ t, h, api }) {
    const s = await api('/admin/shadow');
    const out = h('div', {}, h('h1', {}, t('shadow')), h('p', { class: 'help' }, t('shadowHelp')),
      h('p', { class: 'muted' }, `${t('queue')}: ${s.queue?.length ?? 0}/${s.queue?.capacity ?? 0} · ${t('dropped')}: ${s.queue?.dropped ?? s.dropped ?? 0}`));
    const targets = s.targets || [];
    if (!targets.length) { out.append(h('p', { class: 'empty' }, t('noShadow'))); return out; }
    out.append(table(h, [t('route'), t('candidate'), t('pairs'), t('errShort'), t('agreement'), t('similarity'), t('tools'), t('latRatio'), t('ttfbRatio'), t('tokDelta')],
      targets.map(x => h('tr', {}, h('td', {}, x.route), h('td', {}, x.shadow), h('td', {}, num(x.pairs)), h('td', {}, pct(x.error_rate)),
        h('td', {}, pct(x.agreement)), h('td', {}, pct(x.similarity)), h('td', {}, pct(x.tool_agreement)),
        h('td', {}, x.latency_ratio ? `${f2(x.latency_ratio.p50)} / ${f2(x.latency_ratio.p95)}` : '—'),
        h('td', {}, f2(x.ttfb_ratio?.p50)),
        h('td', {}, `${x.input_tokens_delta_pct == null ? '—' : x.input_tokens_delta_pct.toFixed(1) + '%'} / ${x.output_tokens_delta_pct == null ? '—' : x.output_tokens_delta_pct.toFixed(1) + '%'}`)))));
    return out;
  },
};

const configPage = {
  async render({ t, h, api }) {
    const c = await api('/admin/config');
    return h('div', {}, h('h1', {}, t('config')), h('p', { class: 'help' }, t('configHelp')),
      h('p', {}, `${t('loadedAt')}: ${when(c.loaded_at)}`),
      h('p', { id: 'last-reload' }, `${t('lastReload')}: `, lastReload(t, h, c.last_reload)),
      h('pre', { id: 'config' }, JSON.stringify(c.config, null, 2)));
  },
};

// lastReload describes GET /admin/config's last_reload: when, from where,
// and "ok" or the refusal's reason.
function lastReload(t, h, r) {
  if (!r) return t('noReload');
  const ok = r.result === 'ok';
  return h('span', {}, `${when(r.at)} · ${t('reloadSource')?.[r.source] || r.source} · `,
    pill(h, r.result, ok ? 'ok' : 'bad'));
}

export const pages = { overview, upstreams, usage: usagePage, keys: keysPage, shadow: shadowPage, config: configPage };
