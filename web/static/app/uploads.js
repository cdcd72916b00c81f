// uploads.js: pictures and files on their way to the server. Each upload
// is one POST of the raw bytes (docs/API.md, "Pictures and files") made
// with XMLHttpRequest, which reports the upload's progress (fetch does
// not). Until the server answers, the upload shows in its chat as a pending
// bubble with a progress bar; cancelling aborts the request, and the server
// discards what it got. A retry reuses the upload's client_id, so the
// server stores the message at most once.

import { ApiError } from './api.js';
import { LASTING_REFUSALS, chatOf, markReadIfVisible, mergeMessages, newClientId, refreshSummary } from './chats.js';
import { noteMutedRefusal } from './groups.js';
import { errorText, formatUntil, getLocale, t } from './i18n.js';
import { emit, state } from './state.js';

// IMAGE_TYPES are the pictures the server takes; anything else dropped or
// pasted goes as a file where files are allowed.
export const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

// FINAL_REFUSALS are the upload errors that a retry cannot cure.
const FINAL_REFUSALS = new Set(['not_an_image', 'image_too_large', 'payload_too_large', 'forbidden', 'invalid']);

const MAX_PARALLEL = 3; // uploads at once, to different chats; the rest wait their turn
const PREVIEW_SIDE = 480; // pixels of the local preview's longer side
const PREVIEW_MAX_BYTES = 20 << 20; // no preview is drawn for larger pictures

// uploads: conversation id -> [Upload], in the order they were chosen. An
// Upload is {key, clientId, owner, conversationId, kind: image|file, file,
// name, size, loaded, status: queued|sending|failed, error, preview:
// {url, width, height} | null}; it is replaced, never mutated, on change.
const uploads = new Map();
const requests = new Map(); // key -> XMLHttpRequest in flight
let keySeq = 0;

// filesAllowed says whether files (not only pictures) may be sent to the
// conversation: one-to-one and temporary chats, not groups.
export function filesAllowed(s) {
  return s?.kind === 'direct' || s?.kind === 'temp';
}

// uploadsIn lists the signed-in user's uploads to conversation id.
export function uploadsIn(id) {
  const list = uploads.get(id);
  if (!list) return [];
  return list.filter((u) => u.owner === state.me?.id);
}

function update(u, patch) {
  const list = uploads.get(u.conversationId);
  if (!list) return null;
  const i = list.findIndex((x) => x.key === u.key);
  if (i < 0) return null;
  const next = { ...list[i], ...patch };
  const copy = list.slice();
  copy[i] = next;
  uploads.set(u.conversationId, copy);
  emit();
  return next;
}

function remove(u) {
  const list = uploads.get(u.conversationId);
  if (!list) return;
  const rest = list.filter((x) => x.key !== u.key);
  if (rest.length) uploads.set(u.conversationId, rest);
  else uploads.delete(u.conversationId);
  emit();
}

function find(id, key) {
  return uploads.get(id)?.find((u) => u.key === key) ?? null;
}

// kindFor decides how a dropped or pasted file goes: a picture the server
// takes as a picture, anything else as a file (null where files are not
// allowed).
export function kindFor(file, allowFiles) {
  if (IMAGE_TYPES.has(file.type)) return 'image';
  return allowFiles ? 'file' : null;
}

// sendFiles uploads each file to conversation id as kind (image or file),
// showing each at once as a pending bubble.
export function sendFiles(id, files, kind) {
  forgetOthers();
  const me = state.me?.id;
  const added = [...files].map((file) => ({
    key: `u${++keySeq}`, clientId: newClientId(), owner: me, conversationId: id, kind, file,
    name: file.name || (kind === 'image' ? 'image' : 'file'), size: file.size, loaded: 0,
    status: 'queued', error: null, preview: null,
  }));
  if (!added.length) return;
  uploads.set(id, [...(uploads.get(id) ?? []), ...added]);
  emit();
  for (const u of added) if (kind === 'image') makePreview(u);
  pump();
}

// cancelUpload aborts an upload (the server discards what it received) or
// forgets a failed one.
export function cancelUpload(id, key) {
  const u = find(id, key);
  if (!u) return;
  requests.get(key)?.abort();
  requests.delete(key);
  remove(u);
  pump();
}

// retryUpload sends a failed upload again, with the same client_id.
export function retryUpload(id, key) {
  const u = find(id, key);
  if (!u || u.status !== 'failed') return;
  update(u, { status: 'queued', error: null, loaded: 0 });
  pump();
}

// mayRetry says whether a failed upload is worth another try.
export function mayRetry(u) {
  const code = u.error?.code;
  return u.status === 'failed' && (code === 'muted' || (!FINAL_REFUSALS.has(code) && !LASTING_REFUSALS.has(code)));
}

// forgetOthers drops (and aborts) the uploads of a user who signed out.
function forgetOthers() {
  const me = state.me?.id;
  for (const [id, list] of uploads) {
    for (const u of list) {
      if (u.owner === me) continue;
      requests.get(u.key)?.abort();
      requests.delete(u.key);
    }
    const mine = list.filter((u) => u.owner === me);
    if (mine.length) uploads.set(id, mine);
    else uploads.delete(id);
  }
}

