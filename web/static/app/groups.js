// groups.js: the groups the user is in: the list, each group's settings and
// the user's own membership in it (role, mute), the join requests waiting
// in groups the user moderates, and how events and live system messages
// change all of that.
//
// The list comes from GET /api/groups/mine; the user's membership (`me`)
// from GET /api/groups/{id}, fetched per group in the background after
// every sync. Live system messages then keep both current at once; what
// they do not say exactly (member counts) is fetched again.

import { api } from './api.js';
import { refreshSummary } from './chats.js';
import { t } from './i18n.js';
import { patchMember, refreshMembersSoon } from './members.js';
import { emit, state, toast } from './state.js';
import { rememberUser } from './users.js';

// FOREVER is the end the server gives a mute that lasts until lifted.
export const FOREVER = '9999-12-31T00:00:00Z';

export const ROLE_RANK = { owner: 3, admin: 2, member: 1 };

export function isForever(until) {
  return !!until && new Date(until).getUTCFullYear() >= 9999;
}

// myRole is the user's role in g, or null while unknown.
export function myRole(g) {
  if (!g) return null;
  if (g.me?.role) return g.me.role;
  return g.owner_id === state.me?.id ? 'owner' : null;
}

export function isAdminOf(g) {
  const r = myRole(g);
  return r === 'owner' || r === 'admin';
}

// groupOfSummary is the group of a group conversation's row, if mine.
export function groupOfSummary(s) {
  if (!s || s.kind !== 'group') return null;
  return state.groups.get(s.group_id ?? s.group?.id) ?? null;
}

export function groupByConversation(conversationId) {
  for (const g of state.groups.values()) if (g.conversation_id === conversationId) return g;
  return null;
}

// speakBlock says why the user may not speak in g now, or null:
// {kind: 'muted', until: ms or null for "until unmuted"} or {kind: 'muteAll'}.
export function speakBlock(g, now = Date.now()) {
  if (!g?.me) return null;
  const u = g.me.muted_until;
  if (u && Date.parse(u) > now) return { kind: 'muted', until: isForever(u) ? null : Date.parse(u) };
  if (g.mute_all && g.me.role === 'member') return { kind: 'muteAll' };
  return null;
}

// putGroup stores a member's view of a group, keeping what the new copy
// lacks (my membership).
function putGroup(g) {
  if (!g || !g.conversation_id) return; // a public card, not a group of mine
  const old = state.groups.get(g.id);
  state.groups.set(g.id, { ...old, ...g, me: g.me ?? old?.me ?? null });
  state.goneGroups.delete(g.conversation_id);
  renameConversations(state.groups.get(g.id));
}

// renameConversations puts a group's name in the conversation rows that
// show it (its chat, and temporary chats that came from it).
function renameConversations(g) {
  for (const s of state.conversations.values()) {
    if (s.group?.id === g.id && s.group.name !== g.name) {
      state.conversations.set(s.id, { ...s, group: { ...s.group, name: g.name } });
    }
  }
}

function patchMe(g, fields) {
  return g.me ? { ...g, me: { ...g.me, ...fields } } : g;
}

// setGroups replaces the list after a sync, keeping known memberships.
export function setGroups(list) {
  const old = state.groups;
  state.groups = new Map(list.map((g) => [g.id, { ...g, me: old.get(g.id)?.me ?? null }]));
  for (const g of list) state.goneGroups.delete(g.conversation_id); // back in since
  for (const id of [...state.joinRequests.keys()]) if (!state.groups.has(id)) state.joinRequests.delete(id);
  for (const id of [...state.members.keys()]) if (!state.groups.has(id)) state.members.delete(id);
}

const detailFetches = new Map();

