// live.js: the live stream, on whichever transport works. It connects with
// the WebSocket and, in automatic mode, falls back by itself to Server-Sent
// Events and then long-polling when one cannot be opened while the server
// answers plain HTTP (a proxy that refuses WebSocket upgrades, one that
// buffers event streams). It reconnects with exponential backoff and
// jitter, resumes from the cursor the app gives (getCursor), and pairs the
// WebSocket's frames with the server's acks by ref.
//
// A setting chooses the transport (auto | ws | sse | poll); ?transport= in
// the address forces one for the tab, so each can be tested.

import { PollTransport, SseTransport, WsTransport } from './transports.js';

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30000;
const ACK_TIMEOUT_MS = 15000;
// HELLO_TIMEOUT_MS: a connection that says nothing for this long after
// opening is not working (a proxy buffering the event stream, say).
const HELLO_TIMEOUT_MS = 10000;
// A WebSocket that has carried nothing for IDLE_CHECK_MS is asked for an
// answer (a tunnelled GET /api/me); one that gives none in CHECK_TIMEOUT_MS
// is dead without having said so (a laptop that slept, a NAT that forgot
// it) and is replaced. The server's pings are invisible to the page.
const IDLE_CHECK_MS = 60000;
const CHECK_TIMEOUT_MS = 10000;
// A transport that failed this many times in a row while the server
// answered HTTP is given up for the next one: sooner if it never worked on
// this page.
const FALLBACK_AFTER = 2;
const FALLBACK_AFTER_WORKED = 4;

// Close codes (docs/DELIVERY.md): 4001 ends the session; the rest of
// 4000-4099 tell the client not to reconnect; 4100 (too slow) and anything
// else are worth a retry.
export const CLOSE_SESSION_ENDED = 4001;
const CLOSE_TOO_SLOW = 4100;

export const TRANSPORTS = ['ws', 'sse', 'poll'];
export const TRANSPORT_MODES = ['auto', ...TRANSPORTS];
const STORAGE_KEY = 'parley.transport';
const FORCED_KEY = 'parley.transport.forced'; // sessionStorage: this tab's ?transport=

function validMode(m) { return TRANSPORT_MODES.includes(m) ? m : null; }

// The address's ?transport= is read once, when the page loads, and kept
// for the tab (sessionStorage), so that following a link or reloading keeps
// it while a choice made in the settings later wins.
let forced = validMode(new URLSearchParams(location.search).get('transport'));
try {
  if (forced) sessionStorage.setItem(FORCED_KEY, forced);
  else forced = validMode(sessionStorage.getItem(FORCED_KEY));
} catch { /* storage may be disabled */ }

// transportMode is the tab's forced transport, else the setting, else auto.
export function transportMode() {
  if (forced) return forced;
  try {
    return validMode(localStorage.getItem(STORAGE_KEY)) || 'auto';
  } catch {
    return 'auto';
  }
}

function saveTransportMode(mode) {
  forced = null;
  try {
    localStorage.setItem(STORAGE_KEY, mode);
    sessionStorage.removeItem(FORCED_KEY);
  } catch { /* not fatal */ }
}

export class LiveError extends Error {
  constructor(code, message, until) {
    super(message || code);
    this.code = code;
    this.until = until; // when the condition ends (a mute), if the server says
  }
}

export class Live {
  // handlers: onState(state, transport), onHello(frame), onEvent(event),
  // onMessage(message), onFrame(frame) for the other frames (presence,
  // typing, receipt, resync), onSessionEnded(), onFatal(code, reason), and
  // checkServer() which resolves to 'ok', 'gone' (401) or 'unreachable'.
  // getCursor() returns {after: event seq or null, convs: [[id, seq]]}.
  constructor(handlers, getCursor) {
    this.h = handlers;
    this.getCursor = getCursor;
    this.conn = null; // the transport object of the current connection
    this.mode = 'auto';
    this.transport = 'ws'; // the transport in use or being tried
    this.autoStart = 'ws'; // where automatic mode starts: past those given up on this page
    this.state = 'offline';
    this.shownTransport = null; // the transport onState last reported
    this.attempt = 0;
    this.timer = null; // the reconnect timer
    this.helloTimer = null;
    this.idleTimer = null;
    this.stopped = true;
    this.refSeq = 0;
    this.waiting = new Map(); // ref -> {resolve, reject, timer}
    this.helloSeen = false; // on the current connection
    this.everOnline = false;
    this.worked = new Set(); // transports that got a hello on this page
    this.failures = 0; // of this.transport in a row, with the server reachable
    this.probeGen = 0;
    this.hurry = false; // reconnect without waiting once the running check ends
    this.onOnline = () => this.retryNow();
    this.onOffline = () => this.wentOffline();
    this.onVisible = () => { if (document.visibilityState === 'visible') this.retryNow(); };
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.failures = 0;
    this.everOnline = false;
    this.mode = transportMode();
    this.transport = this.mode === 'auto' ? this.autoStart : this.mode;
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    document.addEventListener('visibilitychange', this.onVisible);
    this.connect();
  }

