// markers.js: the read and delivery markers the client sends. Each is
// coalesced per conversation (a burst of messages becomes one marker for
// the newest), goes over the WebSocket when that is the transport, and over
// HTTP otherwise or when the socket drops before the ack.

import { api } from './api.js';
import { live } from './session.js';
import { state } from './state.js';

const KINDS = {
  read: { delay: 150, http: (id, seq) => api.markRead(id, seq) },
  // Delivery receipts exist in one-to-one and temporary chats only; the
  // server refuses them for groups.
  delivered: { delay: 300, http: (id, seq) => api.markDelivered(id, seq) },
};

// pending: kind -> conversation id -> {seq: wanted, sent: confirmed, timer, busy}
let pending = { read: new Map(), delivered: new Map() };

// resetMarkers forgets the markers of the user who signed out.
export function resetMarkers() {
  for (const m of Object.values(pending)) for (const r of m.values()) clearTimeout(r.timer);
  pending = { read: new Map(), delivered: new Map() };
}

function queue(kind, id, seq) {
  const m = pending[kind];
  let r = m.get(id);
  if (!r) {
    r = { seq: 0, sent: 0, timer: null, busy: false };
    m.set(id, r);
  }
  if (seq <= r.sent && kind === 'delivered') return;
  r.seq = Math.max(r.seq, seq);
  if (!r.timer && !r.busy) r.timer = setTimeout(() => flush(kind, id, r), KINDS[kind].delay);
}

async function flush(kind, id, r) {
  r.timer = null;
  r.busy = true;
  const seq = r.seq;
  try {
    await live.request({ type: kind, conversation_id: id, seq }).catch((err) => {
      if (err.code === 'network') return KINDS[kind].http(id, seq);
      throw err;
    });
    r.sent = Math.max(r.sent, seq);
  } catch {
    // the next reconnect (resync) restores the server's truth
  }
  r.busy = false;
  if (pending[kind].get(id) !== r) return; // signed out meanwhile
  if (r.seq > seq) queue(kind, id, r.seq);
}

// sendRead moves the user's read marker of conversation id to seq.
export function sendRead(id, seq) { queue('read', id, seq); }

// noteDelivered tells the server that the client received conversation id's
// messages up to seq, in a one-to-one or temporary chat.
export function noteDelivered(id, seq) {
  const s = state.conversations.get(id);
  if (!s || (s.kind !== 'direct' && s.kind !== 'temp')) return;
  queue('delivered', id, seq);
}

// deliveredAfterSync confirms what the freshly loaded chat list shows: the
// newest message of every chat with unread messages from the other side.
export function deliveredAfterSync() {
  for (const s of state.conversations.values()) {
    if (s.unread > 0 && s.last_message && s.last_message.sender_id !== state.me?.id) noteDelivered(s.id, s.last_seq);
  }
}
