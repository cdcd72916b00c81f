// presence.js: what the client shows of live state: a friend's presence
// (the dot on their avatar, "Online" or when they were last seen) and the
// other side's typing.

import { html } from '../html.js';
import { formatUntil, spaceMixed, t } from '../i18n.js';
import { presenceOf, typingIn } from '../livestate.js';
import { userById } from '../users.js';
import { Avatar } from './common.js';

const MINUTE = 60 * 1000;

// presenceText says "Online", "Last seen 5 min ago" and the like, or null
// for someone who is not a friend.
export function presenceText(userId, now = Date.now()) {
  const p = presenceOf(userId);
  if (!p) return null;
  if (p.online) return t('presence.online');
  if (!p.lastSeen) return t('presence.offline');
  const ago = now - Date.parse(p.lastSeen);
  if (ago < MINUTE) return t('presence.justNow');
  if (ago < 60 * MINUTE) return t('presence.minutesAgo', { n: Math.floor(ago / MINUTE) });
  return spaceMixed(t('presence.lastSeen', { time: formatUntil(p.lastSeen) }));
}

// PresenceDot is green while a friend is online, grey otherwise; nothing
// for someone who is not a friend.
export function PresenceDot({ userId }) {
  const p = presenceOf(userId);
  if (!p) return null;
  return html`<span class="presence-dot ${p.online ? 'is-online' : ''}" data-testid="presence-dot"
    data-online=${p.online ? 'true' : 'false'} title=${presenceText(userId)}></span>`;
}

// FaceWithPresence is a person's avatar with their presence dot.
export function FaceWithPresence({ user, size }) {
  return html`<span class="avatar-wrap"><${Avatar} user=${user} size=${size} /><${PresenceDot} userId=${user?.id} /></span>`;
}

// TypingIndicator says who is typing in conversation id, while they are.
export function TypingIndicator({ id }) {
  const who = typingIn(id);
  if (who === null) return null;
  const name = userById(who)?.display_name;
  return html`<span class="typing-indicator" data-testid="typing-indicator" role="status">
    ${name ? spaceMixed(t('typing.named', { name })) : t('typing.someone')}</span>`;
}
