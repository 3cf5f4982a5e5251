// Footlight's browser client: join a stage with a participant token, publish a MediaStream,
// watch other participants, and follow the stage's participants live. An ES module with no
// dependencies and no build step; Footlight serves it at /web/footlight.js (docs/CLIENT.md).
//
//   import { join } from "https://footlight.example/web/footlight.js";
//   const stage = await join(token, { onParticipantPublished: async (p) => {
//     video.srcObject = await stage.subscribe(p.id);
//   } });
//   await stage.publish(await navigator.mediaDevices.getUserMedia({ audio: true, video: true }));
//
// Media goes over WHIP (RFC 9725) and Footlight's WHEP-style subscribe, with fetch and the
// token as "Authorization: Bearer"; the client trickles its ICE candidates with PATCH
// (application/trickle-ice-sdpfrag) and DELETEs its sessions when it leaves. Participants come
// from the events websocket (docs/EVENTS.md).

/** The client's version, sent nowhere; for display and bug reports. */
export const VERSION = "1.0.0";

// How long join waits for the events websocket's first message, and publish for ICE and DTLS.
const JOIN_TIMEOUT_MS = 10000;
const CONNECT_TIMEOUT_MS = 15000;
// A subscribe that races the publisher's own WHIP answer can get 404 for a moment: the
// PARTICIPANT_PUBLISH_STARTED event may arrive before the publisher's media is registered.
const SUBSCRIBE_RETRY_MS = 250;
const SUBSCRIBE_RETRY_FOR_MS = 4000;
// Application-level keepalive, as the AWS samples send it: a PING every PING_EVERY_MS, and a
// connection that has not answered within PONG_WITHIN_MS is treated as lost.
const PING_EVERY_MS = 15000;
const PONG_WITHIN_MS = 10000;
// Trickled candidates are batched for this long into one PATCH.
const TRICKLE_BATCH_MS = 20;

/**
 * Every failure the client reports. `code` is stable and meant for programs; `message` is a
 * sentence meant for people. `status` and `reason` are the server's HTTP status and its short
 * plain-text reason, when the server refused a request.
 *
 * Codes: "malformed" (not a participant token), "expired", "unauthorized" (bad signature or
 * unknown key), "revoked" (the participant was disconnected with DisconnectParticipant),
 * "no-capability" (the token lacks PUBLISH or SUBSCRIBE), "wrong-stage", "stage-not-found",
 * "stage-deleted", "not-publishing", "publisher-limit", "replaced" (the token was used
 * elsewhere), "server-shutdown", "network", "ice-failed", "left" (the stage was left), "server".
 */
