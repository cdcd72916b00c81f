// members.js: the member lists of groups, fetched when a group's chat is
// opened and kept current by live system messages; who may do what to whom;
// and the moderation actions (remove, mute, roles, ownership) and temporary
// chats that start from a member.

import { api } from './api.js';
import { ROLE_RANK, groupByConversation, isAdminOf, loadGroupDetail, myRole } from './groups.js';
import { compareNames } from './i18n.js';
import { emit, state } from './state.js';
import { rememberUser } from './users.js';

function entryOf(groupId) {
  let e = state.members.get(groupId);
  if (!e) {
    e = { list: [], loaded: false, loading: false, error: null };
    state.members.set(groupId, e);
  }
  return e;
}

// sortMembers puts the owner first, then admins, then members, each by
// name.
function sortMembers(list) {
  return list.slice().sort((a, b) => (ROLE_RANK[b.role] ?? 0) - (ROLE_RANK[a.role] ?? 0) ||
    compareNames(a.user.display_name, b.user.display_name));
}

const fetches = new Map();

export function loadMembers(groupId) {
  if (fetches.has(groupId)) return fetches.get(groupId);
  const e = entryOf(groupId);
  e.loading = true;
  e.error = null;
  emit();
  const p = api.members(groupId)
    .then((r) => {
      for (const m of r.members) rememberUser(m.user);
      if (!state.groups.has(groupId)) return;
      const fresh = entryOf(groupId);
      fresh.list = sortMembers(r.members);
      fresh.loaded = true;
      const g = state.groups.get(groupId);
      if (g && g.member_count !== r.members.length) state.groups.set(groupId, { ...g, member_count: r.members.length });
    })
    .catch((err) => { entryOf(groupId).error = err; })
    .finally(() => {
      fetches.delete(groupId);
      const fresh = state.members.get(groupId);
      if (fresh) fresh.loading = false;
      emit();
    });
  fetches.set(groupId, p);
  return p;
}

// ensureMembers loads a group's members the first time they are needed.
export function ensureMembers(groupId) {
  const e = state.members.get(groupId);
  if (!e || (!e.loaded && !e.loading && !e.error)) loadMembers(groupId);
}

const soon = new Map();

// refreshMembersSoon refetches a member list that is in use, once a burst
// of joins and leaves settles.
export function refreshMembersSoon(groupId) {
  if (!state.members.get(groupId)?.loaded) return;
  clearTimeout(soon.get(groupId));
  soon.set(groupId, setTimeout(() => {
    soon.delete(groupId);
    if (state.groups.has(groupId)) loadMembers(groupId);
  }, 300));
}

export function membersOf(groupId) { return state.members.get(groupId); }

export function memberOf(groupId, userId) {
  return state.members.get(groupId)?.list.find((m) => m.user.id === userId) ?? null;
}

// patchMember changes one member of a loaded list (a live system message
// or an action's answer).
export function patchMember(groupId, userId, fields) {
  const e = state.members.get(groupId);
  if (!e || userId === undefined) return;
  let changed = false;
  const list = e.list.map((m) => {
    if (m.user.id !== userId) return m;
    changed = true;
    return { ...m, ...fields };
  });
  if (changed) e.list = sortMembers(list);
}

function putMember(groupId, member) {
  if (!member) return;
  rememberUser(member.user);
  // muted_until is left out of the JSON when there is none.
  patchMember(groupId, member.user.id, { ...member, muted_until: member.muted_until ?? null });
  emit();
}

export function isMutedNow(member, now = Date.now()) {
  return !!member?.muted_until && Date.parse(member.muted_until) > now;
}

// canModerate: admins act on members, the owner on everyone else.
export function canModerate(g, member) {
  if (!g || !member || member.user.id === state.me?.id || !isAdminOf(g)) return false;
  return (ROLE_RANK[myRole(g)] ?? 0) > (ROLE_RANK[member.role] ?? 0);
}

export function isOwnerOf(g) { return myRole(g) === 'owner'; }

// addMember adds a person directly (admins, any join policy).
export async function addMember(g, user) {
  const r = await api.addMember(g.id, user.id);
  rememberUser(r.member.user);
  const e = entryOf(g.id);
  if (!e.list.some((m) => m.user.id === r.member.user.id)) e.list = sortMembers([...e.list, r.member]);
  const fresh = state.groups.get(g.id);
  if (fresh) state.groups.set(g.id, { ...fresh, member_count: fresh.member_count + 1 });
  emit();
}

export async function removeMember(g, member) {
  await api.removeMember(g.id, member.user.id);
  const e = state.members.get(g.id);
  if (e) e.list = e.list.filter((m) => m.user.id !== member.user.id);
  const fresh = state.groups.get(g.id);
  if (fresh) state.groups.set(g.id, { ...fresh, member_count: Math.max(0, fresh.member_count - 1) });
  emit();
}

// muteMember mutes for minutes, or until unmuted when minutes is null.
export async function muteMember(g, member, minutes) {
  const r = await api.mute(g.id, member.user.id, minutes);
  putMember(g.id, r.member);
}

export async function unmuteMember(g, member) {
  const r = await api.unmute(g.id, member.user.id);
  putMember(g.id, r.member);
}

export async function setAdmin(g, member, admin) {
  const r = await api.setRole(g.id, member.user.id, admin ? 'admin' : 'member');
  putMember(g.id, r.member);
}

export async function transferOwnership(g, member) {
  await api.transferGroup(g.id, member.user.id);
  await Promise.all([loadMembers(g.id), loadGroupDetail(g.id)]);
}

// openChatWith opens a private chat with a member: the direct chat with a
// friend, otherwise a temporary session from the group. It answers the
// conversation id.
export async function openChatWith(g, user) {
  const f = state.friends.get(user.id);
  if (f) return f.conversation_id;
  const r = await api.openTemp(g.id, user.id);
  state.conversations.set(r.conversation.id, r.conversation);
  const c = state.chats.get(r.conversation.id);
  if (c) c.refusal = null;
  emit();
  return r.conversation.id;
}

// groupIdOfConversation is the group behind a group or temporary chat.
export function groupIdOfConversation(s) {
  if (!s) return null;
  return s.group_id ?? s.group?.id ?? groupByConversation(s.id)?.id ?? null;
}
