// chats.js: the state of each conversation the user has opened, kept while
// they switch between chats (the "GLOBAL_SESSION_CACHE" of seed 004, done
// with data instead of saved HTML): loaded messages, whether older ones
// exist, sends waiting for their ack, the draft, and the scroll position.
//
// Messages are identified by (conversation_id, seq): each chat keeps them
// sorted by seq with a set of the seqs it holds, so the same message arriving
// twice (live frame, ack, catch-up page, replay after a reconnect) is
// stored once. A recall (a message of kind "recall") blanks the message it
// names wherever it arrives from.

import { api } from './api.js';
import { applySystem, noteMutedRefusal } from './groups.js';
import { clearTyping, typingDone } from './livestate.js';
import { noteDelivered, sendRead } from './markers.js';
import { live } from './session.js';
import { emit, state } from './state.js';
import { rememberUser } from './users.js';

export const PAGE_SIZE = 50;
export const MESSAGE_MAX_CHARS = 4000;
// RECALL_WINDOW_MS is how long after sending a sender may recall a message
// (chat.RecallWindow on the server).
export const RECALL_WINDOW_MS = 2 * 60 * 1000;

// ChatState of one conversation.
function newChat() {
  return {
    messages: [], // Message, ascending by seq; the array is replaced on change
    seqs: new Set(), // seqs in messages
    loaded: false, // the newest page arrived
    loading: false,
    loadError: null,
    hasMore: false, // older messages exist on the server
    loadingOlder: false,
    pending: [], // {client_id, body, created_at, status: sending|failed, error}
    draft: '', // written by the composer as the user types, without emit
    scroll: null, // {top, atBottom} saved when the chat pane unmounts
    catchingUp: false,
    catchUpAgain: false,
    refusal: null, // {code, until} of the last send the server refused for a reason that lasts
  };
}

export function chatOf(id) {
  let c = state.chats.get(id);
  if (!c) {
    c = newChat();
    state.chats.set(id, c);
  }
  return c;
}

// charCount counts characters as the server does (code points), not UTF-16
// units.
export function charCount(s) {
  let n = 0;
  for (const _ of s) n++; // eslint-disable-line no-unused-vars
  return n;
}

export function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // randomUUID exists only in secure contexts; plain http on a LAN is not.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// contiguousTop is the highest seq up to which the chat has every message
// from its oldest loaded one: where a catch-up has to start.
function contiguousTop(c) {
  const m = c.messages;
  if (m.length === 0) return 0;
  let top = m[0].seq;
  for (let i = 1; i < m.length && m[i].seq === top + 1; i++) top = m[i].seq;
  return top;
}

// mergeMessages stores messages of conversation id, dropping ones it has,
// and settles the pending sends they answer. It updates the summary too.
export function mergeMessages(id, msgs) {
  const c = chatOf(id);
  const fresh = [];
  const mine = new Set();
  for (const m of msgs) {
    if (m.sender_id === state.me?.id) mine.add(m.client_id);
    if (c.seqs.has(m.seq)) continue;
    c.seqs.add(m.seq);
    fresh.push(m);
  }
  if (fresh.length) c.messages = c.messages.concat(fresh).sort((a, b) => a.seq - b.seq);
  for (const m of fresh) if (m.kind === 'recall') applyRecall(c, m);
  if (mine.size && c.pending.some((p) => mine.has(p.client_id))) {
    c.pending = c.pending.filter((p) => !mine.has(p.client_id));
  }
  const newest = msgs.reduce((a, m) => (!a || m.seq > a.seq ? m : a), null);
  if (newest) noteNewest(id, newest);
  emit();
}

// applyRecall blanks the message a recall names, as the server stored it:
// empty body, no data, recalled_at and recalled_by set.
function applyRecall(c, r) {
  const seq = r.data?.seq;
  if (r.data?.by) rememberUser(r.data.by);
  const i = c.messages.findIndex((m) => m.seq === seq);
  if (i < 0 || c.messages[i].recalled_at) return;
  const blank = { ...c.messages[i], body: '', recalled_at: r.created_at, recalled_by: r.data?.by?.id ?? r.sender_id };
  delete blank.data;
  c.messages = c.messages.slice();
  c.messages[i] = blank;
}

// noteNewest moves the summary's last message forward (never back).
function noteNewest(id, m) {
  const s = state.conversations.get(id);
  if (!s || m.seq <= s.last_seq) return;
  state.conversations.set(id, { ...s, last_seq: m.seq, last_message: m });
}

