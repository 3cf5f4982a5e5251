// A publication whose ICE fails is retried once. The page (config.pageURL, on another origin)
// joins with iceTransportPolicy "relay" and no TURN server, so its first PeerConnection has no
// candidate at all and cannot connect (the client's connect timeout makes that an ICE
// failure); with config.recover it clears that setting when the
// client reports "reconnecting" (as a page would refresh TURN credentials), so the one retry
// connects; without, the retry fails too and publish rejects with ice-failed.
import { config, launch, openPage, poll, report, command, run } from "./lib.mjs";

run(async () => {
  const context = await launch();
  for (const recover of [false, true]) {
    const page = await openPage(context, recover ? "recovers" : "fails",
      `${config.pageURL}?recover=${recover}#token=${recover ? config.recovers : config.fails}`);
    const result = await poll("the page's publish to settle", 60000, () =>
      page.evaluate(() => window.result?.state !== "starting" && window.result));
    const got = await page.evaluate(() => ({ states: window.states, requests: window.requests }));
    report(recover ? "recovered" : "failed", { result, ...got });
    await command("next");
    await page.close();
  }
  await context.close();
});
