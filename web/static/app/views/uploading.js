// uploading.js: the pictures and files the user is sending to the open
// chat, below its messages until the server has them: a preview or a file
// card, a progress bar and Cancel; after a failure, why, with Retry (the
// same client_id) where a retry can help, and Discard.

import { useLayoutEffect, useRef } from 'preact/hooks';
import { html } from '../html.js';
import { t } from '../i18n.js';
import { state } from '../state.js';
import { cancelUpload, mayRetry, retryUpload, uploadErrorText, uploadsIn } from '../uploads.js';
import { IconAlert } from './icons.js';
import { FileName, IconFile, IconImage, fileType, formatSize, thumbBox } from './mediaparts.js';

function percentOf(u) {
  if (u.status !== 'sending' || !u.size) return 0;
  return Math.min(100, Math.floor((u.loaded / u.size) * 100));
}

function Preview({ u }) {
  if (u.kind === 'file') {
    return html`<div class="file-card">
      <span class="file-icon" aria-hidden="true"><${IconFile} size=${28} /></span>
      <span class="file-info">
        <${FileName} name=${u.name} />
        <span class="file-sub">${formatSize(u.size)} · ${fileType(u.name)}</span>
      </span>
    </div>`;
  }
  if (!u.preview) {
    return html`<div class="upload-placeholder"><${IconImage} /><${FileName} name=${u.name} /></div>`;
  }
  const [w, h, small] = thumbBox(u.preview.width, u.preview.height);
  return html`<img class="thumb ${small ? 'thumb-small' : ''}" src=${u.preview.url} width=${w} height=${h} alt=${u.name} />`;
}

function PendingUpload({ u, first }) {
  const box = useRef(null);
  // A new upload comes into view, as a sent message does.
  useLayoutEffect(() => { box.current?.scrollIntoView({ block: 'nearest' }); }, []);
  const pct = percentOf(u);
  const failed = u.status === 'failed';
  const label = u.status === 'queued' ? t('media.waiting') : t('media.uploading', { percent: pct });
  return html`<div class="msg msg-mine ${first ? 'msg-first' : ''} msg-pending ${failed ? 'msg-failed' : ''}" ref=${box}
      data-testid="pending-upload" data-client-id=${u.clientId} data-status=${u.status} data-kind=${u.kind}>
    <div class="bubble bubble-media bubble-${u.kind} bubble-upload">
      <${Preview} u=${u} />
      ${!failed && html`<div class="upload-bar">
        <progress class="upload-meter" max="100" value=${pct} aria-label=${label}
          data-testid="upload-progress" data-percent=${pct}></progress>
        <span class="upload-label">${label}</span>
        <button type="button" class="btn btn-sm btn-link upload-cancel" data-testid="upload-cancel"
          onClick=${() => cancelUpload(u.conversationId, u.key)}>${t('media.cancel')}</button>
      </div>`}
    </div>
    ${failed && html`<div class="msg-failure" role="alert" data-testid="upload-error" data-code=${u.error?.code}>
      <${IconAlert} /> <span>${t('chat.notSentBecause', { reason: uploadErrorText(u.error) })}</span>
      ${mayRetry(u) && html`<button type="button" class="btn btn-link btn-sm p-0" data-testid="upload-retry"
        onClick=${() => retryUpload(u.conversationId, u.key)}>${t('chat.retry')}</button>`}
      <button type="button" class="btn btn-link btn-sm p-0 text-body-secondary" data-testid="upload-discard"
        onClick=${() => cancelUpload(u.conversationId, u.key)}>${t('chat.discard')}</button>
    </div>`}
  </div>`;
}

// PendingUploads lists the uploads to conversation id, below its messages
// and pending texts.
export function PendingUploads({ id }) {
  const c = state.chats.get(id);
  const last = c?.pending.length ? null : c?.messages[c.messages.length - 1];
  const mineLast = !!c?.pending.length || (last && last.sender_id === state.me?.id && last.kind !== 'system' && !last.recalled_at);
  return uploadsIn(id).map((u, i) => html`<${PendingUpload} key=${u.key} u=${u} first=${i === 0 && !mineLast} />`);
}