// receiveLive handles a message frame: a new message in one of the user's
// conversations, possibly the user's own from another tab.
export function receiveLive(m) {
  const id = m.conversation_id;
  const s = state.conversations.get(id);
  if (m.kind === 'system' && (!s || m.seq > s.last_seq)) applySystem(m);
  if (!s) {
    refreshSummary(id);
  } else if (m.seq > s.last_seq) {
    const fromPeer = m.sender_id !== state.me?.id;
    const unread = fromPeer && m.seq > s.last_read_seq ? s.unread + 1 : s.unread;
    state.conversations.set(id, { ...s, last_seq: m.seq, last_message: m, unread });
  }
  const c = state.chats.get(id);
  if (c && (c.loaded || c.loading)) {
    const gap = c.loaded && c.messages.length > 0 && m.seq > c.messages[c.messages.length - 1].seq + 1;
    mergeMessages(id, [m]);
    if (gap) catchUp(id);
  }
  if (m.sender_id !== state.me?.id) {
    clearTyping(id, m.sender_id);
    noteDelivered(id, m.seq);
  }
  markReadIfVisible(id);
  emit();
}

// CURSOR_MAX_CONVERSATIONS is how many conversations the server accepts in
// a cursor (maxCursorConversations in api/stream.go).
const CURSOR_MAX_CONVERSATIONS = 2000;

// cursorConversations is the conversation part of the stream's cursor: for
// each conversation, the newest message the client holds without a gap
// before it (a loaded chat), or the newest its list row knows. Past the
// server's limit, loaded chats and then the most recent ones come first.
export function cursorConversations() {
  const loaded = [];
  const rest = [];
  for (const [id, s] of state.conversations) {
    const c = state.chats.get(id);
    if (c?.loaded && c.messages.length) loaded.push([id, contiguousTop(c)]);
    else rest.push([id, s.last_seq ?? 0]);
  }
  if (loaded.length + rest.length <= CURSOR_MAX_CONVERSATIONS) return loaded.concat(rest);
  const recent = sortedConversations().map((s) => s.id);
  const rank = new Map(recent.map((id, i) => [id, i]));
  rest.sort((a, b) => rank.get(a[0]) - rank.get(b[0]));
  return loaded.concat(rest).slice(0, CURSOR_MAX_CONVERSATIONS);
}

// reloadConversation answers a resync of one conversation: too much was
// missed to replay, so its row and its newest page are loaded afresh.
export function reloadConversation(id) {
  refreshSummary(id);
  const c = state.chats.get(id);
  if (!c || (!c.loaded && !c.loading)) return;
  state.chats.set(id, { ...newChat(), draft: c.draft, pending: c.pending, refusal: c.refusal });
  ensureLoaded(id);
  emit();
}

const summaryFetches = new Map();

// refreshSummary (re)loads one conversation's row of the list.
export function refreshSummary(id) {
  if (summaryFetches.has(id)) return summaryFetches.get(id);
  const p = api.conversation(id)
    .then((r) => {
      const had = state.conversations.get(id);
      const s = r.conversation;
      // A receipt frame may have come while the row was on its way.
      if (had) {
        s.peer_delivered_seq = Math.max(s.peer_delivered_seq ?? 0, had.peer_delivered_seq ?? 0);
        s.peer_last_read_seq = Math.max(s.peer_last_read_seq ?? 0, had.peer_last_read_seq ?? 0);
      }
      state.conversations.set(id, s);
      const c = state.chats.get(id);
      if (c && r.conversation.can_send && c.refusal?.code !== 'muted') c.refusal = null;
      emit();
      return r.conversation;
    })
    .catch(() => null)
    .finally(() => summaryFetches.delete(id));
  summaryFetches.set(id, p);
  return p;
}

// ensureLoaded fetches the newest page of a conversation the first time it
// is opened.
export async function ensureLoaded(id) {
  const c = chatOf(id);
  if (c.loaded || c.loading) return;
  c.loading = true;
  c.loadError = null;
  emit();
  try {
    const r = await api.messagesBefore(id, undefined, PAGE_SIZE);
    c.hasMore = r.has_more;
    c.loaded = true;
    mergeMessages(id, r.messages);
  } catch (err) {
    c.loadError = err;
  } finally {
    c.loading = false;
    emit();
  }
  if (c.loaded) markReadIfVisible(id);
}

// loadOlder fetches the page before the oldest loaded message.
export async function loadOlder(id) {
  const c = chatOf(id);
  if (!c.loaded || !c.hasMore || c.loadingOlder || c.messages.length === 0) return;
  c.loadingOlder = true;
  emit();
  try {
    const r = await api.messagesBefore(id, c.messages[0].seq, PAGE_SIZE);
    c.hasMore = r.has_more;
    mergeMessages(id, r.messages);
  } catch {
    // the next scroll tries again
  } finally {
    c.loadingOlder = false;
    emit();
  }
}

// catchUp fetches what a loaded conversation missed: every message after
// its contiguous top, page by page. A reconnect does not need it (the
// stream replays from the cursor); a gap seen in live frames does.
export async function catchUp(id) {
  const c = state.chats.get(id);
  if (!c || !c.loaded) return;
  if (c.catchingUp) {
    c.catchUpAgain = true;
    return;
  }
  c.catchingUp = true;
  try {
    for (;;) {
      const r = await api.messagesAfter(id, contiguousTop(c), 200);
      mergeMessages(id, r.messages);
      if (!r.has_more || r.messages.length === 0) break;
    }
  } catch {
    // the next reconnect or gap tries again
  } finally {
    c.catchingUp = false;
  }
  if (c.catchUpAgain) {
    c.catchUpAgain = false;
    catchUp(id);
  }
  markReadIfVisible(id);
}

