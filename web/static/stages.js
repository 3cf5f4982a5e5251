// The operators' page (/stages): every stage of the server, its active session and that
// session's participants, refreshed live, read through the same SigV4 API as the aws CLI
// (ListStages, GetStage, ListStageSessions, ListParticipants). The keys stay in this tab.
import { signRequest } from "./sigv4.js";

const $ = (id) => document.getElementById(id);
const CREDS_KEY = "footlight.stages.credentials"; // sessionStorage: this tab only
const REFRESH_MS = 2000;

let creds = null;
let timer = 0;
let paused = false;
let generation = 0; // bumped when the keys change, so a stale refresh does not render
let clockOffsetMs = 0; // server clock minus ours, learned from a "Signature expired" answer
const expanded = new Set(); // stage ARNs whose details are open
const details = new Map(); // stage ARN → { stage, sessions }

// APIError is an AWS-shaped error answer.
class APIError extends Error {
  constructor(op, status, type, message) {
    super(message || `${op} answered ${status}`);
    this.op = op;
    this.status = status;
    this.type = type;
  }
}

function init() {
  $("creds-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const c = {
      accessKeyId: $("access-key").value.trim(),
      secretAccessKey: $("secret-key").value.trim(),
      region: $("region").value.trim() || "us-east-1",
    };
    start(c, true);
  });
  $("pause-button").addEventListener("click", () => {
    paused = !paused;
    $("pause-button").setAttribute("aria-pressed", String(paused));
    $("pause-button").textContent = paused ? "Resume" : "Pause";
    if (!paused) {
      refresh();
    } else {
      clearTimeout(timer);
      $("refresh-status").textContent = "Paused";
    }
  });
  $("forget-button").addEventListener("click", forget);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && creds && !paused) {
      refresh();
    }
  });
  const saved = sessionStorage.getItem(CREDS_KEY);
  if (saved) {
    try {
      start(JSON.parse(saved), false);
    } catch {
      sessionStorage.removeItem(CREDS_KEY);
    }
  }
}

// start checks the keys with a first ListStages, then shows the stages and keeps them fresh.
async function start(c, fromForm) {
  const button = $("connect-button");
  button.disabled = true;
  hide($("creds-error"));
  creds = c;
  generation++;
  try {
    await call("ListStages", { maxResults: 1 });
  } catch (err) {
    creds = null;
    sessionStorage.removeItem(CREDS_KEY);
    showView(false);
    showAlert($("creds-error"), describe(err));
    return;
  } finally {
    button.disabled = false;
  }
  sessionStorage.setItem(CREDS_KEY, JSON.stringify(c));
  if (fromForm) {
    $("secret-key").value = "";
  }
  showView(true);
  refresh();
}

function forget() {
  clearTimeout(timer);
  generation++;
  creds = null;
  sessionStorage.removeItem(CREDS_KEY);
  expanded.clear();
  details.clear();
  $("stages").replaceChildren();
  showView(false);
  $("access-key").focus();
}

function showView(signedIn) {
  $("creds-form").hidden = signedIn;
  $("stages-view").hidden = !signedIn;
}

// --- the API ---------------------------------------------------------------------------------

// call runs one operation: POST /<op> with a JSON body, signed here. A clock more than 15
// minutes off the server's is corrected once from the answer's Date header.
async function call(op, input = {}, retried = false) {
  const url = new URL("/" + op, location.origin);
  const body = JSON.stringify(input);
  const headers = await signRequest({
    method: "POST",
    url,
    headers: { "Content-Type": "application/json" },
    body,
    region: creds.region,
    service: "ivs",
    credentials: creds,
    date: new Date(Date.now() + clockOffsetMs),
  });
  let resp;
  try {
    resp = await fetch(url, { method: "POST", headers, body, credentials: "omit" });
  } catch (err) {
    throw new APIError(op, 0, "NetworkError", `Footlight cannot be reached: ${err.message}`);
  }
  const text = await resp.text();
  if (resp.ok) {
    return text ? JSON.parse(text) : {};
  }
  let message = "";
  try {
    const e = JSON.parse(text);
    message = e.message || e.exceptionMessage || "";
  } catch {
    message = text.trim();
  }
  const type = resp.headers.get("x-amzn-ErrorType") ?? "";
  const serverDate = Date.parse(resp.headers.get("Date") ?? "");
  if (!retried && /^Signature (expired|not yet current)/.test(message) && !Number.isNaN(serverDate)) {
    clockOffsetMs = serverDate - Date.now();
    return call(op, input, true);
  }
  throw new APIError(op, resp.status, type.split(":")[0], message);
}