export class FootlightError extends Error {
  constructor(code, message, { status = 0, reason = "", closeCode = 0, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "FootlightError";
    this.code = code;
    this.status = status;
    this.reason = reason;
    this.closeCode = closeCode;
  }
}

/**
 * Reads a participant token's claims without verifying it (the server verifies; the claims
 * only tell the client where to connect). Throws FootlightError "malformed" for anything that
 * is not a Footlight or IVS participant token.
 */
export function decodeToken(token) {
  const text = String(token ?? "").trim();
  const parts = text.split(".");
  if (parts.length !== 3 || parts.some((p) => p === "")) {
    throw new FootlightError("malformed", "This is not a participant token: a token is three base64url parts separated by dots.");
  }
  let claims;
  try {
    claims = JSON.parse(base64urlDecode(parts[1]));
  } catch (err) {
    throw new FootlightError("malformed", "This is not a participant token: its payload is not base64url JSON.", { cause: err });
  }
  for (const name of ["jti", "topic", "whip_url", "events_url"]) {
    if (typeof claims?.[name] !== "string" || claims[name] === "") {
      throw new FootlightError("malformed", `This is not a participant token: it has no "${name}" claim.`);
    }
  }
  const date = (s) => (typeof s === "number" ? new Date(s * 1000) : null);
  const caps = claims.capabilities ?? {};
  return {
    token: text,
    participantId: claims.jti,
    userId: typeof claims.user_id === "string" ? claims.user_id : "",
    stageId: claims.topic,
    stageArn: typeof claims.resource === "string" ? claims.resource : "",
    whipUrl: claims.whip_url.replace(/\/+$/, ""),
    eventsUrl: claims.events_url.replace(/\/+$/, ""),
    attributes: claims.attributes && typeof claims.attributes === "object" ? { ...claims.attributes } : {},
    capabilities: { publish: caps.allow_publish === true, subscribe: caps.allow_subscribe === true },
    issuedAt: date(claims.iat),
    expiresAt: date(claims.exp),
    claims,
  };
}

/** Reports whether a decoded token's exp has passed at `now` (a Date; default: now). */
export function isExpired(info, now = new Date()) {
  return info.expiresAt !== null && info.expiresAt.getTime() <= now.getTime();
}

function base64urlDecode(s) {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(s.length / 4) * 4, "=");
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

function expiredError(info) {
  const at = info.expiresAt;
  return new FootlightError("expired",
    `This token expired at ${at.toLocaleString()}. Tokens are checked when a connection starts; ask for a new one (CreateParticipantToken).`,
    { status: 401, reason: "token expired" });
}

/**
 * Turns a media endpoint's refusal (its HTTP status and plain-text reason) into a
 * FootlightError. `op` is "publish", "subscribe" or "join" and only shapes the message.
 */
export function refusalError(status, reason, op = "") {
  const said = reason ? ` (the server said: ${reason})` : "";
  const r = reason.toLowerCase();
  const err = (code, message) => new FootlightError(code, message + said, { status, reason });
  switch (status) {
    case 401:
      if (r.includes("expired")) {
        return err("expired", "This token has expired. Ask for a new one (CreateParticipantToken).");
      }
      if (r.includes("missing")) {
        return err("unauthorized", "No token was sent.");
      }
      return err("unauthorized", "The server does not accept this token: it is malformed, badly signed, or signed by a key it does not know.");
    case 403:
      if (r.includes("capabilit")) {
        if (op === "publish") {
          return err("no-capability", "This token cannot publish: it was created without the PUBLISH capability.");
        }
        if (op === "subscribe") {
          return err("no-capability", "This token cannot watch other participants: it was created without the SUBSCRIBE capability.");
        }
        return err("no-capability", "This token lacks the capability for this.");
      }
      if (r.includes("disconnected")) {
        return err("revoked", "This participant was disconnected from the stage (DisconnectParticipant), so its token is refused for good. Ask for a new one.");
      }
      if (r.includes("another stage")) {
        return err("wrong-stage", "This token is for another stage.");
      }
      if (r.includes("limit")) {
        return err("publisher-limit", "The stage already has as many publishers as it allows.");
      }
      return err("forbidden", "The server refused this request.");
    case 404:
      if (r.includes("stage")) {
        return err("stage-not-found", "The stage does not exist (it may have been deleted).");
      }
      if (r.includes("not publishing")) {
        return err("not-publishing", "That participant is not publishing.");
      }
      return err("not-found", "The server does not know this connection.");
    case 503:
      return err("server-shutdown", "The server is shutting down; try again shortly.");
    default:
      return err("server", `The server answered ${status}.`);
  }
}

/**
 * Joins a stage: opens the events websocket (which makes this participant CONNECTED and keeps
 * the stage session alive) and resolves with a Stage once the stage's participants are known.
 *
 * `options` may hold handlers, the same as stage.on(…) takes: onParticipantJoined(p),
 * onParticipantLeft(p, reason), onParticipantPublished(p), onParticipantUnpublished(p),
 * onDisconnected(error), onConnectionState({ kind, participantId, state }); and
 * `rtcConfiguration`, extra RTCPeerConnection settings (iceServers, …); `connectTimeout`, how
 * many milliseconds a media connection may take to connect (ICE and DTLS) before it counts as
 * an ICE failure (default 15000).
 *
 * Right after join resolves, participantJoined (then participantPublished, for publishers) is
 * emitted for everyone already on the stage, so handlers added with stage.on() straight after
 * `await join(…)` see them too. Events concern the other participants, never yourself.
 */
export async function join(token, options = {}) {
  const info = decodeToken(token);
  if (isExpired(info)) {
    throw expiredError(info);
  }
  const stage = new Stage(info, options);
  await stage._connectEvents(true);
  return stage;
}

const HANDLER_OPTIONS = {
  onParticipantJoined: "participantJoined",
  onParticipantLeft: "participantLeft",
  onParticipantPublished: "participantPublished",
  onParticipantUnpublished: "participantUnpublished",
  onDisconnected: "disconnected",
  onConnectionState: "connectionState",
};

/**
 * A joined stage. Made by join(); not constructed directly.
 *
 * Properties: participantId, userId, stageId, stageArn, capabilities, attributes (your own,
 * from the token), participants (a Map of id → participant, you included, kept current),
 * publication (the current Publication or null), left (true once left or disconnected),
 * rtcConfiguration (the RTCPeerConnection settings every new connection takes, reconnections
 * included: update it, e.g. with fresh TURN credentials, and the next connection uses it).
 * A participant is { id, userId, attributes, isPublishing, isLocal }.
 */
export class Stage {
  constructor(info, options) {
    this.info = info;
    this.participantId = info.participantId;
    this.userId = info.userId;
    this.stageId = info.stageId;
    this.stageArn = info.stageArn;
    this.capabilities = info.capabilities;
    this.attributes = info.attributes;
    this.participants = new Map();
    this.publication = null;
    this.left = false;
    this.rtcConfiguration = options.rtcConfiguration ?? {};
    this.connectTimeout = options.connectTimeout ?? CONNECT_TIMEOUT_MS;
    this._handlers = new Map();
    this._subscriptions = new Map(); // participant id → Subscription
    this._ws = null;
    this._eventsRetried = false;
    this._pingTimer = 0;
    this._pongTimer = 0;
    this._onPageHide = () => this._closeAll({ keepalive: true });
    for (const [option, event] of Object.entries(HANDLER_OPTIONS)) {
      if (typeof options[option] === "function") {
        this.on(event, options[option]);
      }
    }
  }

