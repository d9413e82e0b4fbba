// fanout.js is the reference browser client of fanout's wire protocol
// (docs/protocol.md). It is an ES module with no dependencies and no build
// step; web.Handler serves it.
//
//   import { FanoutClient } from '/fanout.js';
//
//   const client = new FanoutClient({ ws: '/ws', sse: '/events' });
//   client.onstate = (state, info) => console.log(state, info.transport);
//   client.subscribe('game-updates:7', {
//     onSnapshot(state, msg) { render(state); },   // the full state (also on reset)
//     onUpdate(update, msg) { apply(update); },     // the next update, in order
//   });
//
// The client keeps, per topic, the (epoch, seq) of the last message it
// applied. It drops duplicates, resumes every topic after a reconnect (over
// WebSocket with subscribe epoch+since, over Server-Sent Events with a cursor),
// reconnects with exponential backoff and full jitter, and falls back from
// WebSocket to Server-Sent Events when WebSocket cannot connect.

/** The values of FanoutClient.state. */
export const State = Object.freeze({
  IDLE: 'idle', // nothing subscribed yet: no connection
  CONNECTING: 'connecting', // the first connection is being opened
  OPEN: 'open', // connected; topics are live
  RECONNECTING: 'reconnecting', // the connection was lost; a new one is on its way
  CLOSED: 'closed', // close() was called, or the server said not to come back
});

/** The defaults of the FanoutClient options. */
export const defaults = Object.freeze({
  ws: '', // the WebSocket endpoint, e.g. '/ws' (relative URLs are resolved against the page)
  sse: '', // the Server-Sent Events endpoint, e.g. '/events'
  transports: ['ws', 'sse'], // the transports to use, in order of preference
  fallbackAfter: 2, // WebSocket attempts in a row that never open before falling back to SSE
  backoffBase: 500, // ms: the first reconnect waits a random time up to this...
  backoffMax: 15000, // ms: ...doubling per failure up to this (full jitter)
  stableAfter: 5000, // ms: a connection open this long resets the backoff
  slowConsumerJitter: 1000, // ms: close code 4000: reconnect at once, within this
  drainJitter: 5000, // ms: close code 4001 (server draining): reconnect within this
  withCredentials: false, // EventSource withCredentials
  onstate: null, // (state, info) => void, see FanoutClient.onstate
  onerror: null, // (err) => void: protocol errors that name no subscribed topic
});

// Error codes after which a subscribe is retried later rather than given up.
const RETRYABLE = new Set(['unavailable', 'rate_limited']);
// Error codes that need no action: the subscription is as the client wants.
const HARMLESS = new Set(['already_subscribed', 'not_subscribed']);
// WebSocket close codes after which the client must not reconnect.
const FINAL_CLOSE = new Set([1000, 1008]);
// The server's message types that an SSE stream carries as event names.
const SSE_EVENTS = ['snapshot', 'update', 'reset', 'occupancy', 'subscribed', 'unsubscribed', 'error', 'message'];

/**
 * FanoutClient is one connection to a fanout server, carrying any number of
 * topics. Create it with the endpoints; it connects on the first subscribe.
 */
export class FanoutClient {
  /**
   * @param {object} options see `defaults` for every field and its default.
   */
  constructor(options = {}) {
    this.options = { ...defaults, ...options };
    /** The connection state, one of State. */
    this.state = State.IDLE;
    /** The transport in use: 'ws', 'sse', or null before the first connect. */
    this.transport = null;
    /**
     * Called with (state, info) on every state change; info holds
     * `transport` and, after a close, `code` and `reason`.
     */
    this.onstate = this.options.onstate;

    this._kinds = this.options.transports.filter((k) =>
      (k === 'ws' && this.options.ws && typeof WebSocket !== 'undefined') ||
      (k === 'sse' && this.options.sse && typeof EventSource !== 'undefined'));
    if (this._kinds.length === 0) {
      throw new Error('fanout: no usable transport: pass a ws or sse URL that this browser supports');
    }
    this._kind = 0; // index in _kinds of the transport in use
    this._topics = new Map(); // topic name -> {name, h, epoch, seq, retries, timer}
    this._conn = null; // the current WebSocket or EventSource
    this._openedAt = 0; // when _conn opened, 0 while it has not
    this._everOpened = false;
    this._attempt = 0; // failures since the last stable connection
    this._wsFailures = 0; // WebSocket attempts in a row that never opened
    this._timer = null; // the pending reconnect
    this._nextId = 1;
    this._pending = new Map(); // WebSocket command id -> topic name, until answered
    this._leaving = new Map(); // topic name -> {id, timer, retries}: WebSocket unsubscribes not yet confirmed
    this._sseDirty = false; // an SSE reconnect for a new topic set is queued
    this._online = () => {
      if (this._timer !== null) this._connect();
    };
  }

