// session.js: signing in and out, the live connection, and keeping the
// lists (conversations, friends, requests) in step with the server.
//
// After every (re)connect the server sends a hello and then what our cursor
// missed: the user events after `after`, and the messages of each
// conversation we hold after its seq (`convs`), or a resync where that is
// too much. The client refetches the lists, and while that is under way it
// queues incoming frames; it then replays them on top of the fresh lists.
// Every event handler sets state rather than increments it, and events and
// messages are de-duplicated by their seqs, so replaying one the fresh lists
// already reflect changes nothing.

import { api, onUnauthorized } from './api.js';
import {
  applyRead, cursorConversations, ensureLoaded, markReadIfVisible, receiveLive, refreshSummary, reloadConversation, retryFailedSends,
} from './chats.js';
import { applyGroupEvent, loadGroupDetails, setGroups } from './groups.js';
import { t } from './i18n.js';
import { Live } from './live.js';
import { applyPresence, applyReceipt, applyTyping } from './livestate.js';
import { deliveredAfterSync, resetMarkers } from './markers.js';
import { routeConversation, setActiveFromRoute } from './router.js';
import { emit, resetState, state, toast } from './state.js';
import { applyBlockChange, rememberUser } from './users.js';

let lastEventSeq = null; // cursor of the user event log; null until the first hello
let helloEventSeq = null; // the newest event when the current connection opened
let syncGen = 0;
let syncing = false;
let queued = []; // frames that arrived during a sync, as closures
let fallbackTimer = null;

export const live = new Live({
  onState(s, transport) {
    state.conn = s;
    state.transport = transport;
    emit();
  },
  onHello(frame) {
    clearTimeout(fallbackTimer);
    if (frame.user) state.me = frame.user;
    helloEventSeq = frame.last_event_seq;
    if (lastEventSeq === null || frame.last_event_seq < lastEventSeq) lastEventSeq = frame.last_event_seq;
    resync();
  },
  onEvent: (ev) => whenSynced(() => applyEvent(ev)),
  onMessage: (m) => whenSynced(() => receiveLive(m)),
  onFrame: applyFrame,
  onSessionEnded: () => endSession('session_ended'),
  onFatal() {
    toast(() => t('conn.closed'), 'danger');
  },
  checkServer: () => api.me().then(() => 'ok', (err) => (err.status === 401 ? 'gone' : 'unreachable')),
}, () => ({ after: lastEventSeq, convs: lastEventSeq === null ? [] : cursorConversations() }));

// applyFrame handles the stream's frames other than events and messages.
function applyFrame(f) {
  switch (f.type) {
    case 'presence':
      whenSynced(() => applyPresence(f));
      break;
    case 'typing':
      applyTyping(f);
      break;
    case 'receipt':
      whenSynced(() => applyReceipt(f));
      break;
    case 'resync':
      if (f.scope === 'conversation') {
        whenSynced(() => reloadConversation(f.conversation_id));
      } else {
        // The events we missed are gone: the lists, reloading since the
        // hello, are the truth; events continue after the hello's.
        if (helloEventSeq !== null) lastEventSeq = helloEventSeq;
        if (!syncing) resync();
      }
      break;
    default:
      break; // a frame newer than this client
  }
}

onUnauthorized(() => {
  if (state.phase === 'app') endSession('session_ended');
});

function whenSynced(fn) {
  if (syncing) queued.push(fn);
  else fn();
}

// boot decides between the login screen and the app.
export async function boot() {
  try {
    const r = await api.me();
    startSession(r.user);
  } catch (err) {
    if (err.status === 401) {
      state.phase = 'auth';
    } else {
      state.phase = 'failed';
      state.bootError = err;
    }
    emit();
  }
}

export async function login(username, password) {
  const r = await api.login(username, password);
  startSession(r.user);
}

export async function register(username, displayName, password) {
  const r = await api.register(username, displayName, password);
  startSession(r.user);
}

export async function logout() {
  live.stop();
  try {
    await api.logout();
  } catch { /* the cookie goes anyway when the session is gone */ }
  history.replaceState(null, '', '/');
  endSession(null);
}

function startSession(user) {
  resetState();
  resetMarkers();
  lastEventSeq = null;
  helloEventSeq = null;
  state.me = user;
  state.phase = 'app';
  state.authNotice = null;
  emit();
  live.start();
  // If the socket cannot be opened (a proxy that refuses WebSockets, say),
  // still show the lists.
  fallbackTimer = setTimeout(() => { if (!state.listsLoaded) resync(); }, 4000);
  setActiveFromRoute();
}