  stop() {
    this.stopped = true;
    this.probeGen++;
    clearTimeout(this.timer);
    this.timer = null;
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    document.removeEventListener('visibilitychange', this.onVisible);
    this.dropConnection();
    this.setState('offline');
  }

  // setMode saves the transport setting and, when connected, reconnects
  // with it.
  setMode(mode) {
    if (!validMode(mode)) return;
    saveTransportMode(mode);
    this.mode = mode;
    this.autoStart = 'ws';
    if (this.stopped) return;
    this.probeGen++;
    clearTimeout(this.timer);
    this.timer = null;
    this.dropConnection();
    this.transport = mode === 'auto' ? 'ws' : mode;
    this.failures = 0;
    this.attempt = 0;
    this.connect();
  }

  dropConnection() {
    const c = this.conn;
    this.conn = null;
    this.helloSeen = false;
    clearTimeout(this.helloTimer);
    clearTimeout(this.idleTimer);
    if (c) c.close();
    this.failWaiting('network');
  }

  isOpen() { return !!this.conn && this.helloSeen; }

  setState(s) {
    if (this.state === s && this.shownTransport === this.transport) return;
    this.state = s;
    this.shownTransport = this.transport;
    this.h.onState?.(s, this.transport);
  }

  waitingState() {
    if (navigator.onLine === false) return 'offline';
    return this.everOnline ? 'reconnecting' : 'connecting';
  }

  connect() {
    this.timer = null;
    this.hurry = false;
    this.helloSeen = false;
    this.setState(this.waitingState());
    let conn = null;
    const sink = { frame: (f) => this.receive(conn, f), end: (e) => this.ended(conn, e) };
    try {
      conn = this.transport === 'poll' ? new PollTransport(this.getCursor, sink)
        : new (this.transport === 'sse' ? SseTransport : WsTransport)(this.getCursor(), sink);
      this.conn = conn;
      conn.open();
    } catch {
      if (conn) this.ended(conn, { code: 0, reason: 'open failed' });
      else this.afterFailure();
      return;
    }
    clearTimeout(this.helloTimer);
    this.helloTimer = setTimeout(() => {
      if (this.conn !== conn || this.helloSeen) return;
      conn.close();
      this.ended(conn, { code: 0, reason: 'no hello' });
    }, HELLO_TIMEOUT_MS);
  }

  receive(conn, f) {
    if (conn !== this.conn) return;
    if (this.transport === 'ws') this.armIdleCheck(conn);
    switch (f.type) {
      case 'hello':
        if (this.helloSeen) return; // a long-poll that replays repeats it
        this.helloSeen = true;
        clearTimeout(this.helloTimer);
        this.everOnline = true;
        this.worked.add(this.transport);
        this.failures = 0;
        this.attempt = 0;
        this.setState('online');
        this.h.onHello?.(f);
        break;
      case 'close': // SSE and long-polling say goodbye with a frame
        conn.close();
        this.ended(conn, { code: f.code, reason: f.reason });
        break;
      case 'event':
        this.h.onEvent?.(f.event);
        break;
      case 'message':
        this.h.onMessage?.(f.message);
        break;
      case 'ack':
      case 'response':
      case 'error': {
        const w = this.waiting.get(f.ref);
        if (!w) break; // an error without ref answers a frame that wants no answer (typing)
        this.waiting.delete(f.ref);
        clearTimeout(w.timer);
        if (f.type !== 'error') w.resolve(f);
        else w.reject(new LiveError(f.error?.code || 'internal', f.error?.message, f.error?.until));
        break;
      }
      default:
        this.h.onFrame?.(f);
        break;
    }
  }

