// messages.js: the scrolling message list of one conversation: bubbles
// (with receipts and the recall action), recalled lines, day separators,
// older pages loaded on scrolling up, and the scroll position kept in the
// chat's state so that it survives switching chats.

import { Component } from 'preact';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { LASTING_REFUSALS, RECALL_WINDOW_MS, discardMessage, loadOlder, recallMessage, retryMessage } from '../chats.js';
import { groupOfSummary, isAdminOf } from '../groups.js';
import { html } from '../html.js';
import { errorText, formatDateTime, formatDay, formatTime, getLocale, sameDay, t } from '../i18n.js';
import { receiptOf } from '../livestate.js';
import { state, toast } from '../state.js';
import { systemText, systemTitle } from '../systemtext.js';
import { userById } from '../users.js';
import { AttachmentBody, attachmentClass, isAttachment } from './attachment.js';
import { Avatar, ConfirmDialog, Spinner } from './common.js';
import { IconAlert, IconClock } from './icons.js';
import { MemberCardDialog } from './membercard.js';
import { RecallAction, RecalledLine, Receipt } from './msgparts.js';
import { PendingUploads } from './uploading.js';

const GROUP_GAP_MS = 5 * 60 * 1000;
const NEAR_BOTTOM_PX = 48;
const LOAD_OLDER_PX = 240;
const URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]}]/g;