// loadGroupDetail fetches a group with my membership, and the pending join
// requests when I moderate it.
export function loadGroupDetail(id) {
  if (detailFetches.has(id)) return detailFetches.get(id);
  const p = (async () => {
    try {
      const r = await api.group(id);
      if (!r.group.me) return; // not mine (any more): the events say so
      rememberUser(r.group.me.user);
      putGroup(r.group);
      if (!state.conversations.has(r.group.conversation_id)) refreshSummary(r.group.conversation_id);
      if (isAdminOf(r.group)) await loadJoinRequests(id);
      else state.joinRequests.delete(id);
    } catch {
      // the next sync tries again
    } finally {
      detailFetches.delete(id);
      emit();
    }
  })();
  detailFetches.set(id, p);
  return p;
}

// loadGroupDetails fetches every group's detail, a few at a time.
export async function loadGroupDetails() {
  const ids = [...state.groups.keys()];
  const worker = async () => {
    while (ids.length) await loadGroupDetail(ids.shift());
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  for (const id of state.members.keys()) refreshMembersSoon(id); // what changed while offline
}

const soon = new Map(); // group id -> timer

// refreshGroupSoon refetches a group after a burst of changes settles.
export function refreshGroupSoon(id, delay = 400) {
  clearTimeout(soon.get(id));
  soon.set(id, setTimeout(() => {
    soon.delete(id);
    if (state.groups.has(id)) loadGroupDetail(id);
  }, delay));
}

export function sortedGroups() {
  const when = (g) => {
    const s = state.conversations.get(g.conversation_id);
    return Date.parse(s?.last_message?.created_at || s?.created_at || g.created_at) || 0;
  };
  return [...state.groups.values()].sort((a, b) => when(b) - when(a) || b.id - a.id);
}

// Join requests

export async function loadJoinRequests(groupId) {
  const r = await api.joinRequests(groupId);
  for (const x of r.requests) rememberUser(x.user);
  state.joinRequests.set(groupId, new Map(r.requests.filter((x) => x.status === 'pending').map((x) => [x.id, x])));
  emit();
}

export function pendingJoinRequests(groupId) {
  const m = state.joinRequests.get(groupId);
  return m ? [...m.values()].sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at)) : [];
}

export function pendingCount(groupId) { return state.joinRequests.get(groupId)?.size ?? 0; }

export function totalPendingJoins() {
  let n = 0;
  for (const m of state.joinRequests.values()) n += m.size;
  return n;
}

function settleJoinRequest(req) {
  let m = state.joinRequests.get(req.group_id);
  if (req.status !== 'pending') {
    m?.delete(req.id);
    return;
  }
  if (!m) {
    m = new Map();
    state.joinRequests.set(req.group_id, m);
  }
  m.set(req.id, req);
}

// decideJoinRequest approves or rejects. When another admin was first
// (409 conflict) the list is fetched again and the error still thrown, so
// that the view can say what happened.
export async function decideJoinRequest(req, action) {
  try {
    const r = await api.decideJoinRequest(req.id, action);
    settleJoinRequest(r.request);
    emit();
    return r.request;
  } catch (err) {
    if (err.code === 'conflict' || err.code === 'not_found') await loadJoinRequests(req.group_id).catch(() => {});
    throw err;
  }
}

// Actions

const joining = new Set(); // groups this tab is joining: their group.joined needs no toast
const joinToasts = new Map(); // group id -> timer of a "you joined" toast

export async function createGroup(settings) {
  const r = await api.createGroup(settings);
  const g = r.group;
  putGroup({ ...g, me: g.me ?? { group_id: g.id, user: state.me, role: 'owner', joined_at: g.created_at, muted_until: null } });
  await refreshSummary(g.conversation_id);
  emit();
  return state.groups.get(g.id);
}