  /**
   * subscribe starts delivering topic to handlers, an object with any of:
   *   onSnapshot(data, msg)   the topic's full state: replace yours
   *   onUpdate(data, msg)     the next update: apply it
   *   onReset(data, msg)      your state is stale: replace it with data (may be null);
   *                           defaults to onSnapshot
   *   onError(err)            the server refused the topic ({code, message}); it is dropped
   *   onOccupancy(count, msg) the topic's subscriber count over every server node, pushed
   *                           when it changes (at most about once a second) for the topics
   *                           the server configures so; no part of the topic's sequence
   * msg is {type, topic, epoch, seq, gap} ({type, topic, count} for occupancy). Subscribing again to a topic
   * replaces its handlers. It returns a function that unsubscribes.
   */
  subscribe(topic, handlers = {}) {
    if (this.state === State.CLOSED) throw new Error('fanout: subscribe on a closed client; create a new one');
    const known = this._topics.get(topic);
    if (known) {
      known.h = handlers;
    } else {
      const t = { name: topic, h: handlers, epoch: null, seq: 0, retries: 0, timer: null };
      this._topics.set(topic, t);
      if (this.state === State.IDLE) this._connect();
      else this._sendSubscribe(t);
    }
    return () => this.unsubscribe(topic);
  }

  /** unsubscribe stops delivering topic. It returns whether topic was subscribed. */
  unsubscribe(topic) {
    const t = this._topics.get(topic);
    if (!t) return false;
    clearTimeout(t.timer);
    this._topics.delete(topic);
    if (this._isWS()) {
      if (!this._leaving.has(topic)) this._sendUnsubscribe(topic, 0);
    } else {
      this._restartSSE();
    }
    return true;
  }

  /** occupancy returns the newest subscriber count the server pushed for topic, or null. */
  occupancy(topic) {
    const t = this._topics.get(topic);
    return t && t.occupancy !== undefined ? t.occupancy : null;
  }

  /** position returns the {epoch, seq} of the last message applied on topic, or null. */
  position(topic) {
    const t = this._topics.get(topic);
    return t && t.epoch !== null ? { epoch: t.epoch, seq: t.seq } : null;
  }

  /** close closes the connection for good. It is idempotent. */
  close() {
    if (this.state === State.CLOSED) return;
    this._stop({ code: 1000, reason: 'bye' });
  }

  // ---- connection life ----

  // _connect opens a connection with the transport in use. quiet keeps an
  // open state as it is: an SSE stream reopened for a new set of topics is
  // not a lost connection.
  _connect(quiet = false) {
    clearTimeout(this._timer);
    this._timer = null;
    this._drop(1000, 'bye');
    const kind = this._kinds[this._kind];
    this.transport = kind;
    if (kind === 'sse' && this._topics.size === 0) {
      this._setState(State.IDLE, {}); // an SSE stream needs a topic
      return;
    }
    if (!(quiet && this.state === State.OPEN)) {
      this._setState(this._everOpened ? State.RECONNECTING : State.CONNECTING, {});
      if (this.state === State.CLOSED) return; // onstate called close()
    }
    if (typeof window !== 'undefined') window.addEventListener('online', this._online);
    if (kind === 'ws') this._openWS();
    else this._openSSE();
  }

  _opened() {
    this._openedAt = Date.now();
    this._everOpened = true;
    this._setState(State.OPEN, {});
  }

  // _lost handles the end of the current connection: it reconnects after
  // delay (ms; null for the backoff) unless the state is final.
  _lost(info, delay) {
    if (this.state === State.CLOSED) return;
    if (this._openedAt && Date.now() - this._openedAt >= this.options.stableAfter) this._attempt = 0;
    this._openedAt = 0;
    this._pending.clear();
    this._forgetLeaving(); // a new connection holds no subscription
    if (delay === null) {
      delay = this._backoff(this._attempt++);
    }
    this._setState(this._everOpened ? State.RECONNECTING : State.CONNECTING, info);
    if (this.state === State.CLOSED) return; // onstate called close(): no reconnect
    clearTimeout(this._timer);
    this._timer = setTimeout(() => this._connect(), delay);
  }

