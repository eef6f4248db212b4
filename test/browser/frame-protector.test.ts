/**
 * Frame encryption in real Chromium, below the call layer: two PeerSessions in one page, each
 * with a frame protector and its worker, on both frame APIs. Needs `dist/browser/` (the worker):
 * `npm test` and `npm run test:browser` build it first.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FrameTransformApi } from '../../src/session/types.js';
import type { LoopbackOptions, LoopbackReport, SessionHarness } from './fixtures/session-harness.js';
import { bundleForPage } from './helpers/bundle.js';
import { launchChromium, openPage, until } from './helpers/chromium.js';
import { StaticServer } from './helpers/static-server.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

let browser: Browser;
let server: StaticServer;
let current: { page: Page; errors: string[] } | undefined;

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/browser/frame-worker.js'))) throw new Error('dist/browser is missing: run `npx tsup` first');
  server = await StaticServer.start({ '/dist/browser/': join(ROOT, 'dist/browser') });
  server.put('/fixtures/session-harness.js', await bundleForPage(join(ROOT, 'test/browser/fixtures/session-harness.ts')));
  browser = await launchChromium();
}, 30_000);

afterEach(async () => {
  if (current) {
    await harness(current.page, 'close').catch(() => undefined);
    await current.page.context().close();
  }
  current = undefined;
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** A fresh page with the harness loaded and a loopback call started; resolves once connected. */
async function startLoopback(options: LoopbackOptions): Promise<Page> {
  current = await openPage(browser, server.origin + '/');
  const { page } = current;
  await page.addScriptTag({ type: 'module', url: '/fixtures/session-harness.js' });
  const { api } = await harness(page, 'start', options);
  expect(api).toBe(options.api);
  await harness(page, 'connected');
  return page;
}

/**
 * Calls a method of the page's `sessionHarness`. (Functions passed to `page.evaluate` are
 * serialised: they must not reference anything from this module.)
 */
function harness<M extends keyof SessionHarness>(
  page: Page,
  method: M,
  ...args: Parameters<SessionHarness[M]>
): Promise<Awaited<ReturnType<SessionHarness[M]>>> {
  return page.evaluate(
    ([m, a]) => (globalThis as unknown as Record<string, Record<string, (...x: unknown[]) => unknown>>).sessionHarness![m]!(...a),
    [method, args] as const,
  ) as Promise<Awaited<ReturnType<SessionHarness[M]>>>;
}

function report(page: Page): Promise<LoopbackReport> {
  return harness(page, 'report');
}

/** Rotates the offerer's send key and waits until the answerer decoded 20 more video frames. */
async function rotateAndKeepDecoding(page: Page, options: Parameters<SessionHarness['rotate']>[0]): Promise<LoopbackReport> {
  const before = await report(page);
  await harness(page, 'rotate', options);
  const after = await until(
    () => report(page),
    (r) => r.answerer.framesDecoded >= before.answerer.framesDecoded + 20,
    10_000,
    `video after a key rotation (${JSON.stringify(options)})`,
  );
  expect(after.answerer.counters.receive.decrypted).toBeGreaterThan(before.answerer.counters.receive.decrypted);
  expect(after.answerer.counters.receive.dropped.auth).toBe(0);
  return after;
}

const nothingDropped = { 'no-key': 0, 'unknown-kid': 0, replay: 0, auth: 0, malformed: 0, 'counter-exhausted': 0 };