// sendMessage shows the text at once as pending and delivers it.
export function sendMessage(id, body) {
  const c = chatOf(id);
  const p = { client_id: newClientId(), body, created_at: new Date().toISOString(), status: 'sending', error: null };
  c.pending = [...c.pending, p];
  emit();
  typingDone(id);
  deliver(id, p.client_id);
}

// retryMessage delivers a failed send again with the same client_id, so
// the server stores it at most once.
export function retryMessage(id, clientId) {
  const c = chatOf(id);
  c.pending = c.pending.map((p) => (p.client_id === clientId ? { ...p, status: 'sending', error: null } : p));
  emit();
  deliver(id, clientId);
}

// retryFailedSends delivers again, each with its own client_id, the sends
// that failed because the network or the server was away, once the live
// connection is back. The server stores each at most once.
export function retryFailedSends() {
  for (const [id, c] of state.chats) {
    for (const p of c.pending) {
      const code = p.error?.code;
      if (p.status === 'failed' && (code === 'network' || code === 'unavailable')) retryMessage(id, p.client_id);
    }
  }
}

export function discardMessage(id, clientId) {
  const c = chatOf(id);
  c.pending = c.pending.filter((p) => p.client_id !== clientId);
  emit();
}

// deliver sends over the socket when it is up, and over HTTP when it is not
// or when the socket drops before the ack.
async function deliver(id, clientId) {
  const c = chatOf(id);
  const p = c.pending.find((x) => x.client_id === clientId);
  if (!p) return;
  try {
    let msg;
    try {
      const ack = await live.request({ type: 'send', conversation_id: id, client_id: clientId, body: p.body });
      msg = ack.message;
    } catch (err) {
      if (err.code !== 'network') throw err;
      msg = (await api.sendMessage(id, clientId, p.body)).message;
    }
    c.refusal = null;
    mergeMessages(id, [msg]);
    markReadIfVisible(id);
  } catch (err) {
    c.pending = c.pending.map((x) => (x.client_id === clientId ? { ...x, status: 'failed', error: err } : x));
    if (LASTING_REFUSALS.has(err.code)) c.refusal = { code: err.code, until: err.until ?? null };
    if (err.code === 'muted') noteMutedRefusal(id, err);
    emit();
    if (LASTING_REFUSALS.has(err.code)) refreshSummary(id);
  }
}

// recallMessage recalls (or, for a group's admin, deletes) message seq; the
// recall message the server answers with blanks it at once.
export async function recallMessage(id, seq) {
  const r = await api.recall(id, seq);
  mergeMessages(id, [r.message]);
}

// LASTING_REFUSALS are the reasons for a refused send that hold until
// something changes: the composer says so instead of inviting a retry.
export const LASTING_REFUSALS = new Set(['not_friend', 'muted', 'no_shared_group', 'temp_sessions_off', 'refused', 'not_found']);

// markReadIfVisible moves the read marker to the newest message when the
// conversation is on screen.
export function markReadIfVisible(id) {
  if (state.phase !== 'app' || state.activeId !== id || document.visibilityState !== 'visible') return;
  const s = state.conversations.get(id);
  if (!s) return;
  const c = state.chats.get(id);
  const newestLoaded = c?.messages.length ? c.messages[c.messages.length - 1].seq : 0;
  const newest = Math.max(s.last_seq, newestLoaded);
  if (newest <= s.last_read_seq) {
    if (s.unread) {
      state.conversations.set(id, { ...s, unread: 0 });
      emit();
    }
    return;
  }
  state.conversations.set(id, { ...s, last_read_seq: newest, unread: 0 });
  emit();
  sendRead(id, newest);
}

// applyRead handles another tab's read marker.
export function applyRead(id, lastReadSeq) {
  const s = state.conversations.get(id);
  if (!s || lastReadSeq <= s.last_read_seq) return;
  let unread = 0;
  if (lastReadSeq < s.last_seq) {
    const c = state.chats.get(id);
    unread = c?.loaded
      ? c.messages.filter((m) => m.seq > lastReadSeq && m.sender_id !== state.me?.id).length
      : Math.min(s.unread, s.last_seq - lastReadSeq);
  }
  state.conversations.set(id, { ...s, last_read_seq: lastReadSeq, unread });
  emit();
}

// sortedConversations orders the chat list by latest activity.
export function sortedConversations() {
  const when = (s) => Date.parse(s.last_message?.created_at || s.created_at) || 0;
  return [...state.conversations.values()].sort((a, b) => when(b) - when(a) || b.id - a.id);
}

export function totalUnread() {
  let n = 0;
  for (const s of state.conversations.values()) n += s.unread || 0;
  return n;
}
