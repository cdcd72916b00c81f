// livestate.js: what the stream says that is not stored as events
// (docs/DELIVERY.md, "Live state"): friends' presence, who is typing, and
// the other side's delivered and read markers. A client that misses some
// reads the same state back with the lists after a reconnect.

import { api } from './api.js';
import { live } from './session.js';
import { emit, state } from './state.js';

// TYPING_SHOWN_MS is how long "is typing" stays after a typing frame; the
// other side repeats it every TYPING_EVERY_MS while it types.
const TYPING_SHOWN_MS = 5000;
const TYPING_EVERY_MS = 3000;

// applyPresence handles a presence frame: a friend came online or left.
export function applyPresence(f) {
  const friend = state.friends.get(f.user_id);
  if (!friend) return;
  state.friends.set(f.user_id, { ...friend, online: !!f.online, last_seen: f.last_seen ?? friend.last_seen });
  emit();
}

// presenceOf is a friend's {online, last_seen}, or null for someone who is
// not a friend (the server tells only friends).
export function presenceOf(userId) {
  const f = state.friends.get(userId);
  return f ? { online: !!f.online, lastSeen: f.last_seen ?? null } : null;
}

const typingTimers = new Map(); // conversation id -> timer

// applyTyping handles a typing frame from the other side of a chat.
export function applyTyping(f) {
  if (f.user_id === state.me?.id) return;
  const id = f.conversation_id;
  state.typing.set(id, { userId: f.user_id, until: Date.now() + TYPING_SHOWN_MS });
  clearTimeout(typingTimers.get(id));
  typingTimers.set(id, setTimeout(() => clearTyping(id), TYPING_SHOWN_MS));
  emit();
}

// clearTyping ends the indicator: time is up, or the message arrived.
export function clearTyping(id, userId) {
  const t = state.typing.get(id);
  if (!t || (userId !== undefined && t.userId !== userId)) return;
  state.typing.delete(id);
  clearTimeout(typingTimers.get(id));
  typingTimers.delete(id);
  emit();
}

// typingIn is the id of the user typing in conversation id, or null.
export function typingIn(id) {
  const t = state.typing.get(id);
  return t && t.until > Date.now() ? t.userId : null;
}

const typingSent = new Map(); // conversation id -> when we last said so

// notifyTyping tells the other side of a one-to-one or temporary chat that
// the user is typing, at most every TYPING_EVERY_MS.
export function notifyTyping(id) {
  const s = state.conversations.get(id);
  if (!s || (s.kind !== 'direct' && s.kind !== 'temp') || !s.can_send) return;
  const now = Date.now();
  if (now - (typingSent.get(id) ?? 0) < TYPING_EVERY_MS) return;
  typingSent.set(id, now);
  if (!live.notify({ type: 'typing', conversation_id: id })) api.typing(id).catch(() => { /* only a hint */ });
}

// typingDone lets the next keystroke say "typing" again at once: the
// message just sent ended the other side's indicator.
export function typingDone(id) { typingSent.delete(id); }

// applyReceipt handles the other side's delivered and read markers.
export function applyReceipt(f) {
  if (f.user_id === state.me?.id) return;
  const s = state.conversations.get(f.conversation_id);
  if (!s) return;
  const delivered = Math.max(s.peer_delivered_seq ?? 0, f.delivered_seq ?? 0);
  const read = Math.max(s.peer_last_read_seq ?? 0, f.read_seq ?? 0);
  if (delivered === s.peer_delivered_seq && read === s.peer_last_read_seq) return;
  state.conversations.set(s.id, { ...s, peer_delivered_seq: delivered, peer_last_read_seq: read });
  emit();
}

// receiptOf is what the user's own message seq shows in summary s:
// 'read', 'delivered' or 'sent'; null where there are no receipts (groups).
export function receiptOf(s, seq) {
  if (!s || (s.kind !== 'direct' && s.kind !== 'temp')) return null;
  if ((s.peer_last_read_seq ?? 0) >= seq) return 'read';
  if ((s.peer_delivered_seq ?? 0) >= seq) return 'delivered';
  return 'sent';
}
