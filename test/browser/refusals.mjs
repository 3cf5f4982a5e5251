// The console's messages for tokens that cannot do what is asked: not a token at all, an
// expired token (decoded in the page before anything is sent), a subscribe-only token pressing
// Publish (the server's 403), and a participant disconnected with DisconnectParticipant (told
// while on the stage, then refused when it tries to come back). Screenshots of each message
// go to config.artifacts.
import { config, launch, openPage, poll, report, command, run } from "./lib.mjs";

const TIMEOUT = 30000;

async function expectText(page, selector, what, ...wants) {
  const text = await poll(`${what} (${selector})`, TIMEOUT, async () => {
    const box = page.locator(selector);
    return (await box.isVisible()) && box.innerText();
  });
  for (const want of wants) {
    if (!text.toLowerCase().includes(want.toLowerCase())) {
      throw new Error(`${what}: ${JSON.stringify(text)} does not say ${JSON.stringify(want)}`);
    }
  }
  return text;
}

run(async () => {
  const { url, expired, viewer, kicked, artifacts } = config;
  const context = await launch();
  const page = await openPage(context, "console", url + "/", { width: 420, height: 860 });
  const messages = {};

  // Not a token.
  await page.fill("#token-input", "hello.world");
  await page.click("#join-button");
  messages.malformed = await expectText(page, "#join-error", "the malformed-token message", "not a participant token");

  // Expired: the page reads exp itself.
  await page.fill("#token-input", expired.token);
  messages.summary = await expectText(page, "#token-summary", "the expired token's summary", "ago");
  await page.click("#join-button");
  messages.expired = await expectText(page, "#join-error", "the expired-token message", "expired", "new token");
  if ((await page.getAttribute("#join-error", "data-code")) !== "expired" || await page.locator("#stage-view").isVisible()) {
    throw new Error("the expired token was not refused with code expired");
  }
  await page.screenshot({ path: `${artifacts}/refusal-expired.png` });

  // Subscribe-only, pressing Publish: the server refuses and the page says why.
  await page.fill("#token-input", viewer.token);
  await page.click("#join-button");
  await poll("the viewer on the stage", TIMEOUT, () => page.locator("#stage-view").isVisible());
  await page.click("#publish-button");
  messages.noPublish = await expectText(page, "#notice", "the no-PUBLISH message", "cannot publish", "PUBLISH capability");
  if ((await page.getAttribute("#notice", "data-code")) !== "no-capability" || (await page.getAttribute("#publish-button", "aria-pressed")) !== "false") {
    throw new Error("the subscribe-only token's publish was not reported as no-capability");
  }
  if (await page.evaluate(() => window.footlightConsole.localStream !== null)) {
    throw new Error("the console opened the camera for a token that cannot publish");
  }
  await page.screenshot({ path: `${artifacts}/refusal-subscribe-only.png` });
  // The client module under the console asks the server, which refuses with 403 and its reason.
  const refused = await page.evaluate(async () => {
    const canvas = document.createElement("canvas");
    canvas.getContext("2d").fillRect(0, 0, 16, 16);
    try {
      await window.footlightConsole.stage.publish(canvas.captureStream(5));
      return { published: true };
    } catch (err) {
      return { code: err.code, status: err.status, reason: err.reason, message: err.message };
    }
  });
  if (refused.code !== "no-capability" || refused.status !== 403 || refused.reason !== "token lacks the capability" || !refused.message.includes("cannot publish")) {
    throw new Error(`stage.publish with a subscribe-only token: ${JSON.stringify(refused)}, want no-capability from the server's 403`);
  }
  messages.moduleNoPublish = refused.message;
  await page.click("#leave-button");
  await poll("the left view", TIMEOUT, () => page.locator("#left-view").isVisible());

  // Revoked while on the stage, then refused at the door.
  await page.click("#new-token-button");
  await page.fill("#token-input", kicked.token);
  await page.click("#join-button");
  await poll("the kicked participant on the stage", TIMEOUT, () => page.locator("#stage-view").isVisible());
  report("joined");
  await command("disconnected");
  messages.kicked = await expectText(page, "#left-view", "the disconnected message", "removed from the stage", "DisconnectParticipant", "cannot join again");
  if (await page.locator("#rejoin-button").isVisible()) {
    throw new Error("a revoked token is offered to join again");
  }
  await page.screenshot({ path: `${artifacts}/refusal-revoked.png` });
  await page.click("#new-token-button");
  await page.fill("#token-input", kicked.token);
  await page.click("#join-button");
  messages.revoked = await expectText(page, "#join-error", "the revoked-token message", "revoked", "disconnected");
  if ((await page.getAttribute("#join-error", "data-code")) !== "revoked") {
    throw new Error("the revoked token's join was not refused with code revoked");
  }
  report("messages", { messages });
  await context.close();
});
