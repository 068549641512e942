// The console's words in English and Chinese, kept as data in locales/en.json
// and locales/zh.json (one key each, the same keys in both). The browser's
// language picks one (zh* is Chinese) until the operator switches; the
// choice is kept.
//
// Both tables are fetched once, before app.js runs (top-level await), so
// that switching language and every t(key) stay synchronous.

const langs = ['en', 'zh'];

async function load(lang) {
  const res = await fetch(new URL(`locales/${lang}.json`, import.meta.url));
  if (!res.ok) throw new Error(`locales/${lang}.json: ${res.status}`);
  return res.json();
}

const tables = await Promise.all(langs.map(load));
const words = Object.fromEntries(langs.map((lang, i) => [lang, tables[i]]));
const en = words.en;

export function initialLang() {
  const saved = localStorage.getItem('ferry.lang');
  if (langs.includes(saved)) return saved;
  return (navigator.language || '').toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export function translator(lang) {
  const dict = words[lang] || en;
  return key => dict[key] ?? en[key] ?? key;
}
