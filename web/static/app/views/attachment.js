// attachment.js: how a picture or a file message looks in the list: a
// picture as its thumbnail, laid out at its size before it loads, that
// opens the full-size viewer; a file as a card with its name, size, type
// and a download link. A recalled one is a recall line (messages.js), so
// these never see an attachment without data.

import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { t } from '../i18n.js';
import { FileName, IconDownload, IconFile, IconImage, attachmentURL, fileType, formatSize, thumbBox } from './mediaparts.js';
import { ImageViewer } from './viewer.js';

// isAttachment says whether a message is a picture or a file that is
// still there (not recalled: a recall drops its data).
export function isAttachment(m) {
  return (m.kind === 'image' || m.kind === 'file') && !!m.data?.id && !m.recalled_at;
}

// attachmentClass is the bubble's extra class for an attachment.
export function attachmentClass(m) {
  return isAttachment(m) ? `bubble-media bubble-${m.kind}` : '';
}

function ImageMessage({ m }) {
  const a = m.data;
  const [open, setOpen] = useState(false);
  const [broken, setBroken] = useState(false);
  const [w, h, small] = thumbBox(a.thumb?.width ?? a.width, a.thumb?.height ?? a.height);
  const label = t('media.openImage', { name: a.name });
  return html`<div class="image-message" data-testid="image-message" data-seq=${m.seq}>
    <button type="button" class="thumb-button ${broken ? 'is-broken' : ''}" title=${label} aria-label=${label}
      onClick=${() => setOpen(true)}>
      ${broken
        ? html`<span class="thumb-broken" data-testid="thumb-broken"><${IconImage} /><span>${t('media.imageUnavailable')}</span></span>`
        : html`<img class="thumb ${small ? 'thumb-small' : ''}" data-testid="thumb" src=${attachmentURL(a.id, true)} width=${w} height=${h}
          alt=${a.name} decoding="async" draggable="false" onError=${() => setBroken(true)} />`}
      ${a.mime === 'image/gif' && html`<span class="thumb-badge">GIF</span>`}
    </button>
    ${open && html`<${ImageViewer} a=${a} onClose=${() => setOpen(false)} />`}
  </div>`;
}

function FileMessage({ m }) {
  const a = m.data;
  return html`<div class="file-card" data-testid="file-message" data-seq=${m.seq}>
    <span class="file-icon" aria-hidden="true"><${IconFile} size=${28} /></span>
    <span class="file-info">
      <${FileName} name=${a.name} testid=${'file-name'} />
      <span class="file-sub"><span data-testid="file-size">${formatSize(a.size)}</span> · <span data-testid="file-type">${fileType(a.name)}</span></span>
    </span>
    <a class="btn btn-light file-download" data-testid="file-download" href=${attachmentURL(a.id)} download=${a.name}
      title=${t('media.downloadName', { name: a.name })} aria-label=${t('media.downloadName', { name: a.name })}>
      <${IconDownload} /><span class="visually-hidden">${t('media.download')}</span></a>
  </div>`;
}

// AttachmentBody is the content of a picture or file bubble.
export function AttachmentBody({ m }) {
  return m.kind === 'image' ? html`<${ImageMessage} m=${m} />` : html`<${FileMessage} m=${m} />`;
}

// attachmentPreview is a picture or file as the chat list's last line.
export function attachmentPreview(m) {
  if (m.kind === 'image') return t('media.previewImage');
  if (m.kind === 'file') return t('media.previewFile', { name: m.data?.name ?? m.body });
  return null;
}
