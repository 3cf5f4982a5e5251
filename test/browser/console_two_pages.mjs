// Two consoles on one stage: a desktop page that joins by pasting its token and a phone-size
// page that joins from the URL fragment. Both publish; each must play the other's video
// (videoWidth > 0, framesDecoded rising) and audio (inbound audio packets rising), list the
// other with its userId and attributes, carry mute through to the other side, and drop the
// other from its grid within 5 s of its leaving. Screenshots go to config.artifacts.
import { config, launch, openPage, poll, inboundStats, report, command, run } from "./lib.mjs";

const TIMEOUT = 30000;

run(async () => {
  const { url, alice, bob, artifacts } = config;
  const context = await launch();

  // Alice pastes her token into the form.
  const a = await openPage(context, "alice", url + "/");
  await a.fill("#token-input", alice.token);
  await poll("alice's token summary", TIMEOUT, () => a.locator("#token-summary").isVisible());
  await a.click("#join-button");
  await poll("alice on the stage", TIMEOUT, () => a.locator("#stage-view").isVisible());

  // Bob, on a phone-size window, comes through the URL fragment.
  const b = await openPage(context, "bob", `${url}/#token=${bob.token}`, { width: 390, height: 844 });
  await poll("bob on the stage", TIMEOUT, () => b.locator("#stage-view").isVisible());
  const fragment = await b.evaluate(() => location.hash);
  if (fragment !== "") {
    throw new Error(`the token stayed in bob's address bar: ${fragment}`);
  }
  await poll("alice's list showing bob", TIMEOUT, () => a.locator(`#people [data-participant-id="${bob.participantId}"]`).isVisible());

  // Both publish. Each page notes when a tile's video first has a frame ("loadeddata"), to time
  // a click on Publish to the first frame on the other page.
  for (const page of [a, b]) {
    await page.evaluate(() => {
      window.firstFrameAt = {};
      window.trace = [];
      document.addEventListener("loadeddata", (e) => {
        const id = e.target.closest(".tile")?.dataset.participantId;
        if (id && !(id in window.firstFrameAt)) {
          window.firstFrameAt[id] = Date.now();
        }
      }, true);
      const stage = window.footlightConsole.stage;
      stage.on("participantPublished", (p) => window.trace.push([Date.now(), "published", p.id]));
      stage.on("connectionState", (e) => window.trace.push([Date.now(), e.kind, e.state]));
    });
  }
  const clickedAt = {};
  clickedAt.alice = Date.now();
  await a.click("#publish-button");
  clickedAt.bob = Date.now();
  await b.click("#publish-button");
  await poll("alice publishing", TIMEOUT, async () => (await a.getAttribute("#publish-button", "aria-pressed")) === "true");
  await poll("bob publishing", TIMEOUT, async () => (await b.getAttribute("#publish-button", "aria-pressed")) === "true");
  report("publishing");
  await command("checked");

  const plays = async (page, who, other) => {
    const tile = page.locator(`#grid .tile[data-participant-id="${other.participantId}"]`);
    await poll(`${who}'s tile of ${other.userId}`, TIMEOUT, () => tile.isVisible());
    const video = tile.locator("video");
    const width = await poll(`${who}: ${other.userId}'s video has a size`, TIMEOUT, () => video.evaluate((v) => v.videoWidth));
    const firstFrameMs = await page.evaluate((id) => window.firstFrameAt[id], other.participantId) - clickedAt[other.userId];
    const trace = (await page.evaluate(() => window.trace)).map(([t, ...e]) => [t - clickedAt[other.userId], ...e]);
    // The page's own "tap to play sound" button, if autoplay with sound was refused.
    if (await tile.locator(".tap-to-play").isVisible()) {
      await tile.locator(".tap-to-play").click();
    }
    const playing = await poll(`${who}: ${other.userId}'s video playing with sound`, TIMEOUT,
      () => video.evaluate((v) => !v.paused && !v.muted && v.readyState >= 2 && v.srcObject.getAudioTracks().length === 1));
    const s1 = await inboundStats(page, other.participantId);
    const s2 = await poll(`${who}: frames decoded and audio packets rising`, TIMEOUT, async () => {
      const s = await inboundStats(page, other.participantId);
      return s.video && s.audio && s1.video && s1.audio &&
        s.video.framesDecoded > s1.video.framesDecoded + 10 &&
        s.audio.packetsReceived > s1.audio.packetsReceived + 20 &&
        s.audio.totalSamplesReceived > s1.audio.totalSamplesReceived && s;
    });
    return { width, playing, firstFrameMs, trace, video: s2.video, audio: s2.audio };
  };
  const [aliceSees, bobSees] = await Promise.all([plays(a, "alice", bob), plays(b, "bob", alice)]);
  report("playing", { aliceSees, bobSees });

  // The participant lists, live from the events stream: userId and attributes.
  for (const [page, other] of [[a, bob], [b, alice]]) {
    const item = page.locator(`#people [data-participant-id="${other.participantId}"]`);
    const text = await item.innerText();
    for (const want of [other.userId, ...Object.entries(other.attributes).flat()]) {
      if (!text.includes(want)) {
        throw new Error(`the participant list shows ${JSON.stringify(text)} for ${other.userId}, without ${want}`);
      }
    }
    if (!(await item.locator(".tag.live").isVisible())) {
      throw new Error(`${other.userId} is not marked live in the participant list`);
    }
  }

  // Mute: Bob's microphone off stops the sound Alice hears (audio energy stops growing for
  // 3 s: the fake microphone beeps every second); unmute brings it back.
  const energy = async () => (await inboundStats(a, bob.participantId)).audio.totalAudioEnergy;
  await b.click("#mic-button");
  if ((await b.getAttribute("#mic-button", "aria-pressed")) !== "true" || await b.evaluate(() => window.footlightConsole.localStream.getAudioTracks()[0].enabled)) {
    throw new Error("bob's mute button did not disable his microphone track");
  }
  let quietSince = 0;
  let quietFrom = await energy();
  await poll("alice hearing silence from bob for 3 s", TIMEOUT, async () => {
    const e = await energy();
    if (e > quietFrom + 1e-6) {
      quietFrom = e;
      quietSince = 0;
      return false;
    }
    quietSince ||= Date.now();
    return Date.now() - quietSince > 3000;
  });
  await b.click("#mic-button");
  const unmutedFrom = await energy();
  await poll("alice hearing bob again", TIMEOUT, async () => (await energy()) > unmutedFrom + 1e-6);

  await a.screenshot({ path: `${artifacts}/console-desktop.png` });
  await b.screenshot({ path: `${artifacts}/console-phone.png`, fullPage: true });

  // Bob leaves: Alice's grid and list drop him within 5 s.
  const leftAt = Date.now();
  await b.click("#leave-button");
  await poll("alice's grid dropping bob", 5000, async () =>
    (await a.locator(`#grid .tile[data-participant-id="${bob.participantId}"]`).count()) === 0);
  const gridDropMs = Date.now() - leftAt;
  await poll("alice's list dropping bob", 5000, async () =>
    (await a.locator(`#people [data-participant-id="${bob.participantId}"]`).count()) === 0);
  const listDropMs = Date.now() - leftAt;
  await poll("bob's left view", TIMEOUT, () => b.locator("#left-view").isVisible());
  const bobCamera = await b.evaluate(() => window.footlightConsole.localStream);
  if (bobCamera !== null) {
    throw new Error("bob's camera is still open after leaving");
  }
  await poll("alice's empty grid message", TIMEOUT, () => a.locator("#grid-empty").isVisible());
  await a.screenshot({ path: `${artifacts}/console-after-leave.png` });
  report("left", { gridDropMs, listDropMs });
  await command("finish");
  await context.close();
});
