// The console page (/): join a stage with a participant token, preview and publish your camera
// and microphone, watch every other publisher, follow the participants live. Everything it
// does goes through the client module, as any page built on it would (docs/CLIENT.md).
import { join, decodeToken, isExpired, FootlightError } from "./footlight.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "footlight.console.token"; // sessionStorage: this tab only

let token = "";
let stage = null;
let localStream = null;
let previewing = null; // the pending startPreview, so a click during it does not open a second camera
let publishing = false;
let busy = false;
let summaryTimer = 0;
let statusText = "Connecting…";
const tiles = new Map(); // participant id → tile element
const notified = new Set(); // error codes already shown once this stay (e.g. no SUBSCRIBE)

// The page's state for tests and for a developer's console: window.footlightConsole.stage.
window.footlightConsole = {
  get stage() { return stage; },
  get localStream() { return localStream; },
};

const TITLES = {
  malformed: "Not a participant token",
  expired: "This token has expired",
  unauthorized: "Token refused",
  revoked: "This token was revoked",
  "no-capability": "Not allowed by this token",
  "wrong-stage": "Wrong stage",
  "stage-not-found": "Stage not found",
  "stage-deleted": "The stage was deleted",
  "publisher-limit": "The stage is full",
  replaced: "Joined from elsewhere",
  "server-shutdown": "Footlight is shutting down",
  network: "Connection problem",
  "ice-failed": "Media connection failed",
};

function init() {
  $("endpoint-example").textContent = location.origin;
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromFragment) {
    // Out of the address bar (and its history): the tab keeps it in sessionStorage.
    history.replaceState(null, "", location.pathname + location.search);
    sessionStorage.setItem(TOKEN_KEY, fromFragment);
  }
  const saved = fromFragment || sessionStorage.getItem(TOKEN_KEY) || "";
  $("token-input").value = saved;
  showSummary();
  $("token-input").addEventListener("input", () => {
    hide($("join-error"));
    showSummary();
  });
  $("join-form").addEventListener("submit", (e) => {
    e.preventDefault();
    enter($("token-input").value);
  });
  $("publish-button").addEventListener("click", togglePublish);
  $("mic-button").addEventListener("click", () => toggleTrack("audio"));
  $("camera-button").addEventListener("click", () => toggleTrack("video"));
  $("leave-button").addEventListener("click", leave);
  $("notice-close").addEventListener("click", () => hide($("notice")));
  $("rejoin-button").addEventListener("click", () => enter(token));
  $("new-token-button").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    $("token-input").value = "";
    showSummary();
    showView("join-view");
    $("token-input").focus();
  });
  if (fromFragment) {
    enter(fromFragment);
  }
}

// --- joining -------------------------------------------------------------------------------

// showSummary shows what the pasted token says, or why it is not one, as the user types.
function showSummary() {
  clearInterval(summaryTimer);
  const dl = $("token-summary");
  const text = $("token-input").value.trim();
  if (!text) {
    hide(dl);
    return;
  }
  let info;
  try {
    info = decodeToken(text);
  } catch (err) {
    dl.replaceChildren(...pair("Token", err.message));
    dl.classList.add("bad");
    show(dl);
    return;
  }
  const render = () => {
    const caps = [info.capabilities.publish && "publish", info.capabilities.subscribe && "subscribe"].filter(Boolean);
    const expired = isExpired(info);
    dl.replaceChildren(
      ...pair("User", info.userId || "(no userId)"),
      ...pair("Stage", info.stageId),
      ...pair("Can", caps.length ? caps.join(" and ") : "nothing (no capabilities)"),
      ...pair("Expires", info.expiresAt ? `${info.expiresAt.toLocaleString()} (${relative(info.expiresAt)})` : "never"),
    );
    dl.classList.toggle("bad", expired);
  };
  render();
  summaryTimer = setInterval(render, 15000);
  show(dl);
}

