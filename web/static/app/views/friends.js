// friends.js: the friend list, with each friend's presence, and removing
// a friend (after a confirm).

import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { errorText, t } from '../i18n.js';
import { removeFriend, sortedFriends } from '../people.js';
import { openConversation } from '../router.js';
import { emit, state, toast } from '../state.js';
import { ConfirmDialog, EmptyState, Spinner } from './common.js';
import { IconClose } from './icons.js';
import { FaceWithPresence, presenceText } from './presence.js';

// RemoveFriendDialog asks before ending a friendship.
export function RemoveFriendDialog({ user, onClose }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const confirm = async () => {
    setBusy(true);
    try {
      await removeFriend(user.id);
      toast(() => t('friends.removed', { name: user.display_name }));
      onClose();
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return html`<${ConfirmDialog} title=${t('friends.removeTitle')} danger busy=${busy} error=${error}
    text=${t('friends.removeText', { name: user.display_name })} confirmLabel=${t('friends.remove')}
    onConfirm=${confirm} onClose=${onClose} />`;
}

export function FriendList() {
  const [removing, setRemoving] = useState(null);
  if (!state.listsLoaded) return html`<div class="p-4 text-center"><${Spinner} /></div>`;
  const friends = sortedFriends();
  if (friends.length === 0) {
    return html`<${EmptyState} title=${t('friends.emptyTitle')} text=${t('friends.emptyText')} />`;
  }
  return html`<ul class="list-rows" role="list">
    ${friends.map((f) => html`<li key=${f.user.id} class="list-row-wrap">
      <button type="button" class="list-row" data-testid="friend-item" data-username=${f.user.username}
        onClick=${() => { state.tab = 'chats'; emit(); openConversation(f.conversation_id); }}>
        <${FaceWithPresence} user=${f.user} />
        <span class="row-main">
          <span class="row-title text-truncate">${f.user.display_name}</span>
          <span class="row-sub text-truncate">@${f.user.username}<span class="presence-text ${f.online ? 'is-online' : ''}"
            data-testid="presence-text"> · ${presenceText(f.user.id)}</span></span>
        </span>
      </button>
      <button type="button" class="btn btn-sm btn-icon row-action" data-testid="remove-friend"
        title=${t('friends.remove')} aria-label=${t('friends.removeNamed', { name: f.user.display_name })}
        onClick=${() => setRemoving(f.user)}><${IconClose} size=${16} /></button>
    </li>`)}
  </ul>
  ${removing && html`<${RemoveFriendDialog} user=${removing} onClose=${() => setRemoving(null)} />`}`;
}