// linkify splits a text into strings and links. Links are built as
// elements with an href, so nothing the sender typed is parsed as HTML.
function linkify(text) {
  const out = [];
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    if (match.index > last) out.push(text.slice(last, match.index));
    out.push(html`<a href=${match[0]} target="_blank" rel="noopener noreferrer nofollow">${match[0]}</a>`);
    last = match.index + match[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

// recallable says which action a message offers: 'recall' for the user's
// own within the window, 'delete' for a group's owner and admins, or null.
function recallable(m, mine, mayDelete, now = Date.now()) {
  if (m.seq === undefined || m.kind === 'system' || m.kind === 'recall' || m.recalled_at) return null;
  if (mine && now - Date.parse(m.created_at) < RECALL_WINDOW_MS) return 'recall';
  return mayDelete ? 'delete' : null;
}

// Bubble renders one message; it re-renders only when its message object
// (replaced, never mutated), its sender's profile, its receipt, the user's
// right to delete or the language changes, and once when the recall window
// closes. In a group, others' messages carry the sender's name and avatar,
// which open the sender's card.
class Bubble extends Component {
  shouldComponentUpdate(next) {
    const p = this.props;
    return next.m !== p.m || next.first !== p.first || next.locale !== p.locale || next.sender !== p.sender ||
      next.me !== p.me || next.receipt !== p.receipt || next.mayDelete !== p.mayDelete;
  }

  componentDidMount() { this.armWindowTimer(); }

  componentDidUpdate() { this.armWindowTimer(); }

  componentWillUnmount() { clearTimeout(this.windowTimer); }

  // armWindowTimer re-renders the bubble when its Recall action expires.
  armWindowTimer() {
    clearTimeout(this.windowTimer);
    const { m, mine } = this.props;
    if (!mine || m.seq === undefined || m.recalled_at) return;
    const left = Date.parse(m.created_at) + RECALL_WINDOW_MS - Date.now();
    if (left > 0) this.windowTimer = setTimeout(() => this.forceUpdate(), left + 50);
  }

  render({ m, mine, first, conversationId, inGroup, sender, onSender, receipt, mayDelete, onRecall }) {
    if (m.kind === 'system') {
      return html`<div class="msg-system" data-testid="system-message" data-seq=${m.seq} data-action=${m.data?.action}>
        <span title=${systemTitle(m)}>${systemText(m)}</span></div>`;
    }
    if (m.recalled_at) return html`<${RecalledLine} m=${m} />`;
    const pending = m.seq === undefined;
    const failed = pending && m.status === 'failed';
    const action = recallable(m, mine, mayDelete);
    const bubble = html`<div class="bubble ${attachmentClass(m)}">
        ${isAttachment(m) ? html`<${AttachmentBody} m=${m} />`
          : html`<span class="message-body" data-testid="message-body">${linkify(m.body ?? '')}</span>`}
        <span class="msg-meta">
          <${RecallAction} kind=${action} onClick=${() => onRecall(m, action)} />
          ${pending && !failed && html`<span class="msg-status" title=${t('chat.sending')}><${IconClock} /></span>`}
          <time datetime=${m.created_at} title=${formatDateTime(m.created_at)}>${formatTime(m.created_at)}</time>
          <${Receipt} receipt=${receipt} />
        </span>
      </div>`;
    const withSender = inGroup && !mine;
    const name = sender?.display_name ?? '…';
    return html`<div class="msg ${mine ? 'msg-mine' : 'msg-theirs'} ${first ? 'msg-first' : ''} ${pending ? 'msg-pending' : ''} ${failed ? 'msg-failed' : ''} ${withSender ? 'msg-with-sender' : ''}"
        data-testid="message" data-seq=${pending ? undefined : m.seq} data-mine=${mine ? 'true' : 'false'}
        data-pending=${pending ? m.status : undefined} data-client-id=${m.client_id}
        data-sender=${withSender ? sender?.username : undefined}>
      ${withSender ? html`<div class="msg-line">
          <span class="msg-face">${first && html`<button type="button" class="btn-face" tabindex="-1" aria-hidden="true"
            onClick=${() => onSender(m.sender_id)}><${Avatar} user=${sender ?? { id: m.sender_id }} size="sm" /></button>`}</span>
          <div class="msg-col">
            ${first && html`<button type="button" class="sender-name" data-testid="sender-name"
              title=${t('members.openCard', { name })} onClick=${() => onSender(m.sender_id)}>${name}</button>`}
            ${bubble}
          </div>
        </div>` : bubble}
      ${failed && html`<div class="msg-failure" role="alert">
        <${IconAlert} /> <span>${t('chat.notSentBecause', { reason: errorText(m.error) })}</span>
        ${(m.error?.code === 'muted' || !LASTING_REFUSALS.has(m.error?.code)) && html`<button type="button" class="btn btn-link btn-sm p-0" data-testid="retry-send"
          onClick=${() => retryMessage(conversationId, m.client_id)}>${t('chat.retry')}</button>`}
        <button type="button" class="btn btn-link btn-sm p-0 text-body-secondary"
          onClick=${() => discardMessage(conversationId, m.client_id)}>${t('chat.discard')}</button>
      </div>`}
    </div>`;
  }
}

function DaySeparator({ date }) {
  return html`<div class="day-sep" role="separator"><span>${formatDay(date)}</span></div>`;
}

export function MessageList({ id, chat, groupId }) {
  const box = useRef(null);
  const [card, setCard] = useState(null); // user id whose card is open
  const [deleting, setDeleting] = useState(null); // a message an admin is about to delete
  const atBottom = useRef(true);
  const restored = useRef(false);
  const last = useRef({ height: 0, top: 0, firstSeq: null, pending: chat.pending.length, loadingOlder: false });
  const [showJump, setShowJump] = useState(false);

  // Remember the geometry before this render changes the DOM, to keep the
  // view still when older messages are put above it.
  if (box.current) {
    last.current.height = box.current.scrollHeight;
    last.current.top = box.current.scrollTop;
  }

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const firstSeq = chat.messages.length ? chat.messages[0].seq : null;
    const prev = last.current;
    if (!restored.current) {
      if (chat.loaded) {
        restored.current = true;
        const saved = chat.scroll;
        el.scrollTop = !saved || saved.atBottom ? el.scrollHeight : saved.top;
        atBottom.current = !saved || saved.atBottom;
      }
    } else if ((prev.firstSeq !== null && firstSeq !== null && firstSeq < prev.firstSeq) ||
      (chat.loadingOlder !== prev.loadingOlder && !atBottom.current)) {
      // Older messages, or the spinner above them, came or went above the
      // view: keep what the reader looks at where it was.
      el.scrollTop = prev.top + (el.scrollHeight - prev.height);
    } else if (chat.pending.length > prev.pending || (atBottom.current && el.scrollHeight !== prev.height)) {
      el.scrollTop = el.scrollHeight;
    }
    prev.firstSeq = firstSeq;
    prev.pending = chat.pending.length;
    prev.loadingOlder = chat.loadingOlder;
    // A first page shorter than the pane cannot be scrolled up: fetch more.
    if (chat.loaded && chat.hasMore && !chat.loadingOlder && el.scrollHeight <= el.clientHeight + 8) loadOlder(id);
  });

  const onScroll = () => {
    const el = box.current;
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX;
    atBottom.current = bottom;
    if (restored.current) chat.scroll = { top: el.scrollTop, atBottom: bottom };
    if (showJump === bottom) setShowJump(!bottom);
    if (el.scrollTop < LOAD_OLDER_PX) loadOlder(id);
  };

  const jump = () => {
    box.current.scrollTop = box.current.scrollHeight;
  };

  const doRecall = (m) => recallMessage(id, m.seq).catch((err) => toast(() => errorText(err), 'danger'));
  // Deleting someone else's message asks first; recalling one's own does not.
  const recall = (m, kind) => (kind === 'delete' && m.sender_id !== state.me?.id ? setDeleting(m) : doRecall(m));

  const locale = getLocale();
  const me = state.me?.id;
  const inGroup = groupId !== null && groupId !== undefined;
  const summary = state.conversations.get(id);
  const g = groupOfSummary(summary);
  const mayDelete = !!g && isAdminOf(g);
  const items = [];
  let prev = null;
  for (const m of chat.messages) {
    if (m.kind === 'recall') continue; // shown where the message it recalls was
    const newDay = !prev || !sameDay(prev.created_at, m.created_at);
    if (newDay) items.push(html`<${DaySeparator} key=${`d${m.seq}`} date=${m.created_at} />`);
    const first = newDay || prev.sender_id !== m.sender_id || prev.kind === 'system' || !!prev.recalled_at ||
      Date.parse(m.created_at) - Date.parse(prev.created_at) > GROUP_GAP_MS;
    const mine = m.sender_id === me;
    const sender = inGroup && !mine && m.kind !== 'system' ? userById(m.sender_id) : null;
    const receipt = mine && m.kind !== 'system' ? receiptOf(summary, m.seq) : null;
    items.push(html`<${Bubble} key=${`m${m.seq}`} m=${m} mine=${mine} first=${first} locale=${locale}
      conversationId=${id} inGroup=${inGroup} sender=${sender} onSender=${setCard} me=${me}
      receipt=${receipt} mayDelete=${mayDelete} onRecall=${recall} />`);
    prev = m;
  }
  chat.pending.forEach((p, i) => {
    const first = i === 0 && (!prev || prev.sender_id !== me);
    items.push(html`<${Bubble} key=${`p${p.client_id}`} m=${p} mine first=${first} locale=${locale} conversationId=${id} />`);
  });

  let top = null;
  if (chat.loading && !chat.loaded) top = html`<div class="p-4 text-center"><${Spinner} /></div>`;
  else if (chat.loadError && !chat.loaded) {
    top = html`<div class="alert alert-danger m-3" role="alert">${errorText(chat.loadError)}</div>`;
  } else if (chat.loadingOlder) top = html`<div class="p-2 text-center"><${Spinner} small /></div>`;
  else if (chat.loaded && !chat.hasMore) {
    top = html`<div class="history-start">${chat.messages.length ? t('chat.historyStart') : t('chat.sayHello')}</div>`;
  }

  return html`<div class="messages-wrap">
    <div class="messages" ref=${box} onScroll=${onScroll} data-testid="message-list" role="log" aria-live="polite">
      ${top}
      ${items}
      <${PendingUploads} id=${id} />
    </div>
    ${showJump && html`<button type="button" class="btn btn-light shadow-sm jump-bottom" onClick=${jump}
      aria-label=${t('chat.jumpToNewest')} title=${t('chat.jumpToNewest')}>↓</button>`}
    ${card !== null && html`<${MemberCardDialog} groupId=${groupId} userId=${card} onClose=${() => setCard(null)} />`}
    ${deleting && html`<${ConfirmDialog} title=${t('msg.deleteTitle')} danger confirmLabel=${t('msg.delete')}
      text=${t('msg.deleteText', { name: userById(deleting.sender_id)?.display_name ?? t('chat.unknownPeer') })}
      onClose=${() => setDeleting(null)}
      onConfirm=${() => {
        doRecall(deleting);
        setDeleting(null);
      }} />`}
  </div>`;
}