// joinGroup joins an open group, or asks to join an approval group. It
// answers the server's {joined, group} or {joined: false, request}.
export async function joinGroup(card, note) {
  joining.add(card.id);
  try {
    const r = await api.joinGroup(card.id, note);
    if (r.joined) {
      putGroup(r.group);
      state.myJoinRequests.delete(card.id);
      await refreshSummary(r.group.conversation_id);
      loadGroupDetail(card.id);
    } else if (r.request) {
      state.myJoinRequests.set(card.id, r.request);
    }
    emit();
    return r;
  } catch (err) {
    if (err.code === 'join_pending') {
      state.myJoinRequests.set(card.id, { group_id: card.id, status: 'pending' });
      emit();
    } else if (err.code === 'already_member') {
      loadGroupDetail(card.id);
    }
    throw err;
  } finally {
    setTimeout(() => joining.delete(card.id), 3000);
  }
}

// forgetGroup drops a group the user left or dissolved here, and its chat.
function forgetGroup(g) {
  state.groups.delete(g.id);
  state.joinRequests.delete(g.id);
  state.members.delete(g.id);
  state.conversations.delete(g.conversation_id);
  state.chats.delete(g.conversation_id);
  state.goneGroups.delete(g.conversation_id);
  if (state.panel?.groupId === g.id) state.panel = null;
  emit();
}

export async function leaveGroup(g) {
  await api.leaveGroup(g.id);
  forgetGroup(g);
}

export async function dissolveGroup(g) {
  await api.dissolveGroup(g.id);
  forgetGroup(g);
}

export async function updateGroup(g, settings) {
  const r = await api.updateGroup(g.id, settings);
  putGroup(r.group);
  emit();
  return r.group;
}

export async function setMuteAll(g, on) {
  const r = await api.muteAll(g.id, on);
  putGroup(r.group);
  emit();
}

// noteMutedRefusal records what a refused send said: the user is muted
// (until err.until, or until lifted), or everyone is. The server's view
// follows shortly.
export function noteMutedRefusal(conversationId, err) {
  const g = groupByConversation(conversationId);
  if (!g) return;
  let next = g;
  if (err.until) next = patchMe(g, { muted_until: err.until });
  else if (!(g.mute_all && myRole(g) === 'member')) next = patchMe(g, { muted_until: FOREVER });
  state.groups.set(g.id, next);
  refreshGroupSoon(g.id, 200);
  emit();
}

// Events

// markGone handles the end of a membership: removed, left (in another
// tab) or dissolved. The chat stays, read-only, with a notice.
function markGone(d, reason) {
  state.groups.delete(d.group_id);
  state.joinRequests.delete(d.group_id);
  state.members.delete(d.group_id);
  state.myJoinRequests.delete(d.group_id);
  if (state.panel?.groupId === d.group_id) state.panel = null;
  const s = state.conversations.get(d.conversation_id);
  if (!s) return;
  state.goneGroups.set(d.conversation_id, { group_id: d.group_id, name: d.name, reason, by: d.by ?? null });
  state.conversations.set(s.id, { ...s, can_send: false });
  const by = d.by?.display_name;
  if (reason === 'removed') toast(() => t('groups.toastRemoved', { name: d.name }), 'danger');
  if (reason === 'dissolved' && d.by?.id !== state.me?.id) {
    toast(() => (by ? t('groups.toastDissolvedBy', { name: d.name, by }) : t('groups.toastDissolved', { name: d.name })), 'danger');
  }
}

