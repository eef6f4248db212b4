/**
 * The acceptance test: two pages of headless Chromium load the library's browser build
 * (`dist/browser/`), use the fake camera and microphone, and call each other through a
 * WebSocket pipe on 127.0.0.1 with frame encryption required. `npm test` and
 * `npm run test:browser` build dist/ first.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FrameTransformApi } from '../../src/session/types.js';
import type { CallHarness, CallStatus } from './fixtures/call-harness.js';
import { bundleForPage } from './helpers/bundle.js';
import { launchChromium, openPage, until } from './helpers/chromium.js';
import { StaticServer } from './helpers/static-server.js';
import { WebSocketPipe } from './helpers/websocket-pipe.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

let browser: Browser;
let server: StaticServer;
let pipe: WebSocketPipe;
const pages: { page: Page; errors: string[] }[] = [];

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/browser/sealcall.js'))) throw new Error('dist/browser is missing: run `npx tsup` first');
  server = await StaticServer.start({ '/dist/browser/': join(ROOT, 'dist/browser') });
  server.put('/fixtures/call-harness.js', await bundleForPage(join(ROOT, 'test/browser/fixtures/call-harness.ts')));
  pipe = await WebSocketPipe.start();
  browser = await launchChromium();
}, 30_000);

afterEach(async () => {
  for (const { page } of pages.splice(0)) {
    await harness(page, 'close').catch(() => undefined);
    await page.context().close().catch(() => undefined);
  }
});

afterAll(async () => {
  await browser?.close();
  await pipe?.close();
  await server?.close();
});

/** Calls a method of the page's `callHarness` (see session harness: evaluate callbacks are serialised). */
function harness<M extends keyof CallHarness>(
  page: Page,
  method: M,
  ...args: Parameters<CallHarness[M]>
): Promise<Awaited<ReturnType<CallHarness[M]>>> {
  return page.evaluate(
    ([m, a]) => (globalThis as unknown as Record<string, Record<string, (...x: unknown[]) => unknown>>).callHarness![m]!(...a),
    [method, args] as const,
  ) as Promise<Awaited<ReturnType<CallHarness[M]>>>;
}

async function user(name: string): Promise<{ page: Page; errors: string[]; publicKey: number[] }> {
  const opened = await openPage(browser, server.origin + '/');
  pages.push(opened);
  await opened.page.addScriptTag({ type: 'module', url: '/fixtures/call-harness.js' });
  const publicKey = await harness(opened.page, 'setup', name, pipe.url, server.origin + '/dist/browser/sealcall.js');
  return { ...opened, publicKey };
}

const statusOf = (page: Page): Promise<CallStatus> => harness(page, 'status');

/** Frames dropped for any reason, both directions. */
function failures(counters: CallStatus['counters']): number {
  if (!counters) return Number.NaN;
  const sum = (dropped: Record<string, number>): number => Object.values(dropped).reduce((a, b) => a + b, 0);
  return sum(counters.receive.dropped) + sum(counters.send.dropped);
}

/** One variant of the call test. */
interface Variant {
  name: string;
  /** Frame API forced through the app's protector factory; default: the library detects it (script transform). */
  api?: FrameTransformApi;
  /** Frames each way (60 fps video plus 50 audio frames a second) before the checks. */
  frames: number;
}

const VARIANTS: Variant[] = [
  { name: 'detected frame API (RTCRtpScriptTransform)', frames: 1000 },
  { name: 'legacy encoded streams, through an app-supplied protector factory', api: 'encoded-streams', frames: 300 },
];

describe.each(VARIANTS)('a call between two browser pages: $name', ({ name, api, frames }) => {
  it('connects with frame encryption, moves every frame encrypted, decodes video, and survives key rotation', async () => {
    const tag = api ?? 'default';
    const [alice, bob] = await Promise.all([user(`alice-${tag}`), user(`bob-${tag}`)]);
    await harness(alice.page, 'start', { [`bob-${tag}`]: bob.publicKey }, api);
    await harness(bob.page, 'start', { [`alice-${tag}`]: alice.publicKey }, api);

    const accepted = harness(bob.page, 'acceptIncoming');
    await harness(alice.page, 'call', `bob-${tag}`);
    await accepted;
    const both = async (): Promise<[CallStatus, CallStatus]> => [await statusOf(alice.page), await statusOf(bob.page)];
    const connected = await until(both, (s) => s.every((x) => x.state === 'connected' || x.ended), 15_000, 'both sides connected');
    for (const s of connected) {
      expect(s.ended, `ended: ${s.ended} ${s.error}`).toBeUndefined();
      expect(s.state).toBe('connected');
      expect(s.e2ee).toBe('frame');
    }

    // Thousands of frames in all, every one encrypted by one side and decrypted by the other;
    // video decodes on both pages.
    const flowing = await until(
      both,
      (s) =>
        s.every(
          (x) =>
            x.ended !== undefined ||
            (x.counters!.send.encrypted >= frames && x.counters!.receive.decrypted >= frames && x.framesDecoded > frames / 5),
        ),
      25_000,
      `${frames} frames each way (${name})`,
    );
    for (const s of flowing) {
      expect(s.ended).toBeUndefined();
      expect(s.framesDecoded).toBeGreaterThan(frames / 5);
      expect(s.framesPresented).toBeGreaterThan(0);
      expect(failures(s.counters), JSON.stringify(s.counters)).toBe(0);
    }
    const total = flowing.reduce((sum, s) => sum + s.counters!.receive.decrypted, 0);
    expect(total).toBeGreaterThanOrEqual(2 * frames);

    // Mid-call rotation, both ways in turn: video keeps decoding, nothing fails to decrypt.
    for (const [rotating, watching] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      const before = await statusOf(watching.page);
      expect(await harness(rotating.page, 'rotate')).toBe(1);
      const after = await until(
        () => statusOf(watching.page),
        (s) => s.ended !== undefined || s.framesDecoded >= before.framesDecoded + 60,
        10_000,
        'video after a key rotation',
      );
      expect(after.ended).toBeUndefined();
      expect(after.counters!.receive.decrypted).toBeGreaterThan(before.counters!.receive.decrypted + 60);
      expect(failures(after.counters)).toBe(0);
    }

    const [aliceEnd, bobEnd] = await both();
    for (const s of [aliceEnd, bobEnd]) {
      expect(s.state).toBe('connected');
      expect(s.warnings).toEqual([]);
    }
    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
    expect(pipe.forwarded).toBeGreaterThan(0);
  }, 60_000);
});
