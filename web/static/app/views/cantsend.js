// cantsend.js: why the user cannot write in the open chat (muted, everyone
// muted, no longer in the group, a temporary chat that ended, not friends
// any more), shown in place of the composer. A mute with an end re-enables
// the composer when it passes, by the client's clock; the server's
// "unmuted" line and a refetch of the group then confirm it.

import { useEffect, useState } from 'preact/hooks';
import { groupOfSummary, refreshGroupSoon, speakBlock } from '../groups.js';
import { html } from '../html.js';
import { formatUntil, t } from '../i18n.js';
import { emit, state } from '../state.js';

// Timers longer than this are re-armed rather than trusted (setTimeout
// overflows past 24.8 days, and laptops sleep).
const MAX_TIMER_MS = 60 * 60 * 1000;

function goneText(gone) {
  switch (gone.reason) {
    case 'removed':
      return gone.by ? t('groups.goneRemovedBy', { name: gone.name, by: gone.by.display_name }) : t('groups.goneRemoved', { name: gone.name });
    case 'left':
      return t('groups.goneLeft', { name: gone.name });
    default:
      return t('groups.goneDissolved', { name: gone.name });
  }
}

function mutedUntil(until, groupId) {
  return { text: t('mute.youUntil', { time: formatUntil(until) }), until, groupId };
}

function groupBlock(s, chat, now) {
  const g = groupOfSummary(s);
  if (g?.me) {
    const b = speakBlock(g, now);
    if (!b) return null;
    if (b.kind === 'muteAll') return { text: t('mute.allReason') };
    if (b.until === null) return { text: t('mute.youForever') };
    return mutedUntil(b.until, g.id);
  }
  // The group's detail has not arrived: go by what the server said.
  if (chat.refusal?.code === 'muted') {
    const until = chat.refusal.until ? Date.parse(chat.refusal.until) : null;
    if (until === null) return { text: t('mute.youMuted') };
    if (until > now) return mutedUntil(until, g?.id);
    return null;
  }
  return s.can_send ? null : { text: t('chat.cannotSendHere') };
}

function tempText(s, code) {
  const group = s.group?.name ?? '';
  const name = s.peer?.display_name ?? '';
  switch (code) {
    case 'no_shared_group': return t('temp.noSharedGroup', { group });
    case 'temp_sessions_off': return t('temp.off', { group });
    case 'refused': return t('temp.refused', { name });
    default: break;
  }
  const g = state.groups.get(s.group?.id);
  if (!g) return t('temp.noSharedGroup', { group });
  if (!g.allow_temp_sessions) return t('temp.off', { group });
  return t('temp.cannotSend', { name });
}

// sendBlock is why the user cannot send in conversation s now, as
// {text, until?, groupId?}, or null when they can.
export function sendBlock(s, chat, now = Date.now()) {
  const gone = state.goneGroups.get(s.id);
  if (gone) return { text: goneText(gone) };
  if (s.kind === 'group') return groupBlock(s, chat, now);
  const code = chat.refusal?.code;
  if (s.kind === 'temp') return s.can_send && !code ? null : { text: tempText(s, code) };
  const name = s.peer?.display_name ?? '';
  if (code === 'refused') return { text: t('chat.refused', { name }) };
  if (s.can_send && !code) return null;
  return { text: s.peer ? t('chat.cannotSend', { name }) : t('chat.cannotSendHere') };
}

// CannotSend stands where the composer would.
export function CannotSend({ block, children }) {
  const [wakes, setWakes] = useState(0);
  useEffect(() => {
    if (!block.until) return undefined;
    const left = block.until - Date.now();
    const timer = setTimeout(() => {
      if (Date.now() >= block.until && block.groupId) refreshGroupSoon(block.groupId, 1500);
      setWakes((n) => n + 1); // re-arms a long wait
      emit();
    }, Math.max(0, Math.min(left + 50, MAX_TIMER_MS)));
    return () => clearTimeout(timer);
  }, [block.until, wakes]);
  return html`<div class="composer-disabled" data-testid="composer-disabled" role="status">
    <span data-testid="composer-disabled-reason" data-until=${block.until ? new Date(block.until).toISOString() : undefined}>${block.text}</span>
    ${children}
  </div>`;
}
