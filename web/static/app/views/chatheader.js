// chatheader.js: the open chat's header: who or which group, and what can
// be done from there: a group's members, join requests and settings; a
// temporary chat's origin and "add friend"; a person's menu (remove
// friend, block).

import { useEffect, useState } from 'preact/hooks';
import { groupOfSummary, isAdminOf, pendingCount } from '../groups.js';
import { html } from '../html.js';
import { errorText, t } from '../i18n.js';
import { conversationFace, conversationTitle, decide, relationTo } from '../people.js';
import { closeConversation, openConversation } from '../router.js';
import { emit, state, toast } from '../state.js';
import { blockUser, isBlocked, unblockUser } from '../users.js';
import { Avatar, Modal } from './common.js';
import { RemoveFriendDialog } from './friends.js';
import { IconBack, IconInbox, IconInfo, IconMore, IconUsers } from './icons.js';
import { FaceWithPresence, TypingIndicator, presenceText } from './presence.js';
import { RequestForm } from './search.js';

function openPanel(kind, groupId) {
  state.panel = { kind, groupId };
  emit();
}

// toggleBlock blocks or unblocks someone, saying so.
export async function toggleBlock(user) {
  try {
    if (isBlocked(user.id)) {
      await unblockUser(user.id);
      toast(() => t('blocks.unblocked', { name: user.display_name }));
    } else {
      await blockUser(user);
      toast(() => t('blocks.blocked', { name: user.display_name }));
    }
  } catch (err) {
    toast(() => errorText(err), 'danger');
  }
}

function PersonMenu({ peer, friend }) {
  const [open, setOpen] = useState(false);
  const [removing, setRemoving] = useState(false);
  useEffect(() => {
    if (!open) return undefined;
    const close = () => setOpen(false);
    document.addEventListener('click', close);
    return () => document.removeEventListener('click', close);
  }, [open]);
  const blocked = isBlocked(peer.id);
  return html`<div class="dropdown">
    <button type="button" class="btn btn-sm btn-icon" aria-haspopup="menu" aria-expanded=${open}
      aria-label=${t('chat.menu')} title=${t('chat.menu')} data-testid="chat-menu"
      onClick=${(e) => { e.stopPropagation(); setOpen(!open); }}><${IconMore} /></button>
    ${open && html`<ul class="dropdown-menu dropdown-menu-end show" role="menu">
      <li><button type="button" class="dropdown-item" role="menuitem" data-testid=${blocked ? 'unblock-user' : 'block-user'}
        onClick=${() => toggleBlock(peer)}>${blocked ? t('blocks.unblock') : t('blocks.block')}</button></li>
      ${friend && html`<li><button type="button" class="dropdown-item text-danger" role="menuitem" data-testid="remove-friend"
        onClick=${() => setRemoving(true)}>${t('friends.remove')}</button></li>`}
    </ul>`}
    ${removing && html`<${RemoveFriendDialog} user=${peer} onClose=${() => setRemoving(false)} />`}
  </div>`;
}

// AddFriendDialog sends a friend request with a note.
export function AddFriendDialog({ user, onClose }) {
  return html`<${Modal} title=${t('temp.addFriendTitle', { name: user.display_name })} onClose=${onClose} testid="add-friend-dialog">
    <${RequestForm} user=${user} onDone=${onClose} />
  <//>`;
}

// FriendAction is what can be done about a friendship with someone met in
// a group: ask, wait, accept, or go to the direct chat.
export function FriendAction({ user, testid = 'header-add-friend' }) {
  const [adding, setAdding] = useState(false);
  const rel = relationTo(user);
  switch (rel.kind) {
    case 'self':
      return null;
    case 'friend':
      return html`<button type="button" class="btn btn-sm btn-outline-primary" data-testid="open-direct-chat"
        onClick=${() => { state.tab = 'chats'; emit(); openConversation(rel.friend.conversation_id); }}>${t('temp.openDirect')}</button>`;
    case 'requested':
      return html`<span class="badge text-bg-light" data-testid="request-pending">${t('search.requested')}</span>`;
    case 'asked':
      return html`<button type="button" class="btn btn-sm btn-primary" data-testid="search-accept"
        onClick=${() => decide(rel.request, 'accept').catch((err) => toast(() => errorText(err), 'danger'))}>${t('requests.accept')}</button>`;
    default:
      return html`<button type="button" class="btn btn-sm btn-outline-primary" data-testid=${testid}
          onClick=${() => setAdding(true)}>${t('temp.addFriend')}</button>
        ${adding && html`<${AddFriendDialog} user=${user} onClose=${() => setAdding(false)} />`}`;
  }
}

function GroupButtons({ g }) {
  const pending = pendingCount(g.id);
  return html`<div class="chat-actions">
    <button type="button" class="btn btn-sm btn-icon" data-testid="members-open" title=${t('members.title')}
      aria-label=${t('members.title')} onClick=${() => openPanel('members', g.id)}>
      <${IconUsers} /><span class="ms-1 small">${g.member_count}</span></button>
    ${isAdminOf(g) && html`<button type="button" class="btn btn-sm btn-icon position-relative" data-testid="join-requests-open"
      title=${t('joinreq.title')} aria-label=${t('joinreq.title')} onClick=${() => openPanel('requests', g.id)}>
      <${IconInbox} />${pending > 0 && html`<span class="badge rounded-pill text-bg-danger icon-badge"
        data-testid="join-requests-badge">${pending}</span>`}</button>`}
    <button type="button" class="btn btn-sm btn-icon" data-testid="group-settings-open" title=${t('groupset.title')}
      aria-label=${t('groupset.title')} onClick=${() => openPanel('settings', g.id)}><${IconInfo} /></button>
  </div>`;
}

export function ChatHeader({ s }) {
  const peer = s.peer;
  const title = conversationTitle(s);
  const g = groupOfSummary(s);
  let subtitle = peer ? `@${peer.username}` : '';
  const presence = peer ? presenceText(peer.id) : null;
  if (presence && s.kind === 'direct') subtitle += ` · ${presence}`;
  if (s.kind === 'temp') subtitle = t('chat.fromGroup', { group: s.group?.name ?? '' });
  else if (s.kind === 'group' && g) subtitle = t('chat.groupSubtitle', { number: g.number, count: g.member_count });
  else if (s.kind === 'group' && s.group) subtitle = t('chat.groupNumber', { number: s.group.number });
  const friend = peer && state.friends.has(peer.id);
  return html`<header class="chat-header">
    <button type="button" class="btn btn-icon chat-back" aria-label=${t('common.back')} data-testid="chat-back"
      onClick=${closeConversation}><${IconBack} /></button>
    ${peer ? html`<${FaceWithPresence} user=${peer} />` : html`<${Avatar} user=${conversationFace(s)} />`}
    <div class="chat-title">
      <div class="d-flex align-items-center gap-2 min-w-0">
        <span class="fw-semibold text-truncate" data-testid="chat-title">${title}</span>
        ${s.kind === 'temp' && html`<span class="badge temp-badge" data-testid="temp-badge">${t('chat.tempBadge')}</span>`}
      </div>
      <div class="small text-body-secondary text-truncate chat-subtitle">
        ${state.typing.has(s.id) ? html`<${TypingIndicator} id=${s.id} />` : html`<span data-testid="chat-subtitle">${subtitle}</span>`}
      </div>
    </div>
    ${g && html`<${GroupButtons} g=${g} />`}
    ${s.kind === 'temp' && peer && html`<${FriendAction} user=${peer} />`}
    ${peer && html`<${PersonMenu} peer=${peer} friend=${friend} />`}
  </header>`;
}