  // _backoff returns the delay of attempt n (from 0): full jitter, a random
  // time up to min(backoffMax, backoffBase·2ⁿ).
  _backoff(n) {
    return Math.random() * Math.min(this.options.backoffMax, this.options.backoffBase * 2 ** Math.min(n, 30));
  }

  _stop(info) {
    clearTimeout(this._timer);
    this._timer = null;
    for (const t of this._topics.values()) clearTimeout(t.timer);
    this._forgetLeaving();
    this._drop(1000, 'bye');
    if (typeof window !== 'undefined') window.removeEventListener('online', this._online);
    this._setState(State.CLOSED, info);
  }

  // _drop detaches and closes the current connection, if any, so that its
  // late events are ignored.
  _drop(code, reason) {
    const c = this._conn;
    this._conn = null;
    if (!c) return;
    // EventSource may not exist where only WebSocket is used.
    if (typeof EventSource !== 'undefined' && c instanceof EventSource) c.close();
    else if (c.readyState <= 1) c.close(code, reason);
  }

  _setState(state, info) {
    if (this.state === state && !info.code) return;
    this.state = state;
    if (this.onstate) this._call(this.onstate, state, { transport: this.transport, ...info });
  }

  // _resync is the defensive rule of the protocol: a message that does not
  // follow the position the client holds means it lost its place, so it
  // reconnects and resumes every topic.
  _resync() {
    this._drop(1000, 'resync');
    this._lost({ reason: 'resync' }, null);
  }

  // ---- WebSocket ----

  _isWS() {
    return this.transport === 'ws';
  }

  _openWS() {
    let ws;
    try {
      ws = new WebSocket(toWebSocketURL(this.options.ws));
    } catch (err) {
      this._wsFailed({ reason: String(err) });
      return;
    }
    this._conn = ws;
    ws.onopen = () => {
      if (this._conn !== ws) return;
      this._wsFailures = 0;
      this._opened();
      for (const t of this._topics.values()) this._sendSubscribe(t);
    };
    ws.onmessage = (e) => {
      if (this._conn === ws && typeof e.data === 'string') this._onFrame(e.data);
    };
    ws.onclose = (e) => {
      if (this._conn !== ws) return;
      this._conn = null;
      const info = { code: e.code, reason: e.reason };
      if (!this._openedAt) this._wsFailed(info);
      else if (FINAL_CLOSE.has(e.code)) this._stop(info);
      else if (e.code === 4000) this._lost(info, Math.random() * this.options.slowConsumerJitter);
      else if (e.code === 4001) this._lost(info, Math.random() * this.options.drainJitter);
      else this._lost(info, null);
    };
  }

  // _wsFailed counts a WebSocket that never opened, and falls back to the
  // next transport after options.fallbackAfter of them in a row.
  _wsFailed(info) {
    this._wsFailures++;
    if (this._wsFailures >= this.options.fallbackAfter && this._kind + 1 < this._kinds.length) {
      this._kind++;
      this._attempt = 0;
      this._lost({ ...info, fallback: this._kinds[this._kind] }, 0);
      return;
    }
    this._lost(info, null);
  }

  _send(cmd) {
    const ws = this._conn;
    if (!this._isWS() || !ws || ws.readyState !== 1) return false;
    ws.send(JSON.stringify(cmd));
    return true;
  }

  _sendSubscribe(t) {
    if (!this._isWS()) {
      this._restartSSE();
      return;
    }
    // A topic subscribed again while its unsubscribe is unconfirmed is sent
    // once it is (see _left), so that the old subscription's messages are
    // not taken for the new one's.
    if (this._leaving.has(t.name)) return;
    const id = this._nextId++;
    const cmd = { action: 'subscribe', topic: t.name, id };
    if (t.epoch !== null) {
      cmd.epoch = t.epoch;
      cmd.since = t.seq;
    }
    if (this._send(cmd)) this._pending.set(id, t.name);
  }

