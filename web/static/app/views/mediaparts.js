// mediaparts.js: small pieces shared by the picture and file views: their
// icons, URLs, sizes in pixels and in bytes, and file names.

import { html } from '../html.js';
import { getLocale, t } from '../i18n.js';

// Thumbnails fit in this box (CSS pixels; the server's are at most 480
// pixels on their longer side), and take at least the minimum, cropped,
// so that a thin picture still has room for the time over it.
const THUMB_BOX_W = 240;
const THUMB_BOX_H = 300;
const THUMB_MIN_W = 140;
const THUMB_MIN_H = 72;

function icon(children, size = 20) {
  return html`<svg class="icon" width=${size} height=${size} viewBox="0 0 24 24" fill="none"
    stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"
    aria-hidden="true" focusable="false">${children}</svg>`;
}

export const IconImage = () => icon(html`<rect x="3" y="4" width="18" height="16" rx="2" /><circle cx="9" cy="10" r="2" /><path d="M21 17l-5.5-5.5L6 20" />`);
export const IconClip = () => icon(html`<path d="M20 11.5l-8.2 8.2a5 5 0 0 1-7.1-7.1l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4L14.8 7" />`);
export const IconDownload = ({ size }) => icon(html`<path d="M12 4v11M7 10.5l5 5 5-5M5 20h14" />`, size);
export const IconFile = ({ size }) => icon(html`<path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z" /><path d="M14 3v5h5" />`, size);

export function attachmentURL(id, thumb) {
  return `/api/attachments/${encodeURIComponent(id)}${thumb ? '/thumb' : ''}`;
}

// fit scales w x h down (never up) to fit in maxW x maxH.
export function fit(w, h, maxW, maxH) {
  if (!(w > 0 && h > 0)) return [maxW, maxH];
  const s = Math.min(1, maxW / w, maxH / h);
  return [Math.max(1, Math.round(w * s)), Math.max(1, Math.round(h * s))];
}

// thumbBox is the size a picture's thumbnail takes in the list, and
// whether the picture is smaller than that box every way (then it is shown
// at its size in the middle, not blown up).
export function thumbBox(w, h) {
  const [fw, fh] = fit(w, h, THUMB_BOX_W, THUMB_BOX_H);
  return [Math.max(fw, THUMB_MIN_W), Math.max(fh, THUMB_MIN_H), fw < THUMB_MIN_W && fh < THUMB_MIN_H];
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

// formatSize writes a size for people: 512 B, 293 KB, 1.5 MB (1024-based,
// as file managers do), with the locale's digits and decimal sign.
export function formatSize(n) {
  let v = Math.max(0, Number(n) || 0);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  const digits = u === 0 || v >= 100 ? 0 : 1;
  const num = new Intl.NumberFormat(getLocale(), { maximumFractionDigits: digits }).format(v);
  return `${num} ${UNITS[u]}`;
}

// splitName cuts a file name into its stem and extension ("report" and
// ".pdf"), so that a long name can be shortened in the middle and keep the
// extension in view.
export function splitName(name) {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || dot === name.length - 1 || name.length - dot > 12) return [name, ''];
  return [name.slice(0, dot), name.slice(dot)];
}

// fileType is what kind of file the name says it is: its extension in
// capitals (PDF, ZIP), or "File".
export function fileType(name) {
  const ext = splitName(name)[1];
  return ext ? ext.slice(1).toUpperCase() : t('media.fileTypeUnknown');
}

// FileName shows a file name that shortens in the middle.
export function FileName({ name, testid }) {
  const [stem, ext] = splitName(name);
  return html`<span class="file-name" data-testid=${testid} title=${name}>
    <span class="file-stem">${stem}</span>${ext && html`<span class="file-ext">${ext}</span>`}</span>`;
}