  // armIdleCheck (re)starts the wait after which a quiet WebSocket is
  // checked.
  armIdleCheck(conn) {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.conn !== conn || !this.helloSeen) return;
      this.request({ type: 'request', method: 'GET', path: '/api/me' }, CHECK_TIMEOUT_MS).catch((err) => {
        if (err.code !== 'network' || this.conn !== conn) return;
        conn.close();
        this.ended(conn, { code: 0, reason: 'no answer' });
      });
    }, IDLE_CHECK_MS);
  }

  // ended handles the end of the current connection, for whatever reason.
  ended(conn, { code, reason }) {
    if (conn !== this.conn) return;
    this.conn = null;
    clearTimeout(this.helloTimer);
    clearTimeout(this.idleTimer);
    const hadHello = this.helloSeen;
    this.helloSeen = false;
    this.failWaiting('network');
    if (this.stopped) return;
    if (code === CLOSE_SESSION_ENDED) {
      this.stop();
      this.h.onSessionEnded?.();
      return;
    }
    if (code >= 4000 && code <= 4099) {
      this.stop();
      this.h.onFatal?.(code, reason);
      return;
    }
    if (code === CLOSE_TOO_SLOW) this.attempt = 0;
    if (hadHello) this.scheduleReconnect();
    else this.afterFailure();
  }

  // afterFailure runs when a connection failed before its hello: it asks
  // the server over plain HTTP why. Gone (401): the session ended. Reachable:
  // this transport is what fails, and automatic mode falls back after a few
  // tries. Unreachable: the network or the server is down; wait and retry.
  async afterFailure() {
    this.setState(this.waitingState());
    const gen = ++this.probeGen;
    let r = 'unreachable';
    try {
      r = (await this.h.checkServer?.()) ?? 'ok';
    } catch { /* unreachable */ }
    if (this.stopped || gen !== this.probeGen || this.conn || this.timer) return;
    if (r === 'gone') {
      this.stop();
      this.h.onSessionEnded?.();
      return;
    }
    if (r === 'ok') {
      this.failures++;
      const limit = this.worked.has(this.transport) ? FALLBACK_AFTER_WORKED : FALLBACK_AFTER;
      const next = TRANSPORTS[TRANSPORTS.indexOf(this.transport) + 1];
      if (this.mode === 'auto' && next && this.failures >= limit) {
        this.transport = next;
        this.autoStart = next;
        this.failures = 0;
        this.attempt = 0;
        this.connect();
        return;
      }
    }
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    if (this.stopped) return;
    this.setState(this.waitingState());
    let delay = 0;
    if (!this.hurry) {
      const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
      delay = ceiling / 2 + Math.random() * (ceiling / 2); // "equal jitter"
      this.attempt = Math.min(this.attempt + 1, 16);
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  // retryNow skips the rest of a backoff wait, e.g. when the browser says
  // the network is back.
  retryNow() {
    if (this.stopped || this.conn) return;
    this.attempt = 0;
    if (this.timer) {
      clearTimeout(this.timer);
      this.connect();
    } else {
      this.hurry = true; // a check of the server is under way
    }
  }

  // wentOffline drops the connection when the browser says the network is
  // gone: it is dead or about to be, and the reconnect that follows the
  // browser's "online" resumes from the cursor.
  wentOffline() {
    if (this.stopped) return;
    const c = this.conn;
    if (!c) {
      this.setState(this.waitingState());
      return;
    }
    c.close();
    this.ended(c, { code: 0, reason: 'offline' });
  }

  // request sends a frame with a fresh ref over the WebSocket and resolves
  // with the server's ack, or rejects with the server's error (a LiveError
  // with its code), or with code "network" when the WebSocket is not the
  // transport, is not open, closes, or the ack does not come: the caller
  // then uses HTTP.
  request(frame, timeout = ACK_TIMEOUT_MS) {
    if (this.transport !== 'ws' || !this.isOpen()) return Promise.reject(new LiveError('network', 'not connected'));
    const ref = `r${++this.refSeq}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(ref);
        reject(new LiveError('network', 'no answer'));
      }, timeout);
      this.waiting.set(ref, { resolve, reject, timer });
      if (!this.conn.send({ ...frame, ref })) {
        clearTimeout(timer);
        this.waiting.delete(ref);
        reject(new LiveError('network', 'send failed'));
      }
    });
  }

  // notify sends a frame that wants no answer (typing); false when it could
  // not, and the caller uses HTTP.
  notify(frame) {
    return this.transport === 'ws' && this.isOpen() && this.conn.send(frame);
  }

  failWaiting(code) {
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(new LiveError(code));
    }
    this.waiting.clear();
  }
}
