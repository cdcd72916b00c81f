// composer.js: the message input. Enter sends, Shift+Enter breaks the line
// (and Enter while an input method is composing, e.g. pinyin, does neither).
// The draft lives in the chat's state, so it survives switching chats.

import { useEffect, useRef, useState } from 'preact/hooks';
import { MESSAGE_MAX_CHARS, charCount, sendMessage } from '../chats.js';
import { html } from '../html.js';
import { t } from '../i18n.js';
import { notifyTyping } from '../livestate.js';
import { emit } from '../state.js';
import { AttachButtons } from './attach.js';
import { IconSend } from './icons.js';

const COUNTER_FROM = 1; // show the counter as soon as there is text

// cleanBody drops trailing whitespace and leading blank lines; the rest
// (indentation, inner blank lines) is the sender's.
function cleanBody(text) {
  return text.replace(/\s+$/u, '').replace(/^(?:[ \t]*\n)+/u, '');
}

export function Composer({ id, chat }) {
  const [text, setText] = useState(chat.draft);
  const input = useRef(null);
  const count = charCount(text);
  const over = count > MESSAGE_MAX_CHARS;
  const empty = cleanBody(text) === '';

  useEffect(() => {
    // On a wide screen, opening a chat puts the cursor in it; on a phone
    // that would throw up the keyboard over the history.
    if (window.matchMedia('(min-width: 768px)').matches) input.current?.focus();
  }, []);

  const update = (v) => {
    setText(v);
    const hadDraft = chat.draft !== '';
    chat.draft = v;
    if (hadDraft !== (v !== '')) emit(); // the chat list shows "[Draft]"
  };

  const onInput = (v) => {
    update(v);
    if (v.trim() !== '') notifyTyping(id);
  };

  const send = () => {
    if (empty || over) return;
    sendMessage(id, cleanBody(text));
    update('');
    input.current?.focus();
  };

  const onKeyDown = (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      send();
    }
  };

  return html`<form class="composer" onSubmit=${(e) => { e.preventDefault(); send(); }}>
    <${AttachButtons} id=${id} />
    <div class="composer-box">
      <textarea ref=${input} class="form-control composer-input" rows="1" value=${text}
        placeholder=${t('chat.inputPlaceholder')} aria-label=${t('chat.inputLabel')} data-testid="message-input"
        onInput=${(e) => onInput(e.currentTarget.value)} onKeyDown=${onKeyDown}></textarea>
      ${count >= COUNTER_FROM && html`<span class="char-count ${over ? 'text-danger fw-semibold' : ''}" data-testid="char-count"
        title=${over ? t('chat.tooLong', { max: MESSAGE_MAX_CHARS }) : ''}>${count}/${MESSAGE_MAX_CHARS}</span>`}
    </div>
    <button type="submit" class="btn btn-primary composer-send" disabled=${empty || over}
      data-testid="send-button" aria-label=${t('chat.send')} title=${t('chat.sendHint')}>
      <${IconSend} /><span class="d-none d-sm-inline ms-1">${t('chat.send')}</span></button>
  </form>`;
}
