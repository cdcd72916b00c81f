// systemtext.js: the line a group's system message shows, written from its
// structured data in the user's language ("You" for the user), or the
// server's English body for an action this client does not know; and the
// line that stands for a recalled message.

import { formatDuration, formatUntil, spaceMixed, t } from './i18n.js';
import { isForever } from './groups.js';
import { state } from './state.js';
import { userById } from './users.js';

// nameAs names a user: "You" at the start of a sentence, "you" inside one.
function nameAs(u, start) {
  if (!u) return t('chat.unknownPeer');
  if (u.id === state.me?.id) return start ? t('sys.you') : t('sys.youInside');
  return u.display_name;
}

export function systemText(m) {
  return spaceMixed(systemLine(m));
}

function systemLine(m) {
  const d = m.data;
  if (!d || typeof d !== 'object') return m.body;
  const me = state.me?.id;
  const actor = nameAs(d.actor, true);
  const target = (start) => nameAs(d.target, start);
  switch (d.action) {
    case 'created':
      return t('sys.created', { actor });
    case 'joined':
      return d.actor
        ? t('sys.joinedApproved', { target: target(true), actor: nameAs(d.actor, false) })
        : t('sys.joined', { target: target(true) });
    case 'added':
      return t('sys.added', { actor, target: target(false) });
    case 'left':
      return t('sys.left', { target: target(true) });
    case 'removed':
      return t('sys.removed', { actor, target: target(false) });
    case 'muted':
      if (!d.until || isForever(d.until)) return t('sys.mutedForever', { actor, target: target(false) });
      return t('sys.muted', { actor, target: target(false), duration: formatDuration(Date.parse(d.until) - Date.parse(m.created_at)) });
    case 'unmuted':
      if (d.actor) return t('sys.unmuted', { actor, target: target(false) });
      return d.target?.id === me ? t('sys.muteEndedMine') : t('sys.muteEnded', { target: target(true) });
    case 'mute_all':
      return d.on ? t('sys.muteAllOn', { actor }) : t('sys.muteAllOff', { actor });
    case 'role_changed':
      return d.role === 'admin' ? t('sys.madeAdmin', { actor, target: target(false) }) : t('sys.dismissedAdmin', { actor, target: target(false) });
    case 'owner_changed':
      return t('sys.ownerChanged', { actor, target: target(false) });
    case 'updated':
      return t('sys.updated', { actor });
    default:
      return m.body;
  }
}

// systemTitle is the tooltip of a system line: the end of a timed mute.
export function systemTitle(m) {
  const d = m.data;
  if (d?.action === 'muted' && d.until && !isForever(d.until)) return spaceMixed(t('sys.mutedUntil', { time: formatUntil(d.until) }));
  return undefined;
}

// recallText is the line of a recalled message (recalled_by set), or the
// preview of a recall message (kind "recall", data {seq, by}): "You
// recalled a message", "Bob recalled a message", or, when a group's admin
// removed someone else's, who removed whose.
export function recallText(m) {
  const me = state.me?.id;
  const by = m.kind === 'recall' ? m.data?.by : null;
  let byId = m.recalled_by || m.sender_id;
  let senderId = m.sender_id;
  if (m.kind === 'recall') {
    byId = by?.id ?? m.sender_id;
    const original = state.chats.get(m.conversation_id)?.messages.find((x) => x.seq === m.data?.seq);
    senderId = original?.sender_id ?? byId;
  }
  const name = (id) => (id === by?.id ? by.display_name : userById(id)?.display_name) ?? t('chat.unknownPeer');
  let text;
  if (byId === senderId) text = byId === me ? t('recall.mine') : t('recall.theirs', { name: name(byId) });
  else if (byId === me) text = t('recall.removedByMe', { sender: name(senderId) });
  else if (senderId === me) text = t('recall.removedYours', { name: name(byId) });
  else text = t('recall.removed', { name: name(byId), sender: name(senderId) });
  return spaceMixed(text);
}
