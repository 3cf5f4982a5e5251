// Shared by the browser scenarios: launch Debian's Chromium with playwright-core (never a
// downloaded browser), talk to the Go test over a line protocol, poll with deadlines.
//
// Protocol: each line this process prints as "@@ {json}" is an event for the Go test
// (browser_test.go); the Go test answers on stdin with one JSON line per command. Anything
// else on stdout or stderr is the log.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

/** The test's configuration: URLs, tokens, where artifacts go. */
export const config = JSON.parse(process.env.FOOTLIGHT_BROWSER_CONFIG ?? "{}");

/** Chromium's switches: a fake camera and microphone, no prompts, nothing phoning home. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
];

/** Sends an event to the Go test. */
export function report(event, data = {}) {
  process.stdout.write("@@ " + JSON.stringify({ event, ...data }) + "\n");
}

const commands = [];
let waiting = null;
createInterface({ input: process.stdin }).on("line", (line) => {
  const cmd = JSON.parse(line);
  if (waiting) {
    const w = waiting;
    waiting = null;
    w(cmd);
  } else {
    commands.push(cmd);
  }
});

/** Waits for the Go test's next command and checks it is `name`; returns it. */
export async function command(name) {
  const cmd = commands.length ? commands.shift() : await new Promise((r) => { waiting = r; });
  if (cmd.cmd !== name) {
    throw new Error(`the Go test sent ${JSON.stringify(cmd)}, want ${name}`);
  }
  return cmd;
}

/** Launches Chromium with a fresh profile; the profile is removed when the browser closes. */
export async function launch() {
  const dir = await mkdtemp(join(tmpdir(), "footlight-chromium-"));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: config.chromium || "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
  });
  const close = context.close.bind(context);
  context.close = async () => {
    await close();
    await rm(dir, { recursive: true, force: true });
  };
  return context;
}

/** Opens a page that logs its console and errors to stderr under `name`. */
export async function openPage(context, name, url, viewport) {
  const page = await context.newPage();
  if (viewport) {
    await page.setViewportSize(viewport);
  }
  page.on("console", (m) => process.stderr.write(`[${name} console.${m.type()}] ${m.text()}\n`));
  page.on("pageerror", (e) => process.stderr.write(`[${name} pageerror] ${e.stack ?? e}\n`));
  page.on("requestfailed", (r) => process.stderr.write(`[${name} requestfailed] ${r.method()} ${r.url()} ${r.failure()?.errorText}\n`));
  if (url) {
    await page.goto(url);
  }
  return page;
}

/**
 * Calls fn until it returns a truthy value and returns that; throws after timeoutMs, naming
 * `what` and fn's last value (or error).
 */
export async function poll(what, timeoutMs, fn) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) {
        return v;
      }
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, 100)); // polling interval
  }
}

/** The console's inbound statistics for a participant it watches: video and audio. */
export async function inboundStats(page, participantId) {
  return page.evaluate(async (id) => {
    const report = await window.footlightConsole.stage?.getStats(id);
    const out = { video: null, audio: null };
    report?.forEach((s) => {
      if (s.type === "inbound-rtp" && (s.kind === "video" || s.kind === "audio")) {
        out[s.kind] = {
          packetsReceived: s.packetsReceived ?? 0,
          framesDecoded: s.framesDecoded ?? 0,
          frameWidth: s.frameWidth ?? 0,
          totalAudioEnergy: s.totalAudioEnergy ?? 0,
          totalSamplesReceived: s.totalSamplesReceived ?? 0,
          codecId: s.codecId ?? "",
        };
        const codec = report.get(s.codecId);
        out[s.kind].mimeType = codec?.mimeType ?? "";
      }
    });
    return out;
  }, participantId);
}

/** Runs main, reporting an uncaught failure to the Go test and exiting non-zero. */
export function run(main) {
  main().then(() => {
    report("done");
    process.exit(0);
  }, (err) => {
    report("fail", { message: err?.stack ?? String(err) });
    process.exit(1);
  });
}