async function enter(text) {
  if (busy) {
    return;
  }
  const errorBox = $("join-error");
  hide(errorBox);
  token = String(text).trim();
  let info;
  try {
    info = decodeToken(token);
  } catch (err) {
    showView("join-view");
    showError(errorBox, err);
    return;
  }
  if (isExpired(info)) {
    showView("join-view");
    showError(errorBox, new FootlightError("expired",
      `It expired ${relative(info.expiresAt)}, at ${info.expiresAt.toLocaleString()}. Ask for a new token (CreateParticipantToken).`));
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  busy = true;
  const button = $("join-button");
  button.disabled = true;
  button.textContent = "Joining…";
  try {
    stage = await join(token, {
      onParticipantJoined: renderPeople,
      onParticipantLeft: (p) => { removeTile(p.id); renderPeople(); },
      onParticipantPublished: (p) => { addTile(p); renderPeople(); },
      onParticipantUnpublished: (p) => { removeTile(p.id); renderPeople(); },
      onDisconnected: disconnected,
      onConnectionState: connectionState,
    });
  } catch (err) {
    showView("join-view");
    showError(errorBox, err);
    return;
  } finally {
    busy = false;
    button.disabled = false;
    button.textContent = "Join";
  }
  notified.clear();
  $("stage-chip").textContent = stage.stageId;
  $("user-chip").textContent = stage.userId || stage.participantId;
  show($("stage-info"));
  setStatus("Connected");
  hide($("notice"));
  showView("stage-view");
  setPublishing(false);
  renderPeople();
  updateEmpty();
  if (stage.capabilities.publish) {
    startPreview().catch((err) => notice(err));
  }
}

function disconnected(err) {
  stopLocal();
  clearTiles();
  stage = null;
  hide($("stage-info"));
  $("left-title").textContent = err.code === "revoked" ? "You were removed from the stage" : TITLES[err.code] ?? "Disconnected";
  $("left-text").textContent = err.message;
  // A revoked, replaced or deleted-stage token cannot usefully rejoin.
  $("rejoin-button").hidden = ["revoked", "stage-deleted", "replaced"].includes(err.code);
  showView("left-view");
}

async function leave() {
  const s = stage;
  stage = null;
  stopLocal();
  clearTiles();
  hide($("stage-info"));
  $("left-title").textContent = "You left the stage";
  $("left-text").textContent = "Your camera and microphone are off. Join again with the same token while it is valid.";
  $("rejoin-button").hidden = false;
  showView("left-view");
  await s?.leave();
}

// --- your camera and microphone ------------------------------------------------------------

// startPreview opens the camera and microphone once, falling back to either alone.
function startPreview() {
  previewing ??= openPreview().finally(() => { previewing = null; });
  return previewing;
}

async function openPreview() {
  if (localStream) {
    return localStream;
  }
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new FootlightError("media", "This page cannot use a camera here: browsers allow it only on https:// or localhost.");
  }
  const tries = [
    { audio: true, video: { width: { ideal: 1280 }, height: { ideal: 720 } } },
    { audio: true },
    { video: true },
  ];
  let lastError;
  for (const constraints of tries) {
    try {
      localStream = await navigator.mediaDevices.getUserMedia(constraints);
      break;
    } catch (err) {
      lastError = err;
    }
  }
  if (!localStream) {
    throw new FootlightError("media", `No camera or microphone: ${lastError?.message ?? "permission denied"}.`);
  }
  if (!stage) { // left while the browser asked for permission
    stopLocal();
    throw new FootlightError("left", "You left the stage.");
  }
  const video = $("local-video");
  video.srcObject = localStream;
  show($("local-tile"));
  $("mic-button").disabled = localStream.getAudioTracks().length === 0;
  $("camera-button").disabled = localStream.getVideoTracks().length === 0;
  updateEmpty();
  return localStream;
}

function stopLocal() {
  for (const t of localStream?.getTracks() ?? []) {
    t.stop();
  }
  localStream = null;
  $("local-video").srcObject = null;
  hide($("local-tile"));
  setPublishing(false);
  for (const [id, label] of [["mic-button", "Mute"], ["camera-button", "Camera off"]]) {
    const b = $(id);
    b.disabled = true;
    b.setAttribute("aria-pressed", "false");
    b.querySelector("span").textContent = label;
  }
}

async function togglePublish() {
  if (!stage || busy) {
    return;
  }
  busy = true;
  const button = $("publish-button");
  button.disabled = true;
  hide($("notice"));
  try {
    if (publishing) {
      await stage.unpublish();
      setPublishing(false);
      return;
    }
    if (!stage.capabilities.publish) {
      // The token says so itself: no camera is opened to be refused. (The server refuses such
      // a publish with 403 too, which the client module reports the same way.)
      throw new FootlightError("no-capability",
        "This token cannot publish: it was created without the PUBLISH capability. Ask for a token with PUBLISH to go live; you can still watch.");
    }
    button.querySelector("span").textContent = "Starting…";
    await startPreview();
    await stage.publish(localStream);
    setPublishing(true);
  } catch (err) {
    setPublishing(false);
    notice(err);
  } finally {
    busy = false;
    button.disabled = false;
  }
}

