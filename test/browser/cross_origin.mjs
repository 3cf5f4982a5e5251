// A page on another origin (config.pageURL, served by the Go test on another port) imports
// footlight.js from Footlight's URL and publishes with it: the module import, the WHIP POST,
// the trickle PATCHes and the DELETE all cross origins (CORS). The Go test checks the
// publication through the API and watches it with a pion subscriber.
import { config, launch, openPage, poll, report, command, run } from "./lib.mjs";

run(async () => {
  const context = await launch();
  const page = await openPage(context, "other-origin", `${config.pageURL}#token=${config.token}`);
  const result = await poll("the other origin's page to publish", 30000, () =>
    page.evaluate(() => window.result?.state !== "starting" && window.result));
  if (result.state !== "published") {
    throw new Error(`the page did not publish: ${JSON.stringify(result)}`);
  }
  const connected = await poll("the publication connected", 30000, () =>
    page.evaluate(() => window.states.includes("publish:connected") && window.states));
  report("published", { ...result, states: connected });
  await command("leave");
  await page.evaluate(() => window.stage.leave());
  const requests = await poll("the module's DELETE", 10000, () =>
    page.evaluate(() => window.requests.some((r) => r.method === "DELETE") && window.requests));
  report("left", { left: await page.evaluate(() => window.stage.left), requests });
  await command("finish");
  await context.close();
});
