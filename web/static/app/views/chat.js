// chat.js: the right pane: the open conversation's header, messages and
// composer (or why the user cannot write), a group's side panels, or a
// welcome when no chat is open.

import { useEffect } from 'preact/hooks';
import { chatOf } from '../chats.js';
import { groupOfSummary, loadGroupDetail } from '../groups.js';
import { html } from '../html.js';
import { t } from '../i18n.js';
import { ensureMembers } from '../members.js';
import { state } from '../state.js';
import { CannotSend, sendBlock } from './cantsend.js';
import { ChatHeader } from './chatheader.js';
import { Composer } from './composer.js';
import { EmptyState, Spinner } from './common.js';
import { GroupSettingsPanel } from './groupsettings.js';
import { IconChat } from './icons.js';
import { JoinRequestsPanel } from './joinrequests.js';
import { MembersPanel } from './members.js';
import { MessageList } from './messages.js';

// GroupLoader fetches what a group chat needs besides its messages: the
// member list (senders' names) and the user's own membership.
function GroupLoader({ g }) {
  useEffect(() => {
    ensureMembers(g.id);
    if (!g.me) loadGroupDetail(g.id);
  }, [g.id]);
  return null;
}

function Panel({ g }) {
  const p = state.panel;
  if (!p || !g || p.groupId !== g.id) return null;
  switch (p.kind) {
    case 'members': return html`<${MembersPanel} g=${g} />`;
    case 'requests': return html`<${JoinRequestsPanel} g=${g} />`;
    case 'settings': return html`<${GroupSettingsPanel} g=${g} />`;
    default: return null;
  }
}

export function ChatPane({ id }) {
  const s = state.conversations.get(id);
  if (!s) {
    return html`<div class="chat-empty">
      ${state.listsLoaded ? html`<${EmptyState} title=${t('chat.notFound')} />` : html`<${Spinner} />`}
    </div>`;
  }
  const chat = chatOf(id);
  const g = groupOfSummary(s);
  const block = sendBlock(s, chat);
  return html`<section class="chat" aria-label=${s.peer?.display_name ?? s.group?.name ?? ''}>
    ${g && html`<${GroupLoader} g=${g} />`}
    <${ChatHeader} s=${s} />
    <${MessageList} id=${id} chat=${chat} groupId=${s.kind === 'group' ? (s.group_id ?? s.group?.id) : null} />
    ${block ? html`<${CannotSend} block=${block} />` : html`<${Composer} key=${id} id=${id} chat=${chat} />`}
    <${Panel} g=${g} />
  </section>`;
}

export function Welcome() {
  return html`<div class="chat-empty">
    <div class="welcome">
      <span class="welcome-mark"><${IconChat} size=${40} /></span>
      <div class="empty-title">${t('chat.welcomeTitle', { name: state.me?.display_name ?? '' })}</div>
      <div class="empty-text">${t('chat.welcomeText')}</div>
    </div>
  </div>`;
}