  // _sendUnsubscribe sends an unsubscribe and keeps topic leaving until the
  // server confirms it; retries counts the attempts refused as rate limited.
  _sendUnsubscribe(topic, retries) {
    const id = this._nextId++;
    if (!this._send({ action: 'unsubscribe', topic, id })) return; // no connection: nothing to leave
    this._pending.set(id, topic);
    this._leaving.set(topic, { id, timer: null, retries });
  }

  // _left ends the leaving of topic, if it was, and sends the subscription
  // that waited for it. It reports whether topic was leaving.
  _left(topic) {
    const l = this._leaving.get(topic);
    if (!l) return false;
    clearTimeout(l.timer);
    this._leaving.delete(topic);
    const t = this._topics.get(topic);
    if (t) this._sendSubscribe(t);
    return true;
  }

  _forgetLeaving() {
    for (const l of this._leaving.values()) clearTimeout(l.timer);
    this._leaving.clear();
  }

  // _onFrame handles one WebSocket text frame: one or more messages, one
  // JSON object per line.
  _onFrame(text) {
    let start = 0;
    while (start < text.length && this._conn) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      if (end > start) this._onLine(text.slice(start, end));
      start = end + 1;
    }
  }

  _onLine(line) {
    let m;
    try {
      m = JSON.parse(line);
    } catch {
      return; // not ours to fix; the next message will tell if we lost our place
    }
    if (m && typeof m === 'object') this._dispatch(m);
  }

  // ---- Server-Sent Events ----

  _openSSE() {
    const url = new URL(this.options.sse, baseURL());
    const topics = [...this._topics.values()];
    for (const t of topics) url.searchParams.append('topic', t.name);
    const cursor = encodeCursor(topics);
    if (cursor) url.searchParams.set('cursor', cursor);
    const es = new EventSource(url.href, { withCredentials: this.options.withCredentials });
    this._conn = es;
    es.onopen = () => {
      if (this._conn === es) this._opened();
    };
    const onEvent = (e) => {
      if (this._conn === es && typeof e.data === 'string') this._onLine(e.data);
    };
    for (const type of SSE_EVENTS) es.addEventListener(type, onEvent);
    // A network error makes the browser reconnect by itself, sending the
    // last event id, which resumes every topic; a refused stream (an HTTP
    // error) closes the EventSource and the client reconnects itself.
    es.addEventListener('error', (e) => {
      if (this._conn !== es || typeof e.data === 'string') return;
      if (es.readyState === EventSource.CLOSED) {
        this._conn = null;
        this._lost({}, null);
      } else {
        this._openedAt = 0;
        this._setState(State.RECONNECTING, {});
      }
    });
  }

  // _restartSSE reopens the stream for a new set of topics, once per task
  // however many topics change.
  _restartSSE() {
    if (this._sseDirty || this.transport !== 'sse' || this._timer !== null) return;
    this._sseDirty = true;
    queueMicrotask(() => {
      this._sseDirty = false;
      if (this.state === State.CLOSED || this.transport !== 'sse' || this._timer !== null) return;
      this._connect(true);
    });
  }

  // ---- messages ----

  _dispatch(m) {
    switch (m.type) {
      case 'snapshot':
      case 'reset':
      case 'update':
        this._onData(m);
        return;
      case 'occupancy':
        this._onOccupancy(m);
        return;
      case 'subscribed':
        this._pending.delete(m.id);
        return;
      case 'unsubscribed':
        this._pending.delete(m.id);
        if (this._left(m.topic)) return;
        if (m.reason !== 'requested') this._refused(m.topic, m.reason, `the server ended the subscription: ${m.reason}`);
        return;
      case 'error': {
        const topic = m.topic || this._pending.get(m.id);
        this._pending.delete(m.id);
        const l = topic && this._leaving.get(topic);
        if (l && m.id === l.id) {
          if (m.code !== 'rate_limited') {
            this._left(topic); // not_subscribed, or a refusal: nothing more to leave
            return;
          }
          l.timer = setTimeout(() => {
            if (this._leaving.get(topic) !== l) return;
            this._leaving.delete(topic);
            this._sendUnsubscribe(topic, l.retries + 1);
          }, this._backoff(l.retries));
          return;
        }
        if (HARMLESS.has(m.code)) return;
        if (topic && this._topics.has(topic)) this._refused(topic, m.code, m.message);
        else if (this.options.onerror) this._call(this.options.onerror, { code: m.code, message: m.message });
      }
    }
  }

  _onData(m) {
    const t = this._topics.get(m.topic);
    if (!t) return; // unsubscribed meanwhile
    // Every subscription starts with a snapshot (data null when the topic
    // keeps none): an update before it is an earlier subscription's.
    if (m.type === 'update' && t.epoch === null) return;
    if (m.type === 'update') {
      if (m.epoch === t.epoch && m.seq <= t.seq) return; // a duplicate
      if (m.epoch !== t.epoch || (m.seq !== t.seq + 1 && !m.gap)) {
        this._resync();
        return;
      }
    }
    t.epoch = m.epoch;
    t.seq = m.seq;
    t.retries = 0;
    const msg = { type: m.type, topic: m.topic, epoch: m.epoch, seq: m.seq, gap: !!m.gap };
    const h = t.h;
    const fn = m.type === 'update' ? h.onUpdate : m.type === 'reset' ? h.onReset || h.onSnapshot : h.onSnapshot;
    if (fn) this._call(fn.bind(h), m.data === undefined ? null : m.data, msg);
  }

  // _onOccupancy hands a topic's subscriber count to its handler and keeps
  // it for occupancy(). It leaves the topic's position alone.
  _onOccupancy(m) {
    const t = this._topics.get(m.topic);
    if (!t || typeof m.count !== 'number') return;
    t.occupancy = m.count;
    const fn = t.h.onOccupancy;
    if (fn) this._call(fn.bind(t.h), m.count, { type: m.type, topic: m.topic, count: m.count });
  }

  // _refused handles a topic the server would not serve: retried later when
  // the code allows, dropped otherwise.
  _refused(topic, code, message) {
    const t = this._topics.get(topic);
    if (!t) return;
    if (RETRYABLE.has(code)) {
      clearTimeout(t.timer);
      t.timer = setTimeout(() => {
        t.timer = null;
        if (this._topics.get(topic) === t) this._sendSubscribe(t);
      }, this._backoff(t.retries++));
      return;
    }
    this._topics.delete(topic);
    if (!this._isWS()) this._restartSSE();
    if (t.h.onError) this._call(t.h.onError.bind(t.h), { code, message });
  }

  // _call runs an application callback; an exception it throws is reported
  // without breaking the client.
  _call(fn, ...args) {
    try {
      fn(...args);
    } catch (err) {
      setTimeout(() => {
        throw err;
      });
    }
  }
}