describe.each<FrameTransformApi>(['script-transform', 'encoded-streams'])('frame encryption with %s', (api) => {
  it('encrypts and decrypts every frame both ways, video decodes, and a key rotation keeps it flowing', async () => {
    const page = await startLoopback({ api, suite: 'chacha20poly1305' });
    const flowing = await until(
      () => report(page),
      (r) => r.answerer.framesDecoded >= 30 && r.offerer.framesDecoded >= 30,
      10_000,
      'decoded video both ways',
    );
    for (const side of [flowing.offerer, flowing.answerer]) {
      // Only codecs whose clear bytes sealcall knows were negotiated.
      expect(side.codecs.every((c) => /^(audio\/opus|video\/VP8)$/i.test(c)), side.codecs.join()).toBe(true);
      expect(side.counters.send.encrypted).toBeGreaterThan(0);
      expect(side.counters.receive.decrypted).toBeGreaterThan(0);
      expect(side.counters.send.dropped).toEqual(nothingDropped);
      expect(side.counters.receive.dropped).toEqual(nothingDropped);
    }

    // Rotation, receiver first: no frame is ever undecryptable.
    let last = await rotateAndKeepDecoding(page, { fresh: false, receiver: 'first' });
    expect(last.answerer.counters.receive.dropped['unknown-kid']).toBe(0);
    // The sender moves on alone (its announcement is late): the receiver follows the ratchet.
    last = await rotateAndKeepDecoding(page, { fresh: false, receiver: 'never' });
    expect(last.answerer.counters.receive.dropped['unknown-kid']).toBe(0);
    expect(last.answerer.counters.receive.dropped.auth).toBe(0);
    // A key the receiver cannot derive, installed only once frames under it were dropped: the
    // video recovers (script transforms ask the sender for a key frame when the key arrives;
    // with encoded streams the decoder's own key-frame request does it).
    await harness(page, 'rotate', { fresh: true, receiver: 'later' });
    // The receiver first tries the ratchet's next key on them (it fails to authenticate).
    const undecryptable = (r: LoopbackReport): number => r.answerer.counters.receive.dropped['unknown-kid'] + r.answerer.counters.receive.dropped.auth;
    const stalled = await until(() => report(page), (r) => undecryptable(r) >= 5, 5_000, 'frames under the unknown key');
    await harness(page, 'followReceiver');
    const after = await until(
      () => report(page),
      (r) => r.answerer.framesDecoded >= stalled.answerer.framesDecoded + 20,
      10_000,
      'video after the late key',
    );
    expect(after.answerer.counters.receive.dropped.malformed).toBe(0);
    expect(after.errors).toEqual([]);
    expect(current!.errors).toEqual([]);
  });
});

describe('frame encryption failures', () => {
  it('a receiver with the wrong key decodes nothing, counts every failure, throws nothing and stays alive', async () => {
    const page = await startLoopback({ api: 'script-transform', suite: 'chacha20poly1305', wrongReceiveKey: true });
    const r = await until(
      () => report(page),
      // The other direction has the right keys: it shows that frames did flow meanwhile.
      (r) => r.answerer.counters.receive.dropped.auth >= 50 && r.offerer.framesDecoded >= 30,
      10_000,
      'authentication failures at the answerer',
    );
    expect(r.answerer.counters.receive.decrypted).toBe(0);
    expect(r.answerer.framesDecoded).toBe(0);
    expect(r.answerer.framesPresented).toBe(0);
    // Every failure the answerer counted was a frame the offerer had encrypted before: a report
    // taken after `r` samples the offerer later than `r` sampled the answerer (`r` itself samples
    // the offerer first, so its two counters cannot be compared).
    const later = await report(page);
    expect(later.offerer.counters.send.encrypted).toBeGreaterThanOrEqual(r.answerer.counters.receive.dropped.auth);
    expect(r.errors).toEqual([]);
    expect(current!.errors).toEqual([]);
    expect(await page.evaluate('6 * 7')).toBe(42); // the page still runs
  });

  it('a frame replayed into the receiver transform is dropped and the rest still decodes', async () => {
    const page = await startLoopback({ api: 'encoded-streams', suite: 'chacha20poly1305', replayEvery: 10 });
    const r = await until(
      () => report(page),
      (r) => r.replayed >= 5 && r.answerer.counters.receive.dropped.replay >= 5 && r.answerer.framesDecoded >= 30,
      10_000,
      'replayed frames dropped at the answerer',
    );
    // Every replayed copy was dropped as a replay (one may still be on its way), none decoded.
    expect(r.answerer.counters.receive.dropped.replay).toBeLessThanOrEqual(r.replayed);
    expect(r.answerer.counters.receive.dropped.replay).toBeGreaterThanOrEqual(r.replayed - 1);
    expect(r.answerer.counters.receive.dropped.auth).toBe(0);
    expect(r.answerer.counters.receive.decrypted).toBeGreaterThan(0);
    expect(r.errors).toEqual([]);
    expect(current!.errors).toEqual([]);
  });
});
