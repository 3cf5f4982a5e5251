// Plays an HLS recording in Debian's Chromium with hls.js, as a viewer's page would, and
// prints one JSON line: how far playback got. Usage: node play.mjs <multivariant URL> <screenshot>
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';

const [url, shot] = process.argv.slice(2);
const hlsPath = createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js');
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required'],
});
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.setContent('<!doctype html><video id="v" muted playsinline width="640" height="360"></video>');
  await page.addScriptTag({ path: hlsPath });
  await page.evaluate((src) => {
    const v = document.getElementById('v');
    window.hlsErrors = [];
    const hls = new window.Hls();
    hls.on(window.Hls.Events.ERROR, (_, d) => window.hlsErrors.push(`${d.type}/${d.details}${d.fatal ? ' fatal' : ''}`));
    hls.loadSource(src);
    hls.attachMedia(v);
    hls.on(window.Hls.Events.MANIFEST_PARSED, () => v.play());
  }, url);
  const deadline = Date.now() + 30000;
  let state;
  for (;;) {
    state = await page.evaluate(() => {
      const v = document.getElementById('v');
      const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : {};
      return { currentTime: v.currentTime, videoWidth: v.videoWidth, videoHeight: v.videoHeight,
        frames: q.totalVideoFrames || 0, hlsErrors: window.hlsErrors };
    });
    if (state.currentTime > 5 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await page.screenshot({ path: shot });
  console.log(JSON.stringify({ ...state, pageErrors: errors }));
} finally {
  await browser.close();
}
