// The operators' page (/stages) in Chromium: a wrong secret is refused with a clear message;
// the right keys list the stage with its active session and its live participant (a console
// on the stage); a participant who joins later appears, and one who leaves turns
// DISCONNECTED, without a reload; the stage's details show its endpoints and sessions; the
// keys stay in sessionStorage only. Screenshot: stages.png.
import { config, launch, openPage, poll, report, command, run } from "./lib.mjs";

const TIMEOUT = 30000;

run(async () => {
  const { url, keys, stageArn, first, late, artifacts } = config;
  const context = await launch();

  // Someone is on the stage: a console joined with the first token.
  const consolePage = await openPage(context, "console", `${url}/#token=${first.token}`);
  await poll("the console on the stage", TIMEOUT, () => consolePage.locator("#stage-view").isVisible());

  const ops = await openPage(context, "stages", url + "/stages");
  await ops.fill("#access-key", keys.accessKeyId);
  await ops.fill("#secret-key", "not-the-secret");
  await ops.fill("#region", keys.region);
  await ops.click("#connect-button");
  const wrong = await poll("the wrong-secret message", TIMEOUT, async () => (await ops.locator("#creds-error").isVisible()) && ops.locator("#creds-error").innerText());
  if (!wrong.includes("Wrong secret")) {
    throw new Error(`a wrong secret shows ${JSON.stringify(wrong)}`);
  }

  await ops.fill("#secret-key", keys.secretAccessKey);
  await ops.click("#connect-button");
  const card = ops.locator(`.stage-card[data-stage-arn="${stageArn}"]`);
  const row = (p) => card.locator(`tr[data-participant-id="${p.participantId}"]`);
  const rowText = async (p) => (await row(p).count()) === 1 && row(p).innerText();
  const firstRow = await poll("the stage listing its live participant", TIMEOUT, async () => {
    const t = await rowText(first);
    return t && t.includes(first.userId) && t.includes("CONNECTED") && t;
  });
  const head = await card.locator(".stage-head").innerText();
  report("listed", { head, firstRow });
  const { sessionId } = await command("listed-checked");

  // Live: a second console joins; the page shows it without a reload.
  const lateConsole = await openPage(context, "late", `${url}/#token=${late.token}`);
  await poll("the late console on the stage", TIMEOUT, () => lateConsole.locator("#stage-view").isVisible());
  await poll("the late participant appearing on /stages", TIMEOUT, async () => {
    const t = await rowText(late);
    return t && t.includes(late.userId) && t.includes("CONNECTED");
  });
  // The first leaves: its row turns DISCONNECTED.
  await consolePage.click("#leave-button");
  await poll("the first participant DISCONNECTED on /stages", TIMEOUT, async () => {
    const t = await rowText(first);
    return t && t.includes("DISCONNECTED");
  });

  // Details: GetStage's endpoints and ListStageSessions.
  await card.locator(".stage-head").click();
  const detail = await poll("the stage's details", TIMEOUT, async () => {
    const t = await card.innerText();
    return t.includes(config.whip) && t.includes(sessionId) && t;
  });
  const storage = await ops.evaluate(() => ({
    session: Object.keys(sessionStorage),
    local: Object.keys(localStorage).length,
    secretInSession: sessionStorage.getItem("footlight.stages.credentials")?.includes("secretAccessKey") ?? false,
  }));
  if (storage.local !== 0 || !storage.secretInSession) {
    throw new Error(`the keys are not kept in sessionStorage alone: ${JSON.stringify(storage)}`);
  }
  await ops.setViewportSize({ width: 1100, height: 760 });
  await ops.screenshot({ path: `${artifacts}/stages.png`, fullPage: true });
  await ops.setViewportSize({ width: 390, height: 844 });
  await ops.screenshot({ path: `${artifacts}/stages-phone.png`, fullPage: true });
  report("details", { detail: detail.slice(0, 2000), storage });
  await context.close();
});
