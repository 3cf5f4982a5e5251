// docs/CLIENT.md's complete example page, served by the Go test from another origin: one copy
// publishes, another copy (another participant) lists it as live and plays its video.
import { config, launch, openPage, poll, report, run } from "./lib.mjs";

const TIMEOUT = 30000;

run(async () => {
  const { pageURL, publisher, viewer } = config;
  const context = await launch();
  const p = await openPage(context, "publisher", `${pageURL}#token=${publisher.token}`);
  await poll("the publisher's page joined", TIMEOUT, async () => (await p.locator("#status").innerText()).startsWith("joined"));
  await p.click("#publish");
  await poll("the publisher's page publishing", TIMEOUT, async () => (await p.locator("#status").innerText()) === "publishing");
  const v = await openPage(context, "viewer", `${pageURL}#token=${viewer.token}`);
  const width = await poll("the viewer's page playing the publisher", TIMEOUT, () =>
    v.evaluate(() => [...document.querySelectorAll("#videos video:not(#me)")].map((e) => e.videoWidth).find((w) => w > 0)));
  const people = await poll("the viewer's list showing the publisher live", TIMEOUT, async () => {
    const t = await v.locator("#people").innerText();
    return t.includes(`${publisher.userId} · live`) && t;
  });
  report("played", { width, people });
  await context.close();
});
