// transports.js: the three ways to hold the live stream of docs/API.md
// ("The live stream"): a WebSocket, Server-Sent Events, long-polling. Each
// carries the same JSON frames with the same cursor; live.js chooses one,
// and reconnects and falls back between them.
//
// A transport is one connection. new X(cursor, sink) and then open() start
// it; it calls sink.frame(frame) for every frame, in order, and sink.end({code,
// reason}) once when the connection ends by itself (never after close()).
// code is the close code the server gave (a WebSocket close code, or the
// code of a `close` frame), or 0 when the network failed.

// cursorQuery is the query string of a cursor {after, convs: [[id, seq]]}.
export function cursorQuery(cursor, extra = {}) {
  const q = new URLSearchParams();
  if (cursor.after !== null && cursor.after !== undefined) q.set('after', String(cursor.after));
  if (cursor.convs?.length) q.set('convs', cursor.convs.map(([id, seq]) => `${id}:${seq}`).join(','));
  for (const [k, v] of Object.entries(extra)) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

function parse(text) {
  try {
    const f = JSON.parse(text);
    return f && typeof f === 'object' ? f : null;
  } catch {
    return null; // not ours to understand
  }
}

// WsTransport is the WebSocket of /api/ws: frames both ways.
export class WsTransport {
  constructor(cursor, sink) {
    this.cursor = cursor;
    this.sink = sink;
    this.ws = null;
  }

  open() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/api/ws${cursorQuery(this.cursor)}`);
    this.ws = ws;
    ws.onmessage = (ev) => {
      const f = parse(ev.data);
      if (f) this.sink.frame(f);
    };
    ws.onclose = (ev) => this.sink.end({ code: ev.code, reason: ev.reason });
  }

  // send writes a frame; false if the socket is not open.
  send(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    try {
      this.ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  close() {
    const ws = this.ws;
    if (!ws) return;
    ws.onclose = ws.onmessage = null;
    try { ws.close(1000); } catch { /* already closed */ }
  }
}

// SseTransport is the EventSource of /api/stream. EventSource would
// reconnect by itself with the URL it was made with, whose cursor is stale
// by then (Last-Event-ID covers events, not conversations): it is closed at
// its first error instead, and live.js opens a new one with the current
// cursor. Sends go over HTTP.
export class SseTransport {
  constructor(cursor, sink) {
    this.cursor = cursor;
    this.sink = sink;
    this.es = null;
  }

  open() {
    const es = new EventSource(`/api/stream${cursorQuery(this.cursor)}`);
    this.es = es;
    es.onmessage = (ev) => {
      const f = parse(ev.data);
      if (f) this.sink.frame(f);
    };
    es.onerror = () => {
      this.close();
      this.sink.end({ code: 0, reason: 'stream error' });
    };
  }

  send() { return false; }

  close() {
    const es = this.es;
    if (!es) return;
    this.es = null;
    es.onmessage = es.onerror = null;
    es.close();
  }
}

// POLL_WAIT_S is how long the server holds a poll with nothing to say.
const POLL_WAIT_S = 25;
// POLL_GRACE_MS is how much longer than that an answer may take before the
// poll counts as lost (a proxy that holds it, a network that died quietly).
const POLL_GRACE_MS = 15000;

// PollTransport long-polls /api/poll. Its first poll has no cursor, so the
// server answers at once with the hello; every later poll carries the
// whole cursor, which the server replays from, so nothing committed between
// two polls is missed. The cursor of each poll is what the app holds
// (getCursor), moved forward by what this connection has already received
// but the app may not have applied yet (it queues frames while it reloads
// its lists), so that a busy app does not make the server repeat itself.
export class PollTransport {
  constructor(getCursor, sink) {
    this.getCursor = getCursor;
    this.sink = sink;
    this.closed = false;
    this.abort = null;
    this.helloSeq = null;
    this.events = -1; // newest event seq received on this connection
    this.convs = new Map(); // conversation id -> newest message seq received
  }

  open() { this.loop(); }

  send() { return false; }

  close() {
    this.closed = true;
    this.abort?.abort();
  }

  cursor() {
    const c = this.getCursor();
    let after = c.after ?? this.helloSeq;
    if (after !== null && this.events > after) after = this.events;
    const convs = new Map(c.convs);
    for (const [id, seq] of this.convs) if (!(convs.get(id) >= seq)) convs.set(id, seq);
    return { after, convs: [...convs] };
  }

  note(f) {
    if (f.type === 'hello' && this.helloSeq === null) this.helloSeq = f.last_event_seq ?? 0;
    if (f.type === 'event' && f.event?.seq > this.events) this.events = f.event.seq;
    const m = f.type === 'message' ? f.message : null;
    if (m && !(this.convs.get(m.conversation_id) >= m.seq)) this.convs.set(m.conversation_id, m.seq);
  }

  async loop() {
    let first = true;
    while (!this.closed) {
      const url = first ? '/api/poll' : `/api/poll${cursorQuery(this.cursor(), { wait: POLL_WAIT_S })}`;
      const ctl = new AbortController();
      this.abort = ctl;
      const timer = setTimeout(() => ctl.abort(), POLL_WAIT_S * 1000 + POLL_GRACE_MS);
      let res;
      let body = null;
      try {
        res = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' }, signal: ctl.signal });
        if (res.ok) body = await res.json();
      } catch {
        res = null;
      } finally {
        clearTimeout(timer);
      }
      if (this.closed) return;
      if (!res || !body || !Array.isArray(body.frames)) {
        this.closed = true;
        // A 401 is the session ending, as the WebSocket's 4001 would say.
        this.sink.end(res?.status === 401 ? { code: 4001, reason: 'unauthorized' } : { code: 0, reason: res ? `HTTP ${res.status}` : 'network' });
        return;
      }
      first = false;
      for (const f of body.frames) {
        if (this.closed) return; // a frame (close, say) ended the connection
        if (!f || typeof f !== 'object') continue;
        this.note(f);
        this.sink.frame(f);
      }
    }
  }
}
