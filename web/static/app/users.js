// users.js: what the client knows about people beyond its friends: the
// names of everyone it has seen (to label the senders of group messages),
// fetched once when a sender is unknown, and the people the user blocked.

import { api } from './api.js';
import { compareNames } from './i18n.js';
import { emit, state } from './state.js';

// rememberUser records a profile seen anywhere (member lists, system
// messages, join requests). It does not emit: callers do, once.
export function rememberUser(u) {
  if (!u || !u.id) return;
  const had = state.users.get(u.id);
  if (had && had.display_name === u.display_name && had.username === u.username) return;
  state.users.set(u.id, u);
}

// Lookups on their way or failed, per users map (a new session starts a
// new map, and with it a clean slate).
let asked = new Set();
let askedFor = null;

// userById returns what the client knows of a user, or null; when it knows
// nothing it asks the server once, and the answer re-renders.
export function userById(id) {
  if (!id) return null;
  if (id === state.me?.id) return state.me;
  const u = state.users.get(id) ?? state.friends.get(id)?.user;
  if (u) return u;
  if (askedFor !== state.users) {
    asked = new Set();
    askedFor = state.users;
  }
  if (!asked.has(id)) {
    asked.add(id);
    const users = state.users;
    api.user(id)
      .then((r) => {
        if (users !== state.users) return;
        rememberUser(r.user);
        emit();
      })
      .catch(() => { /* shown as unknown */ });
  }
  return null;
}

export async function loadBlocks() {
  const r = await api.blocks();
  state.blocks = new Map(r.users.map((u) => [u.id, u]));
  for (const u of r.users) rememberUser(u);
  emit();
}

export function isBlocked(userId) { return state.blocks.has(userId); }

export async function blockUser(user) {
  await api.block(user.id);
  state.blocks.set(user.id, user);
  emit();
}

export async function unblockUser(userId) {
  await api.unblock(userId);
  state.blocks.delete(userId);
  emit();
}

// applyBlockChange handles blocks.changed (from another tab, or our own).
export function applyBlockChange(d) {
  if (!d.blocked) {
    state.blocks.delete(d.user_id);
    return;
  }
  const u = userById(d.user_id);
  if (u) state.blocks.set(u.id, u);
  else loadBlocks().catch(() => {});
}

export function sortedBlocks() {
  return [...state.blocks.values()].sort((a, b) => compareNames(a.display_name, b.display_name));
}