// applyGroupEvent applies a group or join request event; false for other
// types.
export function applyGroupEvent(ev) {
  const d = ev.data;
  const me = state.me?.id;
  switch (ev.type) {
    case 'group.joined': {
      const isNew = !state.groups.has(d.id);
      putGroup(d);
      state.myJoinRequests.delete(d.id);
      refreshSummary(d.conversation_id);
      loadGroupDetail(d.id);
      if (isNew && d.owner_id !== me && !joining.has(d.id)) {
        // An approval also sends join_request.decided, which says it better.
        clearTimeout(joinToasts.get(d.id));
        joinToasts.set(d.id, setTimeout(() => {
          joinToasts.delete(d.id);
          toast(() => t('groups.toastJoined', { name: d.name }), 'success');
        }, 600));
      }
      return true;
    }
    case 'group.removed':
      markGone(d, 'removed');
      return true;
    case 'group.left':
      markGone(d, 'left');
      return true;
    case 'group.dissolved':
      markGone(d, 'dissolved');
      return true;
    case 'join_request.received':
      rememberUser(d.user);
      settleJoinRequest(d);
      if (d.status === 'pending') {
        toast(() => t('groups.toastJoinRequest', { name: d.user?.display_name ?? '', group: d.group?.name ?? '' }));
      }
      return true;
    case 'join_request.sent':
      if (d.status === 'pending') state.myJoinRequests.set(d.group_id, d);
      return true;
    case 'join_request.decided':
      settleJoinRequest(d);
      if (d.user_id === me) {
        state.myJoinRequests.delete(d.group_id);
        const name = d.group?.name ?? '';
        if (d.status === 'approved') {
          clearTimeout(joinToasts.get(d.group_id));
          joinToasts.delete(d.group_id);
          toast(() => t('groups.toastApproved', { name }), 'success');
        } else if (d.status === 'rejected') {
          toast(() => t('groups.toastRejected', { name }), 'danger');
        }
      }
      return true;
    default:
      return false;
  }
}

// applySystem applies a live system message of a group to the group's
// state. Only live frames come here: history describes the past.
export function applySystem(m) {
  const d = m.data;
  if (!d || typeof d !== 'object') return;
  rememberUser(d.actor);
  rememberUser(d.target);
  const g = groupByConversation(m.conversation_id);
  if (!g) return;
  const me = state.me?.id;
  const targetId = d.target?.id;
  const toMe = targetId !== undefined && targetId === me;
  let next = g;
  switch (d.action) {
    case 'joined':
    case 'added':
    case 'left':
    case 'removed':
      refreshMembersSoon(g.id);
      refreshGroupSoon(g.id);
      break;
    case 'muted': {
      const until = d.until ?? FOREVER;
      if (toMe) next = patchMe(next, { muted_until: until });
      patchMember(g.id, targetId, { muted_until: until });
      break;
    }
    case 'unmuted':
      if (toMe) next = patchMe(next, { muted_until: null });
      patchMember(g.id, targetId, { muted_until: null });
      break;
    case 'mute_all':
      next = { ...next, mute_all: !!d.on };
      break;
    case 'role_changed':
      if (toMe) next = patchMe(next, { role: d.role });
      patchMember(g.id, targetId, { role: d.role });
      if (toMe && d.role === 'admin') loadJoinRequests(g.id).catch(() => {});
      if (toMe && d.role === 'member') state.joinRequests.delete(g.id);
      break;
    case 'owner_changed':
      next = { ...next, owner_id: targetId };
      if (toMe) next = patchMe(next, { role: 'owner', muted_until: null });
      else if (d.actor?.id === me) next = patchMe(next, { role: 'admin' });
      patchMember(g.id, targetId, { role: 'owner', muted_until: null });
      if (d.actor) patchMember(g.id, d.actor.id, { role: 'admin' });
      if (toMe) loadJoinRequests(g.id).catch(() => {});
      break;
    case 'updated':
      if (d.group) {
        const { me: _ignored, ...settings } = d.group; // eslint-disable-line no-unused-vars
        next = { ...next, ...settings };
        if (settings.allow_temp_sessions !== g.allow_temp_sessions) refreshTempChats(g.id);
      }
      break;
    default:
      break;
  }
  if (next !== g) {
    state.groups.set(g.id, next);
    renameConversations(next);
  }
  emit();
}

// refreshTempChats refetches the temporary chats that came from a group
// whose setting changed, since whether they can send did.
function refreshTempChats(groupId) {
  for (const s of state.conversations.values()) {
    if (s.kind !== 'temp' || s.group?.id !== groupId) continue;
    const c = state.chats.get(s.id);
    if (c) c.refusal = null;
    refreshSummary(s.id);
  }
}