// pump starts queued uploads: one at a time in each conversation, so that
// pictures chosen together arrive in the order they were chosen, and at
// most MAX_PARALLEL in all.
function pump() {
  let running = requests.size;
  for (const list of uploads.values()) {
    if (list.some((u) => u.status === 'sending')) continue;
    const next = list.find((u) => u.status === 'queued' && u.owner === state.me?.id);
    if (!next) continue;
    if (running >= MAX_PARALLEL) return;
    start(next);
    running++;
  }
}

function uploadURL(u) {
  const q = new URLSearchParams({ client_id: u.clientId, kind: u.kind, name: u.name });
  return `/api/conversations/${u.conversationId}/attachments?${q}`;
}

function start(u0) {
  const u = update(u0, { status: 'sending', loaded: 0 });
  if (!u) return;
  const xhr = new XMLHttpRequest();
  requests.set(u.key, xhr);
  xhr.open('POST', uploadURL(u));
  xhr.setRequestHeader('Accept', 'application/json');
  // The server decides the type from the bytes; never multipart here.
  xhr.setRequestHeader('Content-Type', 'application/octet-stream');
  let shown = -1;
  xhr.upload.onprogress = (e) => {
    if (!e.lengthComputable) return;
    const pct = Math.floor((e.loaded / e.total) * 100);
    if (pct === shown) return; // one re-render per percent
    shown = pct;
    const cur = find(u.conversationId, u.key);
    if (cur && cur.status === 'sending') update(cur, { loaded: e.loaded });
  };
  xhr.onload = () => finish(u, xhr);
  xhr.onerror = () => fail(u, new ApiError(0, 'network', 'the upload did not reach the server'));
  xhr.ontimeout = xhr.onerror;
  xhr.send(u.file);
}

function parse(xhr) {
  try {
    return JSON.parse(xhr.responseText);
  } catch {
    return null;
  }
}

function finish(u, xhr) {
  requests.delete(u.key);
  const data = parse(xhr);
  if (xhr.status >= 200 && xhr.status < 300 && data?.message) {
    const still = find(u.conversationId, u.key);
    if (still) remove(still);
    if (u.owner === state.me?.id) {
      const id = u.conversationId;
      chatOf(id).refusal = null;
      mergeMessages(id, [data.message]);
      markReadIfVisible(id);
    }
    pump();
    return;
  }
  const e = data?.error || {};
  const code = e.code || (xhr.status >= 500 ? 'unavailable' : 'invalid');
  fail(u, new ApiError(xhr.status, code, e.message || xhr.statusText, xhr.getResponseHeader('Retry-After'), e.until));
}

function fail(u, err) {
  requests.delete(u.key);
  const cur = find(u.conversationId, u.key);
  if (cur) update(cur, { status: 'failed', error: err });
  if (u.owner === state.me?.id) {
    const id = u.conversationId;
    if (LASTING_REFUSALS.has(err.code)) chatOf(id).refusal = { code: err.code, until: err.until ?? null };
    if (err.code === 'muted') noteMutedRefusal(id, err);
    if (LASTING_REFUSALS.has(err.code)) refreshSummary(id);
  }
  emit();
  pump();
}

// makePreview draws a small copy of a picture being sent, as a data: URL
// (the page's CSP allows data: images, not blob: ones), so that the pending
// bubble shows the picture at its shape. Pictures the browser cannot
// decode get none.
async function makePreview(u) {
  if (u.size > PREVIEW_MAX_BYTES || typeof createImageBitmap !== 'function') return;
  try {
    const bmp = await createImageBitmap(u.file);
    const scale = Math.min(1, PREVIEW_SIDE / Math.max(bmp.width, bmp.height));
    const w = Math.max(1, Math.round(bmp.width * scale));
    const h = Math.max(1, Math.round(bmp.height * scale));
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    canvas.getContext('2d').drawImage(bmp, 0, 0, w, h);
    bmp.close();
    const url = canvas.toDataURL(u.file.type === 'image/jpeg' ? 'image/jpeg' : 'image/png', 0.85);
    const cur = find(u.conversationId, u.key);
    if (cur) update(cur, { preview: { url, width: w, height: h } });
  } catch {
    // not a picture this browser decodes; the server will say so
  }
}

// uploadErrorText says why an upload failed, in the user's language:
// the limits the server names are put into the sentence.
export function uploadErrorText(err) {
  const msg = err?.message ?? '';
  switch (err?.code) {
    case 'not_an_image':
      return t('media.error.notAnImage');
    case 'image_too_large': {
      const mp = Number(/limit is ([\d.]+) megapixels/.exec(msg)?.[1]);
      if (!(mp > 0)) return t('media.error.imageTooLarge');
      const pixels = new Intl.NumberFormat(getLocale(), { notation: 'compact', maximumFractionDigits: 1 }).format(mp * 1e6);
      return t('media.error.imageTooLargeLimit', { pixels });
    }
    case 'payload_too_large': {
      const limit = /at most (.+)$/.exec(msg)?.[1];
      if (!limit) return msg || t('media.error.tooBig');
      return /^a file/.test(msg) ? t('media.error.fileTooBig', { limit }) : t('media.error.imageTooBig', { limit });
    }
    case 'forbidden':
      return t('media.error.filesOnlyDirect');
    case 'muted':
      return err.until ? t('mute.youUntil', { time: formatUntil(err.until) }) : errorText(err);
    default:
      return errorText(err);
  }
}