  /**
   * Adds a handler for "participantJoined", "participantLeft", "participantPublished",
   * "participantUnpublished", "disconnected" or "connectionState"; returns a function that
   * removes it.
   */
  on(event, handler) {
    if (!Object.values(HANDLER_OPTIONS).includes(event)) {
      throw new TypeError(`unknown event ${event}`);
    }
    const set = this._handlers.get(event) ?? new Set();
    set.add(handler);
    this._handlers.set(event, set);
    return () => set.delete(handler);
  }

  _emit(event, ...args) {
    for (const handler of this._handlers.get(event) ?? []) {
      try {
        handler(...args);
      } catch (err) {
        setTimeout(() => { throw err; }); // a handler's bug is the page's, reported as uncaught
      }
    }
  }

  /** The participants other than you, in the order the stage reported them. */
  remoteParticipants() {
    return [...this.participants.values()].filter((p) => !p.isLocal);
  }

  // --- the events websocket -------------------------------------------------------------

  // _connectEvents opens the events websocket and resolves after STAGE_STATE. On the first
  // connection the snapshot is replayed as events; on a reconnection it is diffed against what
  // was known, so handlers see exactly the changes they missed.
  _connectEvents(first) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${this.info.eventsUrl}/${encodeURIComponent(this.stageId)}`, this.info.token);
      this._ws = ws;
      let state = "opening"; // then "replaying" (messages wait) and "live"; or "refused"
      const queued = [];
      // A refused upgrade shows only as an abnormal close (err null): _diagnose asks why.
      const refuse = (err) => {
        if (state !== "opening") {
          return;
        }
        state = "refused";
        clearTimeout(timer);
        if (err) {
          reject(err);
        } else {
          this._diagnose().then(reject, reject);
        }
      };
      const timer = setTimeout(() => {
        refuse(new FootlightError("network", "The stage's events connection did not answer in time."));
        ws.close();
      }, JOIN_TIMEOUT_MS);
      ws.onmessage = (e) => {
        let msg;
        try {
          msg = JSON.parse(e.data);
        } catch {
          return; // docs/EVENTS.md: clients ignore what they do not understand
        }
        if (state === "replaying") {
          queued.push(msg);
          return;
        }
        if (state === "live") {
          this._onEvent(msg);
          return;
        }
        if (state !== "opening" || msg.type !== "STAGE_STATE") {
          return;
        }
        clearTimeout(timer);
        state = "replaying";
        const before = this.participants;
        this._setParticipants(msg.payload?.participants ?? []);
        if (first) {
          addEventListener("pagehide", this._onPageHide);
        }
        this._startPing(ws);
        resolve(this);
        // After the caller's continuation, so handlers it adds right away see the snapshot.
        setTimeout(() => {
          this._replay(before, first);
          for (const m of queued) {
            this._onEvent(m);
          }
          queued.length = 0;
          state = "live";
        });
      };
      ws.onclose = (e) => {
        if (state === "opening") {
          refuse(null);
          return;
        }
        if (this._ws === ws) {
          this._stopPing();
          this._onEventsClosed(e.code, e.reason);
        }
      };
    });
  }

  // _diagnose explains why the events websocket was refused. Browsers hide a refused upgrade's
  // status, so the client asks the stage's WHIP endpoint with a body it must refuse: the token
  // is judged first (401, 403 another stage, 404 stage gone), and a token that passes gets 415
  // without anything being joined. A token that passes but could not open the events
  // connection belongs, in all likelihood, to a disconnected participant (the events endpoint's
  // other refusals are 5xx, or a proxy that does not pass WebSockets).
  async _diagnose() {
    let resp;
    try {
      resp = await fetch(this.info.whipUrl, {
        method: "POST",
        headers: { Authorization: `Bearer ${this.info.token}`, "Content-Type": "text/plain" },
        body: "",
      });
    } catch (err) {
      return new FootlightError("network", `Footlight at ${new URL(this.info.whipUrl).origin} cannot be reached.`, { cause: err });
    }
    const reason = (await resp.text()).trim();
    if (resp.status === 415) {
      return new FootlightError("revoked",
        "The server accepts this token but refused its events connection: most likely the participant was disconnected from the stage (DisconnectParticipant), which refuses its token for good, so ask for a new one. (Otherwise a proxy in between does not pass WebSockets.)",
        { status: 403 });
    }
    return refusalError(resp.status, reason, "join");
  }

  _startPing(ws) {
    this._stopPing();
    this._pingTimer = setInterval(() => {
      if (ws.readyState !== WebSocket.OPEN) {
        return;
      }
      ws.send(JSON.stringify({ type: "PING" }));
      clearTimeout(this._pongTimer);
      this._pongTimer = setTimeout(() => ws.close(4000, "no PONG"), PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  _stopPing() {
    clearInterval(this._pingTimer);
    clearTimeout(this._pongTimer);
  }

  _setParticipants(list) {
    this.participants = new Map(list.map((p) => [p.id, this._participant(p)]));
  }

  _participant(p) {
    return {
      id: String(p.id),
      userId: typeof p.userId === "string" ? p.userId : "",
      attributes: p.attributes && typeof p.attributes === "object" ? { ...p.attributes } : {},
      isPublishing: p.isPublishing === true,
      isLocal: p.id === this.participantId,
    };
  }

  // _replay emits what changed between `before` and the current participants: on the first
  // connection, everyone joined.
  _replay(before, first) {
    for (const [id, old] of before) {
      if (!this.participants.has(id) && !old.isLocal) {
        this._dropSubscription(id);
        this._emit("participantLeft", old, "");
      }
    }
    for (const p of this.participants.values()) {
      if (p.isLocal) {
        continue;
      }
      const old = first ? undefined : before.get(p.id);
      if (!old) {
        this._emit("participantJoined", p);
      }
      if (p.isPublishing && !old?.isPublishing) {
        this._emit("participantPublished", p);
      } else if (!p.isPublishing && old?.isPublishing) {
        this._dropSubscription(p.id);
        this._emit("participantUnpublished", p);
      }
    }
  }

  _onEvent(msg) {
    if (this.left) {
      return;
    }
    if (msg.type === "PONG") {
      clearTimeout(this._pongTimer);
      return;
    }
    const raw = msg.payload?.participant;
    if (!raw) {
      return; // STAGE_DELETED (the close follows) and types this client does not know
    }
    const p = this._participant(raw);
    switch (msg.type) {
      case "PARTICIPANT_JOINED":
        this.participants.set(p.id, p);
        if (!p.isLocal) {
          this._emit("participantJoined", p);
        }
        break;
      case "PARTICIPANT_LEFT":
        this.participants.delete(p.id);
        if (!p.isLocal) {
          this._dropSubscription(p.id);
          this._emit("participantLeft", p, msg.payload.reason ?? "");
        }
        break;
      case "PARTICIPANT_PUBLISH_STARTED":
        this.participants.set(p.id, p);
        if (!p.isLocal) {
          this._emit("participantPublished", p);
        }
        break;
      case "PARTICIPANT_PUBLISH_STOPPED":
        this.participants.set(p.id, p);
        if (!p.isLocal) {
          this._dropSubscription(p.id);
          this._emit("participantUnpublished", p);
        }
        break;
    }
  }

  // _onEventsClosed handles the end of a joined events connection: a lost connection or a
  // lagging client reconnects once; anything the server meant ends the stage for this client.
  _onEventsClosed(code, reason) {
    if (this.left) {
      return;
    }
    const retriable = code === 1006 || code === 4001 || code === 4000 && reason === "no PONG";
    if (retriable && !this._eventsRetried) {
      this._eventsRetried = true;
      this._connectEvents(false).then(
        () => { this._eventsRetried = false; },
        (err) => this._disconnect(err ?? closeError(code, reason)),
      );
      return;
    }
    this._disconnect(closeError(code, reason));
  }

  _disconnect(err) {
    if (this.left) {
      return;
    }
    this._closeAll({ keepalive: false });
    this._emit("disconnected", err);
  }

  // --- media -----------------------------------------------------------------------------

  /**
   * Publishes a MediaStream's audio and video tracks (WHIP). Resolves with a Publication once
   * ICE and DTLS are connected. A second publish replaces the first. Failures are
   * FootlightErrors: "no-capability" for a token without PUBLISH, "expired", "revoked", …
   */
  async publish(stream) {
    this._checkLive();
    const tracks = stream.getTracks().filter((t) => t.readyState === "live");
    if (tracks.length === 0) {
      throw new TypeError("publish needs a MediaStream with a live audio or video track");
    }
    if (this.publication) {
      await this.publication.stop();
    }
    const pub = new Publication(this, stream, tracks);
    this.publication = pub;
    try {
      await pub._start(1);
    } catch (err) {
      if (this.publication === pub) {
        this.publication = null;
      }
      throw err;
    }
    return pub;
  }

  /** Stops publishing (DELETE of the WHIP session); the tracks keep running. */
  async unpublish() {
    await this.publication?.stop();
  }

  /**
   * Watches one publishing participant: resolves with a MediaStream that receives its audio
   * and video. The same stream is returned while the subscription lives; it is renewed by
   * itself when the server ends it while the participant still publishes (as when the
   * publisher restarts), and ends when the participant stops publishing or leaves.
   */
  async subscribe(participantId) {
    this._checkLive();
    const existing = this._subscriptions.get(participantId);
    if (existing) {
      return existing.ready;
    }
    const sub = new Subscription(this, participantId);
    this._subscriptions.set(participantId, sub);
    sub.ready = sub._start().then(() => sub.stream, (err) => {
      if (this._subscriptions.get(participantId) === sub) {
        this._subscriptions.delete(participantId);
      }
      throw err;
    });
    return sub.ready;
  }

  /** Stops watching a participant; its MediaStream's tracks end. */
  unsubscribe(participantId) {
    this._dropSubscription(participantId);
  }

  _dropSubscription(id) {
    const sub = this._subscriptions.get(id);
    if (sub) {
      this._subscriptions.delete(id);
      sub._close({ keepalive: false });
    }
  }

  /**
   * The WebRTC statistics of a subscription (a participant's id) or, with no argument or your
   * own id, of your publication; null if there is none.
   */
  async getStats(participantId = this.participantId) {
    const link = participantId === this.participantId ? this.publication?._link : this._subscriptions.get(participantId)?._link;
    return link ? link.pc.getStats() : null;
  }

  /** Leaves the stage: ends every media session (DELETE) and the events connection. */
  async leave() {
    if (this.left) {
      return;
    }
    const pending = this._closeAll({ keepalive: false });
    await Promise.race([pending, new Promise((r) => setTimeout(r, 2000))]);
  }

  _closeAll({ keepalive }) {
    this.left = true;
    removeEventListener("pagehide", this._onPageHide);
    this._stopPing();
    const ends = [];
    if (this.publication) {
      ends.push(this.publication._close({ keepalive }));
      this.publication = null;
    }
    for (const sub of this._subscriptions.values()) {
      ends.push(sub._close({ keepalive }));
    }
    this._subscriptions.clear();
    if (this._ws && this._ws.readyState <= WebSocket.OPEN) {
      this._ws.close(1000, "left");
    }
    return Promise.allSettled(ends);
  }

  _checkLive() {
    if (this.left) {
      throw new FootlightError("left", "This stage was left; join again.");
    }
  }

  _state(kind, participantId, state) {
    this._emit("connectionState", { kind, participantId, state });
  }
}

// closeError describes an events close code (docs/EVENTS.md, "Close codes").
function closeError(code, reason) {
  const opts = { closeCode: code, reason };
  switch (code) {
    case 1001:
      return new FootlightError("server-shutdown", "The server is shutting down.", opts);
    case 4009:
      return new FootlightError("stage-deleted", "The stage was deleted.", opts);
    case 4010:
      return new FootlightError("revoked", "You were removed from the stage (DisconnectParticipant). This token cannot join again.", opts);
    case 4011:
      return new FootlightError("replaced", "This token joined the stage from somewhere else, which replaced this connection.", opts);
    case 1006:
    case 4000:
    case 4001:
      return new FootlightError("network", "The connection to the stage was lost.", opts);
    default:
      return new FootlightError("network", `The stage connection closed (${code}${reason ? " " + reason : ""}).`, opts);
  }
}

/**
 * What publish() resolves with. `stream` is the published MediaStream; stop() ends the
 * publication (the tracks keep running: they are the caller's).
 *
 * An ICE failure, while connecting or later, is retried once with a new WHIP session
 * (ICE restarts are not supported by the server); the server ending the session (this token
 * published from elsewhere, DisconnectParticipant, shutdown) ends the publication.
 */
export class Publication {
  constructor(stage, stream, tracks) {
    this.stage = stage;
    this.stream = stream;
    this._tracks = tracks;
    this._link = null;
    this._stopped = false;
  }

  // _start publishes, retrying ICE failures `retries` times; it resolves once connected.
  async _start(retries, state = "connecting") {
    const id = this.stage.participantId;
    const url = `${this.stage.info.whipUrl}/publish/${encodeURIComponent(id)}`;
    for (let attempt = 0; ; attempt++) {
      this.stage._state("publish", id, attempt ? "reconnecting" : state);
      const link = new MediaLink(this.stage, url, "publish", (pc) => {
        for (const track of this._tracks) {
          pc.addTransceiver(track, { direction: "sendonly", streams: [this.stream] });
        }
      }, (why) => this._onLinkEnded(link, why));
      link.starting = true;
      this._link = link;
      try {
        await link.open();
        await link.connected();
      } catch (err) {
        link.close({ keepalive: false });
        if (this._stopped) {
          throw new FootlightError("left", "The publication was stopped.");
        }
        if (err.code === "ice-failed" && attempt < retries) {
          continue;
        }
        throw err;
      } finally {
        link.starting = false;
      }
      if (this._stopped) {
        link.close({ keepalive: false });
        throw new FootlightError("left", "The publication was stopped.");
      }
      this.stage._state("publish", id, "connected");
      return;
    }
  }

  // _onLinkEnded hears of a connected session's end (while starting, _start handles it).
  _onLinkEnded(link, why) {
    if (this._stopped || link !== this._link || link.starting) {
      return;
    }
    link.close({ keepalive: false });
    if (why === "ice-failed") {
      this._start(0, "reconnecting").catch(() => this._end("failed"));
      return;
    }
    this._end("ended");
  }

  _end(state) {
    if (this._stopped) {
      return;
    }
    this._stopped = true;
    this._link?.close({ keepalive: false });
    this._link = null;
    if (this.stage.publication === this) {
      this.stage.publication = null;
    }
    this.stage._state("publish", this.stage.participantId, state);
  }

  /** Ends the publication (DELETE on the WHIP session). */
  async stop() {
    await this._close({ keepalive: false });
    if (this.stage.publication === this) {
      this.stage.publication = null;
    }
  }

  _close({ keepalive }) {
    if (this._stopped) {
      return Promise.resolve();
    }
    this._stopped = true;
    const link = this._link;
    this._link = null;
    this.stage._state("publish", this.stage.participantId, "closed");
    return link ? link.close({ keepalive }) : Promise.resolve();
  }
}

// Subscription is one watched participant: its MediaStream outlives renewed connections.
class Subscription {
  constructor(stage, participantId) {
    this.stage = stage;
    this.participantId = participantId;
    this.stream = new MediaStream();
    this.ready = null;
    this._link = null;
    this._closed = false;
    this._renewing = false;
  }

  // _start subscribes; it resolves once the answer is applied (the stream has its tracks),
  // and reports "connected" when media can flow.
  async _start(state = "connecting") {
    this.stage._state("subscribe", this.participantId, state);
    await this._open();
    const link = this._link;
    link.connected().then(() => {
      if (link === this._link && !this._closed) {
        this._renewing = false; // connected again: a later failure gets its own renewal
        this.stage._state("subscribe", this.participantId, "connected");
      }
    }, () => {}); // a failure reaches _onLinkEnded
  }

  // _open POSTs the subscribe offer, retrying for a moment while the stage says the
  // participant publishes but the server does not know its media yet (404).
  async _open() {
    const url = `${this.stage.info.whipUrl}/subscribe/${encodeURIComponent(this.participantId)}`;
    const deadline = Date.now() + SUBSCRIBE_RETRY_FOR_MS;
    for (;;) {
      const link = new MediaLink(this.stage, url, "subscribe", (pc) => {
        pc.addTransceiver("audio", { direction: "recvonly" });
        pc.addTransceiver("video", { direction: "recvonly" });
        pc.ontrack = (e) => this._addTrack(e.track);
      }, (why) => this._onLinkEnded(link, why));
      this._link = link;
      try {
        await link.open();
      } catch (err) {
        link.close({ keepalive: false });
        const stillPublishing = this.stage.participants.get(this.participantId)?.isPublishing;
        if (err.code !== "not-publishing" || !stillPublishing || Date.now() > deadline || this._closed) {
          throw err;
        }
        await new Promise((r) => setTimeout(r, SUBSCRIBE_RETRY_MS));
        continue;
      }
      if (this._closed) {
        link.close({ keepalive: false });
        throw new FootlightError("left", "The subscription was closed.");
      }
      return;
    }
  }

  _addTrack(track) {
    for (const old of this.stream.getTracks()) {
      if (old.kind === track.kind && old !== track) {
        this.stream.removeTrack(old);
      }
    }
    if (!this.stream.getTracks().includes(track)) {
      this.stream.addTrack(track);
    }
  }

  // _onLinkEnded renews the subscription once, if the participant still publishes: after an
  // ICE failure, or when the server ended it (the publisher restarted; MEDIA.md).
  _onLinkEnded(link, why) {
    if (this._closed || link !== this._link) {
      return;
    }
    link.close({ keepalive: false });
    const publishing = this.stage.participants.get(this.participantId)?.isPublishing;
    if (!publishing || this._renewing) {
      this._end(why === "ice-failed" ? "failed" : "ended");
      return;
    }
    this._renewing = true;
    this._start("reconnecting").catch(() => this._end(why === "ice-failed" ? "failed" : "ended"));
  }

  _end(state) {
    if (this.stage._subscriptions.get(this.participantId) === this) {
      this.stage._subscriptions.delete(this.participantId);
    }
    this._close({ keepalive: false }, state);
  }

  _close({ keepalive }, state = "closed") {
    if (this._closed) {
      return Promise.resolve();
    }
    this._closed = true;
    for (const track of this.stream.getTracks()) {
      track.stop();
    }
    const link = this._link;
    this._link = null;
    this.stage._state("subscribe", this.participantId, state);
    return link ? link.close({ keepalive }) : Promise.resolve();
  }
}

// MediaLink is one WHIP or subscribe session: a PeerConnection, its offer POSTed with the
// token, its candidates trickled by PATCH to the Location, and DELETE when it closes.
// `setup(pc)` adds the transceivers; `onEnded(why)` hears of an ICE failure ("ice-failed") or
// of the server closing the session ("closed").
class MediaLink {
  constructor(stage, url, op, setup, onEnded) {
    this.stage = stage;
    this.url = url;
    this.op = op;
    this.location = "";
    this.etag = "";
    this.closed = false;
    this._onEnded = onEnded;
    this._pending = []; // candidates gathered before the Location is known, or not yet sent
    this._gathered = false;
    this._sentEnd = false;
    this._serverEnded = false;
    this._flushTimer = 0;
    this._connected = null;
    this.pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", rtcpMuxPolicy: "require", ...stage.rtcConfiguration });
    setup(this.pc);
    this.pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate) {
        this._pending.push(e.candidate);
      } else if (!e.candidate) {
        this._gathered = true;
      }
      this._scheduleFlush();
    };
    this.pc.onconnectionstatechange = () => {
      if (this.pc.connectionState === "failed") {
        this._ended("ice-failed");
      }
    };
  }

  // open sends the offer (before any candidate: they are trickled) and applies the answer.
  async open() {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    let resp;
    try {
      resp = await fetch(this.url, {
        method: "POST",
        headers: { Authorization: `Bearer ${this.stage.info.token}`, "Content-Type": "application/sdp" },
        body: offer.sdp,
      });
    } catch (err) {
      throw new FootlightError("network", `Footlight at ${new URL(this.url).origin} cannot be reached.`, { cause: err });
    }
    const body = await resp.text();
    if (resp.status !== 201) {
      throw refusalError(resp.status, body.trim(), this.op);
    }
    this.location = new URL(resp.headers.get("Location") ?? "", this.url).href;
    this.etag = resp.headers.get("ETag") ?? "";
    await this.pc.setRemoteDescription({ type: "answer", sdp: body });
    this._watchDTLS();
    this._scheduleFlush();
  }

  // _watchDTLS notices the server closing the session: its DTLS close_notify makes the
  // transport "closed" without this side having closed anything.
  _watchDTLS() {
    const transport = this.pc.getTransceivers().find((t) => t.sender?.transport)?.sender.transport;
    if (!transport) {
      return;
    }
    transport.addEventListener("statechange", () => {
      if (transport.state === "closed") {
        this._serverEnded = true; // nothing left to DELETE
        this._ended("closed");
      } else if (transport.state === "failed") {
        this._ended("ice-failed");
      }
    });
  }

  _ended(why) {
    if (this.closed) {
      return;
    }
    this._onEnded(why);
  }

  // connected resolves once ICE and DTLS are up, and rejects if they fail or time out.
  connected() {
    this._connected ??= new Promise((resolve, reject) => {
      const check = () => {
        const s = this.pc.connectionState;
        if (s === "connected") {
          cleanup();
          resolve();
        } else if (s === "failed" || s === "closed" || this.closed) {
          cleanup();
          reject(new FootlightError("ice-failed", "The media connection could not be established (ICE or DTLS failed)."));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new FootlightError("ice-failed", "The media connection was not established in time: UDP to the server may be blocked."));
      }, this.stage.connectTimeout);
      const cleanup = () => {
        clearTimeout(timer);
        this.pc.removeEventListener("connectionstatechange", check);
      };
      this.pc.addEventListener("connectionstatechange", check);
      check();
    });
    return this._connected;
  }

  _scheduleFlush() {
    if (!this.location || this._flushTimer || this.closed) {
      return;
    }
    this._flushTimer = setTimeout(() => {
      this._flushTimer = 0;
      this._flush();
    }, TRICKLE_BATCH_MS);
  }

  // _flush PATCHes the gathered candidates as one SDP fragment (RFC 8840 §9, RFC 9725 §4.3.1).
  async _flush() {
    const candidates = this._pending.splice(0);
    const end = this._gathered && !this._sentEnd;
    if (candidates.length === 0 && !end) {
      return;
    }
    this._sentEnd ||= end;
    const body = sdpFragment(this.pc.localDescription?.sdp ?? "", candidates, end);
    try {
      const resp = await fetch(this.location, {
        method: "PATCH",
        headers: {
          Authorization: `Bearer ${this.stage.info.token}`,
          "Content-Type": "application/trickle-ice-sdpfrag",
          ...(this.etag ? { "If-Match": this.etag } : {}),
        },
        body,
      });
      if (!resp.ok && !this.closed) {
        console.warn(`footlight: trickle PATCH answered ${resp.status}: ${(await resp.text()).trim()}`);
      }
    } catch {
      // the candidates were an optimisation: the server's own candidates are in its answer
    }
  }

  // close DELETEs the session, then closes the PeerConnection: closed first, its DTLS
  // close_notify would end the session on the server before the DELETE arrives. keepalive
  // lets the DELETE outlive the page (pagehide), which cannot wait for it.
  close({ keepalive }) {
    if (this.closed) {
      return Promise.resolve();
    }
    this.closed = true;
    clearTimeout(this._flushTimer);
    if (!this.location || this._serverEnded) {
      this.pc.close();
      return Promise.resolve();
    }
    const deleted = fetch(this.location, {
      method: "DELETE",
      headers: { Authorization: `Bearer ${this.stage.info.token}` },
      keepalive,
    }).then(() => {}, () => {});
    if (keepalive) {
      this.pc.close();
      return deleted;
    }
    return Promise.race([deleted, new Promise((r) => setTimeout(r, 1000))]).then(() => this.pc.close());
  }
}

// sdpFragment builds a trickle-ice-sdpfrag: the ICE credentials, then each m-line's mid and
// its candidates (with BUNDLE they all belong to the first), then end-of-candidates if done.
export function sdpFragment(localSDP, candidates, end) {
  const lines = [];
  const ufrag = /^a=ice-ufrag:(.*)$/m.exec(localSDP)?.[1]?.trim();
  const pwd = /^a=ice-pwd:(.*)$/m.exec(localSDP)?.[1]?.trim();
  if (ufrag) {
    lines.push(`a=ice-ufrag:${ufrag}`);
  }
  if (pwd) {
    lines.push(`a=ice-pwd:${pwd}`);
  }
  const byMid = new Map();
  for (const c of candidates) {
    const mid = c.sdpMid ?? String(c.sdpMLineIndex ?? 0);
    byMid.set(mid, [...(byMid.get(mid) ?? []), c.candidate]);
  }
  if (byMid.size === 0 && end) {
    const mid = /^a=mid:(.*)$/m.exec(localSDP)?.[1]?.trim() ?? "0";
    byMid.set(mid, []);
  }
  for (const [mid, list] of byMid) {
    lines.push("m=audio 9 UDP/TLS/RTP/SAVPF 0", `a=mid:${mid}`);
    for (const c of list) {
      lines.push(`a=${c}`);
    }
    if (end) {
      lines.push("a=end-of-candidates");
    }
  }
  return lines.join("\r\n") + "\r\n";
}
