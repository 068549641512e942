// Ferry's console: a login, six pages, live charts. It calls the JSON admin
// API of the listener it was served from, with the operator's key as a
// bearer token; nothing is loaded from anywhere else.

import { draw, colors, tick } from './chart.js';
import { initialLang, translator } from './i18n.js';
import { pages } from './pages.js';

const state = {
  // null: logged out. "" is a login too: an admin API without admin.token
  // or admin_key (loopback only) takes requests without a key.
  key: sessionStorage.getItem('ferry.key'),
  lang: initialLang(),
  page: 'overview',
  timer: 0,
  armed: null, // a button waiting for its confirming click: refreshes wait
};
let t = translator(state.lang);
const $ = id => document.getElementById(id);

// h builds an element: h('td', {class: 'x'}, 'text', child, ...).
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'style') Object.assign(el.style, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat()) if (k != null) el.append(k instanceof Node ? k : String(k));
  return el;
}

// api calls the admin API; it throws an Error carrying the API's message
// and status.
export async function api(path, opts = {}) {
  const res = await fetch(path, {
    method: opts.method || 'GET',
    headers: { ...(state.key ? { Authorization: 'Bearer ' + state.key } : {}), ...(opts.body ? { 'Content-Type': 'application/json' } : {}) },
    body: opts.body ? JSON.stringify(opts.body) : undefined,
    cache: 'no-store',
  });
  if (opts.raw && res.ok) return res;
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (!res.ok) {
    const msg = body?.error?.message || (typeof body?.error === 'string' ? body.error : '') || `HTTP ${res.status}`;
    const err = new Error(msg);
    err.status = res.status;
    throw err;
  }
  return body;
}

// arm makes a dangerous button ask for a second click within 4 s.
export function arm(button, action) {
  button.addEventListener('click', async () => {
    if (state.armed !== button) {
      disarm();
      state.armed = button;
      button.dataset.label = button.textContent;
      button.textContent = t('confirm');
      button.classList.add('confirm');
      button.dataset.timer = setTimeout(disarm, 4000);
      return;
    }
    disarm();
    button.disabled = true;
    try { await action(); } catch (e) { showError(e); }
    refresh();
  });
}

function disarm() {
  const b = state.armed;
  if (!b) return;
  clearTimeout(Number(b.dataset.timer));
  b.textContent = b.dataset.label;
  b.classList.remove('confirm');
  state.armed = null;
}

export function showError(e) {
  const box = $('page-error');
  if (box) box.textContent = e ? t('error') + ': ' + e.message : '';
}

const ctx = { t: k => t(k), h, api, arm, draw, colors, tick, showError, refresh: () => refresh() };

function renderChrome() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  $('lang').textContent = t('switchTo');
  $('logout').textContent = t('logout');
  $('login-title').textContent = t('title');
  $('login-help').textContent = t('loginHelp');
  $('login-key').placeholder = t('key');
  $('login-submit').textContent = t('login');
  const nav = $('nav');
  nav.replaceChildren();
  if (state.key == null) return;
  for (const name of Object.keys(pages)) {
    nav.append(h('a', { href: '#/' + name, 'data-page': name, class: name === state.page ? 'active' : null }, t(name)));
  }
}

async function refresh() {
  clearTimeout(state.timer);
  if (state.key == null) return;
  const page = pages[state.page];
  if (state.armed) { state.timer = setTimeout(refresh, 1000); return; }
  const root = $('page');
  try {
    const view = await page.render(ctx);
    if (state.armed) return; // a click came in while loading
    root.replaceChildren(h('p', { id: 'page-error', class: 'error' }), view);
    root.dataset.loaded = state.page;
    page.after?.(ctx);
  } catch (e) {
    if (e.status === 401) { logout(); return; }
    root.replaceChildren(h('p', { id: 'page-error', class: 'error' }, t('error') + ': ' + e.message));
  }
  if (page.every) state.timer = setTimeout(refresh, page.every);
}

function route() {
  const name = location.hash.replace(/^#\/?/, '');
  state.page = pages[name] ? name : 'overview';
  disarm();
  renderChrome();
  refresh();
}

function showLoggedIn(on) {
  $('login').hidden = on;
  $('page').hidden = !on;
  $('logout').hidden = !on;
}

function logout() {
  state.key = null;
  sessionStorage.removeItem('ferry.key');
  clearTimeout(state.timer);
  $('page').replaceChildren();
  showLoggedIn(false);
  renderChrome();
}

$('login-form').addEventListener('submit', async ev => {
  ev.preventDefault();
  state.key = $('login-key').value.trim();
  $('login-error').textContent = '';
  try {
    await api('/admin/stats?window=1');
  } catch (e) {
    $('login-error').textContent = t('loginBad') + e.message;
    state.key = null;
    return;
  }
  sessionStorage.setItem('ferry.key', state.key);
  $('login-key').value = '';
  showLoggedIn(true);
  route();
});

$('lang').addEventListener('click', () => {
  state.lang = state.lang === 'zh' ? 'en' : 'zh';
  localStorage.setItem('ferry.lang', state.lang);
  t = translator(state.lang);
  renderChrome();
  refresh();
});

$('logout').addEventListener('click', logout);
window.addEventListener('hashchange', route);

showLoggedIn(state.key != null);
renderChrome();
if (state.key != null) route();