// all follows nextToken through every page of a List operation.
async function all(op, input, key) {
  const items = [];
  let nextToken;
  do {
    const page = await call(op, { ...input, maxResults: 100, ...(nextToken ? { nextToken } : {}) });
    items.push(...(page[key] ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return items;
}

function describe(err) {
  switch (err.type) {
    case "UnrecognizedClientException":
      return ["Unknown access key", "The server does not know this access key id."];
    case "InvalidSignatureException":
      return ["Wrong secret or region", `The signature does not match: check the secret access key and the region. (${err.message})`];
    case "IncompleteSignatureException":
    case "MissingAuthenticationTokenException":
      return ["Not signed", err.message];
    case "NetworkError":
      return ["Cannot reach Footlight", err.message];
  }
  return [`${err.op} failed`, `${err.type || err.status}: ${err.message}`];
}

// --- refreshing ------------------------------------------------------------------------------

// refresh reads every stage and, for the live ones, the participants of the active session;
// for stages whose details are open, also GetStage and ListStageSessions. It reschedules
// itself when done, so calls never pile up.
async function refresh() {
  clearTimeout(timer);
  if (!creds || paused) {
    return;
  }
  const gen = generation;
  try {
    const stages = await all("ListStages", {}, "stages");
    const participants = new Map();
    await Promise.all(stages.map(async (s) => {
      if (s.activeSessionId) {
        participants.set(s.arn, await all("ListParticipants", { stageArn: s.arn, sessionId: s.activeSessionId }, "participants"));
      }
      if (expanded.has(s.arn)) {
        const [got, sessions] = await Promise.all([
          call("GetStage", { arn: s.arn }),
          call("ListStageSessions", { stageArn: s.arn, maxResults: 10 }),
        ]);
        details.set(s.arn, { stage: got.stage, sessions: sessions.stageSessions ?? [] });
      }
    }));
    if (gen !== generation) {
      return;
    }
    render(stages, participants);
    hide($("api-error"));
    $("refresh-status").textContent = `Updated ${new Date().toLocaleTimeString()} · every ${REFRESH_MS / 1000} s`;
  } catch (err) {
    if (gen !== generation) {
      return;
    }
    showAlert($("api-error"), describe(err));
    $("refresh-status").textContent = "Refresh failed; retrying";
  }
  if (!document.hidden && !paused && gen === generation) {
    timer = setTimeout(refresh, REFRESH_MS);
  }
}

// --- rendering -------------------------------------------------------------------------------

function render(stages, participants) {
  stages.sort((a, b) => Number(Boolean(b.activeSessionId)) - Number(Boolean(a.activeSessionId)) || (a.name || "").localeCompare(b.name || "") || a.arn.localeCompare(b.arn));
  $("stage-count").textContent = String(stages.length);
  $("no-stages").hidden = stages.length > 0;
  $("stages").replaceChildren(...stages.map((s) => stageCard(s, participants.get(s.arn) ?? [])));
}

function stageCard(s, people) {
  const id = s.arn.slice(s.arn.lastIndexOf("/") + 1);
  const live = Boolean(s.activeSessionId);
  const connected = people.filter((p) => p.state === "CONNECTED");
  const card = el("article", "card stage-card" + (live ? " live" : ""));
  card.dataset.stageArn = s.arn;
  const head = el("button", "stage-head");
  head.type = "button";
  head.setAttribute("aria-expanded", String(expanded.has(s.arn)));
  const title = el("span", "stage-title");
  title.append(el("span", "name", s.name || "(unnamed stage)"), el("span", "id", id));
  const state = el("span", "stage-state");
  state.append(el("span", "dot"), document.createTextNode(live
    ? `live · ${connected.length} connected · ${s.activeSessionId}`
    : "idle"));
  head.append(title, state);
  head.addEventListener("click", () => {
    if (expanded.has(s.arn)) {
      expanded.delete(s.arn);
    } else {
      expanded.add(s.arn);
    }
    head.setAttribute("aria-expanded", String(expanded.has(s.arn)));
    refresh();
  });
  card.append(head);
  const body = el("div", "stage-body");
  if (live) {
    body.append(participantTable(people));
  }
  if (expanded.has(s.arn)) {
    body.append(...stageDetails(s, details.get(s.arn)));
  }
  if (body.childElementCount) {
    card.append(body);
  }
  return card;
}

function participantTable(people) {
  const wrap = el("div", "table-wrap");
  const table = el("table", "participants");
  const head = el("tr");
  for (const h of ["User", "Participant", "State", "Joined", "Published"]) {
    head.append(el("th", "", h));
  }
  table.append(el("thead"), el("tbody"));
  table.tHead.append(head);
  const sorted = [...people].sort((a, b) => Number(a.state !== "CONNECTED") - Number(b.state !== "CONNECTED") || (a.userId || "").localeCompare(b.userId || ""));
  for (const p of sorted) {
    const tr = el("tr", p.state === "CONNECTED" ? "connected" : "disconnected");
    tr.dataset.participantId = p.participantId;
    const pill = el("span", "state-pill " + String(p.state).toLowerCase(), p.state);
    const state = el("td");
    state.append(pill);
    tr.append(
      el("td", "", p.userId || "—"),
      el("td", "mono", p.participantId),
      state,
      el("td", "", p.firstJoinTime ? new Date(p.firstJoinTime).toLocaleTimeString() : ""),
      el("td", "", p.published ? "yes" : "no"),
    );
    table.tBodies[0].append(tr);
  }
  if (people.length === 0) {
    const tr = el("tr");
    const td = el("td", "muted", "Nobody yet.");
    td.colSpan = 5;
    tr.append(td);
    table.tBodies[0].append(tr);
  }
  wrap.append(table);
  return wrap;
}

function stageDetails(s, d) {
  if (!d) {
    return [el("p", "muted", "Loading…")];
  }
  const kv = el("dl", "kv");
  const add = (k, v) => kv.append(el("dt", "", k), el("dd", "", v));
  add("ARN", s.arn);
  for (const [name, url] of Object.entries(d.stage?.endpoints ?? {})) {
    add(name, url || "off");
  }
  const tags = Object.entries(d.stage?.tags ?? {});
  add("Tags", tags.length ? tags.map(([k, v]) => `${k}=${v}`).join(", ") : "none");
  const sessions = el("table", "sessions");
  const head = el("tr");
  for (const h of ["Session", "Started", "Ended"]) {
    head.append(el("th", "", h));
  }
  sessions.append(el("thead"), el("tbody"));
  sessions.tHead.append(head);
  for (const x of d.sessions) {
    const tr = el("tr");
    tr.dataset.sessionId = x.sessionId;
    tr.append(
      el("td", "mono", x.sessionId),
      el("td", "", x.startTime ? new Date(x.startTime).toLocaleString() : ""),
      el("td", "", x.endTime ? new Date(x.endTime).toLocaleString() : "live"),
    );
    sessions.tBodies[0].append(tr);
  }
  const wrap = el("div", "table-wrap");
  wrap.append(sessions);
  return [el("h3", "", "Stage"), kv, el("h3", "", "Recent sessions"), d.sessions.length ? wrap : el("p", "muted", "No sessions yet.")];
}

// --- helpers ---------------------------------------------------------------------------------

function showAlert(box, [title, text]) {
  box.replaceChildren(el("strong", "", title + "."), document.createTextNode(" " + text));
  box.hidden = false;
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

function hide(e) { e.hidden = true; }

init();