function setPublishing(on) {
  publishing = on;
  const button = $("publish-button");
  button.setAttribute("aria-pressed", String(on));
  button.classList.toggle("live", on);
  button.querySelector("span").textContent = on ? "Stop publishing" : "Publish";
  $("local-badge").textContent = on ? "Live" : "Preview";
  $("local-badge").classList.toggle("live", on);
  if (stage) {
    setStatus(on ? "Publishing" : "Connected");
    renderPeople();
  }
}

// toggleTrack mutes or unmutes your microphone or camera: the track keeps flowing, as
// silence or black, so unmuting is instant.
function toggleTrack(kind) {
  const tracks = kind === "audio" ? localStream?.getAudioTracks() : localStream?.getVideoTracks();
  if (!tracks?.length) {
    return;
  }
  const muted = tracks[0].enabled;
  for (const t of tracks) {
    t.enabled = !muted;
  }
  const b = $(kind === "audio" ? "mic-button" : "camera-button");
  b.setAttribute("aria-pressed", String(muted));
  b.querySelector("span").textContent = kind === "audio" ? (muted ? "Unmute" : "Mute") : (muted ? "Camera on" : "Camera off");
  $("local-tile").classList.toggle("camera-off", kind === "video" ? muted : $("local-tile").classList.contains("camera-off"));
}

// --- other publishers ------------------------------------------------------------------------

function addTile(p) {
  if (!stage || tiles.has(p.id)) {
    return;
  }
  const tile = $("tile-template").content.firstElementChild.cloneNode(true);
  tile.dataset.participantId = p.id;
  tile.classList.add("connecting");
  tile.querySelector(".name").textContent = p.userId || p.id;
  tile.querySelector(".attrs").textContent = Object.entries(p.attributes).map(([k, v]) => `${k}: ${v}`).join(" · ");
  const video = tile.querySelector("video");
  const sound = tile.querySelector(".tile-sound");
  sound.addEventListener("click", () => {
    video.muted = !video.muted;
    sound.setAttribute("aria-pressed", String(video.muted));
    sound.setAttribute("aria-label", video.muted ? "Unmute this participant" : "Mute this participant");
  });
  tiles.set(p.id, tile);
  $("grid").append(tile);
  updateEmpty();
  const s = stage;
  s.subscribe(p.id).then((stream) => {
    if (tiles.get(p.id) !== tile) {
      return;
    }
    video.srcObject = stream;
    play(tile, video);
  }, (err) => {
    if (tiles.get(p.id) !== tile) {
      return;
    }
    if (err.code === "not-publishing") {
      removeTile(p.id); // it stopped before we got there
      return;
    }
    tile.classList.remove("connecting");
    tile.classList.add("failed");
    tile.querySelector(".attrs").textContent = err.message;
    if (!notified.has(err.code)) {
      notified.add(err.code);
      notice(err);
    }
  });
}

// play starts a tile's video with sound; a browser that blocks autoplay with sound (no click
// on the page yet) gets it muted, with a button to turn the sound on.
function play(tile, video) {
  video.play().catch((err) => {
    if (err.name !== "NotAllowedError") {
      return;
    }
    video.muted = true;
    video.play().catch(() => {});
    const tap = tile.querySelector(".tap-to-play");
    tap.hidden = false;
    tap.addEventListener("click", () => {
      video.muted = false;
      video.play().catch(() => {});
      tap.hidden = true;
    }, { once: true });
  });
}

function removeTile(id) {
  const tile = tiles.get(id);
  if (!tile) {
    return;
  }
  tiles.delete(id);
  tile.querySelector("video").srcObject = null;
  tile.remove();
  updateEmpty();
}

function clearTiles() {
  for (const id of [...tiles.keys()]) {
    removeTile(id);
  }
  $("people").replaceChildren();
  $("people-count").textContent = "0";
}

function connectionState({ kind, participantId, state }) {
  if (kind === "publish") {
    if (state === "reconnecting") {
      setStatus("Reconnecting…");
    } else if (state === "failed" || state === "ended") {
      setPublishing(false);
      notice(state === "failed"
        ? new FootlightError("ice-failed", "Publishing stopped: the media connection failed and could not be re-established.")
        : new FootlightError("replaced", "Publishing stopped: the server ended it. This token may have started publishing from somewhere else."));
    }
    return;
  }
  const tile = tiles.get(participantId);
  if (!tile) {
    return;
  }
  tile.classList.toggle("connecting", state === "connecting" || state === "reconnecting");
  tile.classList.toggle("failed", state === "failed");
  if (state === "failed") {
    tile.querySelector(".attrs").textContent = "Could not connect to this participant's media (ICE failed twice).";
  }
}