function endSession(notice) {
  live.stop();
  clearTimeout(fallbackTimer);
  syncGen++;
  syncing = false;
  queued = [];
  lastEventSeq = null;
  helloEventSeq = null;
  resetMarkers();
  resetState();
  state.phase = 'auth';
  state.authNotice = notice;
  emit();
}

// resync refetches the lists after a (re)connect, queueing live frames
// meanwhile, then replays them. The loaded conversations need no fetch: the
// stream replays what they missed from the cursor (convs), or says resync.
async function resync() {
  const gen = ++syncGen;
  syncing = true;
  queued = [];
  for (let attempt = 0; ; attempt++) {
    try {
      const [c, f, r, g, b] = await Promise.all([
        api.conversations(), api.friends(), api.friendRequests(), api.myGroups(), api.blocks()]);
      if (gen !== syncGen) return;
      const before = state.conversations;
      state.conversations = new Map(c.conversations.map((s) => [s.id, s]));
      // A group the user was removed from stays readable here, with its notice.
      for (const id of state.goneGroups.keys()) {
        if (!state.conversations.has(id) && before.has(id)) state.conversations.set(id, { ...before.get(id), can_send: false });
      }
      setGroups(g.groups);
      state.blocks = new Map(b.users.map((u) => [u.id, u]));
      for (const u of b.users) rememberUser(u);
      state.friends = new Map(f.friends.map((x) => [x.user.id, x]));
      state.incoming = new Map(r.incoming.filter(isPending).map((x) => [x.id, x]));
      state.outgoing = new Map(r.outgoing.filter(isPending).map((x) => [x.id, x]));
      state.listsLoaded = true;
      break;
    } catch (err) {
      if (gen !== syncGen || err.status === 401) return;
      await new Promise((res) => setTimeout(res, Math.min(30000, 1000 * 2 ** attempt)));
      if (gen !== syncGen) return;
    }
  }
  syncing = false;
  const frames = queued;
  queued = [];
  for (const fn of frames) fn();
  deliveredAfterSync();
  retryFailedSends();
  loadGroupDetails();
  const id = routeConversation();
  if (id !== null && !state.conversations.has(id)) {
    const s = await refreshSummary(id);
    if (!s && gen === syncGen) setActiveFromRoute(true);
  } else if (state.activeId !== null) {
    ensureLoaded(state.activeId);
    markReadIfVisible(state.activeId);
  }
  emit();
}

function isPending(fr) { return fr.status === 'pending'; }

// applyEvent applies one user event, once.
function applyEvent(ev) {
  if (lastEventSeq !== null && ev.seq <= lastEventSeq) return;
  lastEventSeq = ev.seq;
  const d = ev.data;
  switch (ev.type) {
    case 'friend_request.received':
      state.incoming.set(d.id, d);
      toast(() => t('toast.requestReceived', { name: d.from?.display_name ?? '' }));
      break;
    case 'friend_request.sent':
      state.outgoing.set(d.id, d);
      break;
    case 'friend_request.accepted':
    case 'friend_request.declined':
    case 'friend_request.canceled': {
      const mineSent = state.outgoing.has(d.id);
      state.incoming.delete(d.id);
      state.outgoing.delete(d.id);
      if (mineSent && d.from_id === state.me?.id && ev.type === 'friend_request.accepted') {
        toast(() => t('toast.requestAccepted', { name: d.to?.display_name ?? '' }), 'success');
      }
      break;
    }
    case 'friend.added':
      state.friends.set(d.user.id, d);
      refreshSummary(d.conversation_id);
      break;
    case 'friend.removed': {
      state.friends.delete(d.user_id);
      const s = state.conversations.get(d.conversation_id);
      if (s) state.conversations.set(s.id, { ...s, can_send: false });
      break;
    }
    case 'conversation.read':
      applyRead(d.conversation_id, d.last_read_seq);
      break;
    case 'profile.updated':
      state.me = d;
      break;
    case 'blocks.changed':
      applyBlockChange(d);
      break;
    default:
      applyGroupEvent(ev); // or an event type newer than this client
      break;
  }
  emit();
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && state.activeId !== null) markReadIfVisible(state.activeId);
});
