// i18n.js: message catalogs, the chosen locale, and dates and times through
// Intl. Every word the user sees comes from static/i18n/<locale>.json.

export const LOCALES = ['en', 'zh-CN'];
const STORAGE_KEY = 'parley.lang';

let locale = 'en';
let catalog = {};
const listeners = new Set();

// pickLocale prefers the user's explicit choice, then the browser's
// languages in order; any Chinese becomes Simplified Chinese.
export function pickLocale() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (LOCALES.includes(saved)) return saved;
  } catch { /* storage may be disabled */ }
  const wanted = navigator.languages?.length ? navigator.languages : [navigator.language || 'en'];
  for (const tag of wanted) {
    const lower = String(tag).toLowerCase();
    if (lower.startsWith('zh')) return 'zh-CN';
    if (lower.startsWith('en')) return 'en';
  }
  return 'en';
}

async function loadCatalog(tag) {
  const res = await fetch(`/static/i18n/${tag}.json`, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`catalog ${tag}: HTTP ${res.status}`);
  return res.json();
}

// initI18n loads the catalog of the preferred locale (English if it fails).
export async function initI18n() {
  const tag = pickLocale();
  try {
    catalog = await loadCatalog(tag);
    locale = tag;
  } catch {
    catalog = await loadCatalog('en');
    locale = 'en';
  }
  document.documentElement.lang = locale;
}

// setLocale switches the language, remembers the choice and re-renders.
export async function setLocale(tag) {
  if (!LOCALES.includes(tag) || tag === locale) return;
  catalog = await loadCatalog(tag);
  locale = tag;
  document.documentElement.lang = locale;
  try { localStorage.setItem(STORAGE_KEY, tag); } catch { /* not fatal */ }
  formatters.clear();
  for (const fn of listeners) fn(locale);
}

export function getLocale() { return locale; }

export function onLocaleChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

// t returns the text of key with {name} placeholders filled from params.
// A missing key shows itself, which the catalog tests make impossible.
export function t(key, params) {
  const text = catalog[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

// has reports whether the catalog has a text for key.
export function has(key) { return key in catalog; }

// errorText turns an error from api.js or live.js into a sentence: the
// localised text of its code when the catalog has one, else the server's
// message, else a generic one.
export function errorText(err) {
  const code = err?.code;
  if (code && has(`error.${code}`)) return t(`error.${code}`);
  if (err?.message && err.status) return err.message;
  return t('error.internal');
}

// The other locale, for the one-click language switch.
export function otherLocale() { return locale === 'en' ? 'zh-CN' : 'en'; }

const formatters = new Map();
function fmt(name, options) {
  let f = formatters.get(name);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, options);
    formatters.set(name, f);
  }
  return f;
}

function startOfDay(d) { return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime(); }
const DAY = 24 * 60 * 60 * 1000;

export function formatTime(date) {
  return fmt('time', { hour: 'numeric', minute: '2-digit' }).format(new Date(date));
}

export function formatDateTime(date) {
  return fmt('datetime', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(date));
}

// formatDay labels a day separator: Today, Yesterday, a weekday and date
// this year, or a full date.
export function formatDay(date, now = new Date()) {
  const d = new Date(date);
  const days = Math.round((startOfDay(now) - startOfDay(d)) / DAY);
  if (days === 0) return t('day.today');
  if (days === 1) return t('day.yesterday');
  if (d.getFullYear() === now.getFullYear()) {
    return fmt('dayThisYear', { weekday: 'short', month: 'long', day: 'numeric' }).format(d);
  }
  return fmt('dayLong', { dateStyle: 'long' }).format(d);
}

// formatListTime is the short time in the chat list: a time today, a
// weekday this week, else a date.
export function formatListTime(date, now = new Date()) {
  const d = new Date(date);
  const days = Math.round((startOfDay(now) - startOfDay(d)) / DAY);
  if (days === 0) return formatTime(d);
  if (days === 1) return t('day.yesterday');
  if (days > 1 && days < 7) return fmt('weekday', { weekday: 'short' }).format(d);
  if (d.getFullYear() === now.getFullYear()) return fmt('monthDay', { month: 'numeric', day: 'numeric' }).format(d);
  return fmt('shortDate', { year: '2-digit', month: 'numeric', day: 'numeric' }).format(d);
}

export function sameDay(a, b) {
  return startOfDay(new Date(a)) === startOfDay(new Date(b));
}

// compareNames sorts people by display name in the current locale.
export function compareNames(a, b) {
  return a.localeCompare(b, locale, { sensitivity: 'base' });
}

// formatUntil says when something ends: a time today, else a date and time.
export function formatUntil(date, now = new Date()) {
  return sameDay(date, now) ? formatTime(date) : formatDateTime(date);
}

// formatDuration says how long ms is in whole days, hours or minutes.
export function formatDuration(ms) {
  const minutes = Math.max(1, Math.round(ms / 60000));
  if (minutes % 1440 === 0) {
    const n = minutes / 1440;
    return n === 1 ? t('duration.day') : t('duration.days', { n });
  }
  if (minutes % 60 === 0) {
    const n = minutes / 60;
    return n === 1 ? t('duration.hour') : t('duration.hours', { n });
  }
  return minutes === 1 ? t('duration.minute') : t('duration.minutes', { n: minutes });
}

const HAN_THEN_LATIN = /([\u3400-\u4dbf\u4e00-\u9fff])([A-Za-z0-9@])/g;
const LATIN_THEN_HAN = /([A-Za-z0-9%])([\u3400-\u4dbf\u4e00-\u9fff])/g;

// spaceMixed puts a space between Chinese and Latin letters or digits, as
// Chinese typesetting does ("Bob 被你禁言 10 分钟"), for texts built from
// names that may be either ("你被张三禁言").
export function spaceMixed(text) {
  if (!locale.startsWith('zh')) return text;
  return text.replace(HAN_THEN_LATIN, '$1 $2').replace(LATIN_THEN_HAN, '$1 $2');
}