function updateEmpty() {
  const nobody = tiles.size === 0;
  $("grid-empty").hidden = !nobody;
  if (stage && !stage.capabilities.subscribe) {
    $("grid-empty").textContent = "This token cannot watch others (it has no SUBSCRIBE capability). You can still publish.";
  } else {
    $("grid-empty").textContent = "Nobody else is publishing yet. Share a token for this stage and they will appear here.";
  }
  $("grid").classList.toggle("solo", nobody);
}

// --- participants ----------------------------------------------------------------------------

function renderPeople() {
  if (!stage) {
    return;
  }
  const people = [...stage.participants.values()].sort((a, b) =>
    Number(b.isLocal) - Number(a.isLocal) || Number(b.isPublishing) - Number(a.isPublishing) ||
    (a.userId || a.id).localeCompare(b.userId || b.id));
  $("people-count").textContent = String(people.length);
  $("people").replaceChildren(...people.map(personItem));
  renderStatus();
}

function personItem(p) {
  const li = el("li", "person");
  li.dataset.participantId = p.id;
  const name = p.userId || "Anonymous";
  const avatar = el("span", "avatar", name.slice(0, 1).toUpperCase());
  avatar.style.setProperty("--hue", String(hue(p.id)));
  avatar.setAttribute("aria-hidden", "true");
  const body = el("div", "person-body");
  const title = el("div", "person-name");
  title.append(el("span", "user-id", name));
  if (p.isLocal) {
    title.append(el("span", "tag", "you"));
  }
  if (p.isLocal ? publishing : p.isPublishing) {
    title.append(el("span", "tag live", "live"));
  }
  body.append(title, el("div", "person-id", p.id));
  const attrs = Object.entries(p.attributes);
  if (attrs.length) {
    const list = el("div", "attrs");
    for (const [k, v] of attrs) {
      const chip = el("span", "attr");
      chip.append(el("b", "", k), document.createTextNode(" " + v));
      list.append(chip);
    }
    body.append(list);
  }
  li.append(avatar, body);
  return li;
}

// --- small helpers ---------------------------------------------------------------------------

function notice(err) {
  const box = $("notice");
  const text = $("notice-text");
  text.replaceChildren();
  const title = TITLES[err.code];
  if (title) {
    text.append(el("strong", "", title + ". "));
  }
  text.append(document.createTextNode(err.message));
  box.dataset.code = err.code ?? "";
  show(box);
}

function showError(box, err) {
  const text = el("span");
  text.append(el("strong", "", (TITLES[err.code] ?? "Could not join") + "."), document.createTextNode(" " + err.message));
  box.replaceChildren(text);
  box.dataset.code = err.code ?? "";
  show(box);
}

function setStatus(text) {
  statusText = text;
  renderStatus();
}

function renderStatus() {
  const count = stage ? stage.participants.size : 0;
  $("status").textContent = stage ? `${statusText} · ${count} here` : statusText;
  $("status").dataset.state = statusText.toLowerCase().replace(/[^a-z]/g, "");
}

function showView(id) {
  for (const v of ["join-view", "stage-view", "left-view"]) {
    $(v).hidden = v !== id;
  }
  document.body.dataset.view = id;
}

function pair(term, detail) {
  return [el("dt", "", term), el("dd", "", detail)];
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) {
    e.className = cls;
  }
  if (text !== undefined) {
    e.textContent = text;
  }
  return e;
}

function show(e) { e.hidden = false; }
function hide(e) { e.hidden = true; }

function hue(s) {
  let h = 0;
  for (const c of s) {
    h = (h * 31 + c.charCodeAt(0)) % 360;
  }
  return h;
}

// relative says how far a date is from now: "in 11 h 59 min", "5 min ago".
function relative(date) {
  const ms = date.getTime() - Date.now();
  const min = Math.round(Math.abs(ms) / 60000);
  let span;
  if (min < 1) {
    span = "less than a minute";
  } else if (min < 60) {
    span = `${min} min`;
  } else if (min < 48 * 60) {
    span = `${Math.floor(min / 60)} h ${min % 60} min`;
  } else {
    span = `${Math.round(min / 1440)} days`;
  }
  return ms >= 0 ? `in ${span}` : `${span} ago`;
}

init();
