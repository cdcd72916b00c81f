// attach.js: the composer's ways in for pictures and files: the Picture
// and File buttons (File only where files may go: one-to-one and temporary
// chats, not groups), files dropped anywhere on the chat, and pictures
// pasted from the clipboard (a screenshot, say).

import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import { t } from '../i18n.js';
import { state, toast } from '../state.js';
import { filesAllowed, kindFor, sendFiles } from '../uploads.js';
import { IconClip, IconImage } from './mediaparts.js';

// hasFiles says whether a drag carries files (not text or a link).
function hasFiles(e) {
  return [...(e.dataTransfer?.types ?? [])].includes('Files');
}

// sendMixed sends dropped or pasted files, each as a picture or a file;
// those that cannot go here (files in a group) are refused with a notice.
function sendMixed(id, files) {
  const allow = filesAllowed(state.conversations.get(id));
  const images = [];
  const others = [];
  let refused = 0;
  for (const f of files) {
    const kind = kindFor(f, allow);
    if (kind === 'image') images.push(f);
    else if (kind === 'file') others.push(f);
    else refused++;
  }
  if (images.length) sendFiles(id, images, 'image');
  if (others.length) sendFiles(id, others, 'file');
  if (refused) toast(() => t('media.filesOnlyDirect'), 'danger');
}

// useDropAndPaste listens on the chat that holds el for dropped files and
// pasted pictures, and reports whether files are being dragged over it.
function useDropAndPaste(el, id) {
  const [over, setOver] = useState(false);
  useEffect(() => {
    const chat = el.current?.closest('.chat');
    if (!chat) return undefined;
    let depth = 0;
    const enter = (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth++;
      setOver(true);
    };
    const overIt = (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    };
    const leave = (e) => {
      if (!hasFiles(e)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) setOver(false);
    };
    const drop = (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth = 0;
      setOver(false);
      const files = [...(e.dataTransfer.files ?? [])];
      if (files.length) sendMixed(id, files);
    };
    const paste = (e) => {
      const data = e.clipboardData;
      const files = [...(data?.files ?? [])];
      // Text copied from a document may come with a picture of itself:
      // then the text is what the user meant.
      if (!files.length || [...data.types].includes('text/plain')) return;
      e.preventDefault();
      sendMixed(id, files);
    };
    // A file dropped beside the chat must not replace the page with itself.
    const guard = (e) => {
      if (!hasFiles(e) || chat.contains(e.target)) return;
      e.preventDefault();
      if (e.type === 'dragover') e.dataTransfer.dropEffect = 'none';
    };
    window.addEventListener('dragover', guard);
    window.addEventListener('drop', guard);
    chat.addEventListener('dragenter', enter);
    chat.addEventListener('dragover', overIt);
    chat.addEventListener('dragleave', leave);
    chat.addEventListener('drop', drop);
    chat.addEventListener('paste', paste);
    return () => {
      window.removeEventListener('dragover', guard);
      window.removeEventListener('drop', guard);
      chat.removeEventListener('dragenter', enter);
      chat.removeEventListener('dragover', overIt);
      chat.removeEventListener('dragleave', leave);
      chat.removeEventListener('drop', drop);
      chat.removeEventListener('paste', paste);
    };
  }, [id]);
  return over;
}

// AttachButtons is the Picture and File buttons at the composer's left,
// with their hidden file inputs, and the drop target over the chat.
export function AttachButtons({ id }) {
  const root = useRef(null);
  const imageInput = useRef(null);
  const fileInput = useRef(null);
  const over = useDropAndPaste(root, id);
  const allowFiles = filesAllowed(state.conversations.get(id));

  const chosen = (e, kind) => {
    const input = e.currentTarget;
    const files = [...(input.files ?? [])];
    input.value = ''; // choosing the same file again is a new send
    if (files.length) sendFiles(id, files, kind);
  };

  return html`<div class="attach-buttons" ref=${root}>
    <button type="button" class="btn btn-icon composer-attach" data-testid="attach-image"
      title=${t('media.sendImage')} aria-label=${t('media.sendImage')} onClick=${() => imageInput.current?.click()}>
      <${IconImage} /></button>
    <input type="file" class="d-none" accept="image/*" multiple ref=${imageInput} data-testid="attach-image-input"
      tabindex="-1" aria-hidden="true" onChange=${(e) => chosen(e, 'image')} />
    ${allowFiles && html`
      <button type="button" class="btn btn-icon composer-attach" data-testid="attach-file"
        title=${t('media.sendFile')} aria-label=${t('media.sendFile')} onClick=${() => fileInput.current?.click()}>
        <${IconClip} /></button>
      <input type="file" class="d-none" multiple ref=${fileInput} data-testid="attach-file-input"
        tabindex="-1" aria-hidden="true" onChange=${(e) => chosen(e, 'file')} />`}
    ${over && html`<div class="drop-overlay" data-testid="drop-overlay" aria-hidden="true">
      <div class="drop-overlay-box">${allowFiles ? t('media.dropHere') : t('media.dropImagesHere')}</div>
    </div>`}
  </div>`;
}
