// people.js: friends and friend requests: what the buttons do. Each action
// updates the state from the server's answer at once; the event that
// follows on the socket then changes nothing.

import { api } from './api.js';
import { refreshSummary } from './chats.js';
import { compareNames, t } from './i18n.js';
import { emit, state } from './state.js';

function addFriend(friend) {
  if (!friend) return;
  state.friends.set(friend.user.id, friend);
  refreshSummary(friend.conversation_id);
}

function settle(request) {
  state.incoming.delete(request.id);
  state.outgoing.delete(request.id);
  if (request.status === 'pending') {
    if (request.from_id === state.me?.id) state.outgoing.set(request.id, request);
    else state.incoming.set(request.id, request);
  }
}

// sendFriendRequest returns the server's answer: {request, friend}, where
// friend is set when the other side had already asked us.
export async function sendFriendRequest(toId, note) {
  const r = await api.sendFriendRequest(toId, note);
  settle(r.request);
  addFriend(r.friend);
  emit();
  return r;
}

// decide accepts, declines or cancels a request.
export async function decide(request, action) {
  const r = await api.decideFriendRequest(request.id, action);
  settle(r.request);
  addFriend(r.friend);
  emit();
  return r;
}

export async function removeFriend(userId) {
  const f = state.friends.get(userId);
  await api.removeFriend(userId);
  state.friends.delete(userId);
  const s = f && state.conversations.get(f.conversation_id);
  if (s) state.conversations.set(s.id, { ...s, can_send: false });
  emit();
}

export function sortedFriends() {
  return [...state.friends.values()].sort((a, b) => compareNames(a.user.display_name, b.user.display_name));
}

const byNewest = (a, b) => Date.parse(b.created_at) - Date.parse(a.created_at);
export function incomingRequests() { return [...state.incoming.values()].sort(byNewest); }
export function outgoingRequests() { return [...state.outgoing.values()].sort(byNewest); }

// relationTo tells what the user is to someone found by search.
export function relationTo(user) {
  if (user.id === state.me?.id) return { kind: 'self' };
  const f = state.friends.get(user.id);
  if (f) return { kind: 'friend', friend: f };
  for (const r of state.outgoing.values()) if (r.to_id === user.id) return { kind: 'requested', request: r };
  for (const r of state.incoming.values()) if (r.from_id === user.id) return { kind: 'asked', request: r };
  return { kind: 'none' };
}

export function conversationWith(userId) {
  const f = state.friends.get(userId);
  if (f) return f.conversation_id;
  for (const s of state.conversations.values()) if (s.peer?.id === userId) return s.id;
  return null;
}

// AVATAR_COLOURS is how many avatar colour classes app.css defines.
const AVATAR_COLOURS = 8;
export function avatarClass(userId) {
  return `avatar-c${Math.abs(Number(userId) || 0) % AVATAR_COLOURS}`;
}

// initialOf is the first character (not UTF-16 unit) of a name.
export function initialOf(name) {
  const first = [...(name || '?').trim()][0] || '?';
  return first.toLocaleUpperCase();
}

// conversationTitle names a conversation in the list and the chat header:
// the peer of a direct (or temporary) chat, else its group.
export function conversationTitle(s) {
  return s?.peer?.display_name ?? s?.group?.name ?? t('chat.unknownPeer');
}

// conversationFace is what the avatar of a conversation shows.
export function conversationFace(s) {
  if (s?.peer) return s.peer;
  if (s?.group) return { id: s.group.id, display_name: s.group.name, group: true };
  return null;
}

// groupFace is what a group's avatar shows.
export function groupFace(g) {
  return g ? { id: g.id, display_name: g.name, group: true } : null;
}
