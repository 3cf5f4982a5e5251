// A publisher restarts: Bob publishes from a console, Alice watches him in hers; then Bob's
// token publishes from somewhere else (the Go test's pion publisher), which ends Bob's first
// publish and Alice's subscription to it. Bob's console must say its publishing stopped, and
// Alice's must follow by itself and keep playing Bob (now the pion stream).
import { config, launch, openPage, poll, inboundStats, report, command, run } from "./lib.mjs";

const TIMEOUT = 30000;

run(async () => {
  const { url, alice, bob, artifacts } = config;
  const context = await launch();
  const a = await openPage(context, "alice", `${url}/#token=${alice.token}`);
  const b = await openPage(context, "bob", `${url}/#token=${bob.token}`);
  await poll("both on the stage", TIMEOUT, async () => (await a.locator("#stage-view").isVisible()) && b.locator("#stage-view").isVisible());
  await b.click("#publish-button");
  const tile = a.locator(`#grid .tile[data-participant-id="${bob.participantId}"]`);
  await poll("alice playing bob", TIMEOUT, () => tile.locator("video").evaluate((v) => v.videoWidth > 0));
  await a.evaluate(() => {
    window.seen = [];
    window.footlightConsole.stage.on("connectionState", (e) => window.seen.push(`${e.kind}:${e.state}`));
  });
  report("watching");
  await command("replaced");

  const notice = await poll("bob's console saying publishing stopped", TIMEOUT, async () =>
    (await b.locator("#notice").isVisible()) && (await b.getAttribute("#publish-button", "aria-pressed")) === "false" && b.locator("#notice").innerText());
  const states = await poll("alice's subscription to bob connected again", TIMEOUT, () =>
    a.evaluate(() => window.seen.includes("subscribe:connected") && window.seen));
  const s1 = await poll("alice's new subscription's stats", TIMEOUT, async () => (await inboundStats(a, bob.participantId)).video);
  const s2 = await poll("alice decoding bob's new stream", TIMEOUT, async () => {
    const s = (await inboundStats(a, bob.participantId)).video;
    const width = await tile.locator("video").evaluate((v) => v.videoWidth);
    return s && s.framesDecoded > s1.framesDecoded + 10 && width > 0 && { ...s, width };
  });
  await a.screenshot({ path: `${artifacts}/console-publisher-restarted.png` });
  report("followed", { notice, states, video: s2 });
  await context.close();
});
