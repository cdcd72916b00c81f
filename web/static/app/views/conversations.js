// conversations.js: the chat list: one row per conversation, newest first,
// with the last message, its time and the unread count.

import { chatOf, sortedConversations } from '../chats.js';
import { groupOfSummary, isAdminOf, pendingCount } from '../groups.js';
import { html } from '../html.js';
import { formatListTime, t } from '../i18n.js';
import { typingIn } from '../livestate.js';
import { openConversation } from '../router.js';
import { state } from '../state.js';
import { conversationFace, conversationTitle } from '../people.js';
import { recallText, systemText } from '../systemtext.js';
import { userById } from '../users.js';
import { attachmentPreview } from './attachment.js';
import { Avatar, EmptyState, Spinner } from './common.js';

// preview is the second line of a chat's row: "typing…", a draft, or the
// last message (with its sender's name in a group, in words for a system
// message or a recall).
export function preview(s) {
  if (typingIn(s.id) !== null) return html`<span class="typing-preview">${t('typing.short')}</span>`;
  const c = state.chats.get(s.id);
  const draft = c?.draft?.trim();
  if (draft && s.id !== state.activeId) return html`<span class="text-danger">${t('chat.draft')}</span> ${draft}`;
  const m = s.last_message;
  if (!m) return html`<span class="fst-italic">${t('chat.noMessages')}</span>`;
  if (m.kind === 'system') return systemText(m);
  if (m.kind === 'recall' || m.recalled_at) return recallText(m);
  const body = attachmentPreview(m) ?? m.body.replace(/\s+/g, ' ');
  if (m.sender_id === state.me?.id) return t('chat.previewMine', { text: body });
  if (s.kind === 'group') {
    const u = userById(m.sender_id);
    if (u) return t('chat.previewSender', { name: u.display_name, text: body });
  }
  return body;
}

export function ConversationRow({ s }) {
  const active = s.id === state.activeId;
  const when = s.last_message?.created_at;
  const g = groupOfSummary(s);
  const pending = g && isAdminOf(g) ? pendingCount(g.id) : 0;
  return html`<li>
    <button type="button" class="list-row ${active ? 'active' : ''}" data-testid="conversation-item"
      data-username=${s.peer?.username} data-conversation-id=${s.id} data-kind=${s.kind}
      data-group-id=${s.kind === 'group' ? (s.group_id ?? s.group?.id) : undefined}
      aria-current=${active ? 'true' : undefined}
      onClick=${() => { chatOf(s.id); openConversation(s.id); }}>
      <${Avatar} user=${conversationFace(s)} />
      <span class="row-main">
        <span class="row-top">
          <span class="row-title text-truncate">${conversationTitle(s)}</span>
          ${s.kind === 'temp' && html`<span class="badge temp-badge text-truncate" data-testid="temp-badge"
            title=${t('chat.tempFrom', { group: s.group?.name ?? '' })}>${t('chat.tempBadgeFrom', { group: s.group?.name ?? '' })}</span>`}
          ${when && html`<time class="row-time" datetime=${when}>${formatListTime(when)}</time>`}
        </span>
        <span class="row-bottom">
          <span class="row-sub text-truncate">${preview(s)}</span>
          ${pending > 0 && html`<span class="badge rounded-pill text-bg-warning" data-testid="group-join-badge"
            title=${t('joinreq.pendingCount', { count: pending })}>${t('joinreq.badge', { count: pending })}</span>`}
          ${s.unread > 0 && html`<span class="badge rounded-pill text-bg-danger" data-testid="unread-badge"
            aria-label=${t('chat.unreadCount', { count: s.unread })}>${s.unread > 99 ? '99+' : s.unread}</span>`}
        </span>
      </span>
    </button>
  </li>`;
}

export function ChatList() {
  if (!state.listsLoaded) return html`<div class="p-4 text-center"><${Spinner} /></div>`;
  const rows = sortedConversations();
  if (rows.length === 0) {
    return html`<${EmptyState} title=${t('chats.emptyTitle')} text=${t('chats.emptyText')} />`;
  }
  return html`<ul class="list-rows" role="list">${rows.map((s) => html`<${ConversationRow} key=${s.id} s=${s} />`)}</ul>`;
}