/**
 * encodeCursor returns the SSE cursor (version 1, see docs/protocol.md) that
 * names the positions of topics, an array of {name, epoch, seq}, or '' when
 * none has a position:
 *
 *   "1." check *( "~" tag "." epoch "." seq )
 *
 * check is the CRC-32 of what follows it and tag 24 bits of the topic name's
 * FNV-1a hash, both in base64url; seq is base 36.
 */
export function encodeCursor(topics) {
  let body = '';
  for (const t of topics) {
    if (typeof t.epoch !== 'string' || !EPOCH.test(t.epoch)) continue;
    body += `~${topicTag(t.name)}.${t.epoch}.${t.seq.toString(36)}`;
  }
  return body ? '1.' + base64(crc32(body), 6) + body : '';
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const EPOCH = /^[A-Za-z0-9_-]{1,32}$/;

// base64 returns the n low 6-bit groups of the unsigned 32-bit v, most
// significant first.
function base64(v, n) {
  let s = '';
  for (let i = 0; i < n; i++) {
    s = B64[v & 63] + s;
    v >>>= 6;
  }
  return s;
}

// topicTag returns 24 bits of the 32-bit FNV-1a hash of an (ASCII) topic
// name, the high byte folded in, as 4 base64url characters.
function topicTag(name) {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  return base64((h ^ (h >>> 24)) >>> 0, 4);
}

let CRC_TABLE = null;

// crc32 returns the CRC-32 (IEEE) of an ASCII string.
function crc32(s) {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < s.length; i++) c = CRC_TABLE[(c ^ s.charCodeAt(i)) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function baseURL() {
  return typeof location !== 'undefined' ? location.href : 'http://localhost/';
}

function toWebSocketURL(url) {
  const u = new URL(url, baseURL());
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  return u.href;
}
