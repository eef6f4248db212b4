import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { FrameTransformApi } from '../../../src/session/types.js';
import type { CallHarness, CallStatus } from '../fixtures/call-harness.js';
import { bundleForPage } from './bundle.js';
import { launchChromium, openPage, until } from './chromium.js';
import { StaticServer } from './static-server.js';
import { WebSocketPipe } from './websocket-pipe.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** A page of headless Chromium running the call harness as one user. */
export interface CallPage {
  page: Page;
  /** Page errors and console errors seen so far. */
  errors: string[];
  publicKey: number[];
}

/**
 * Registers, in the calling test file, one Chromium, a static server for the browser build and
 * the call harness (`fixtures/call-harness.ts`), and a WebSocket pipe between pages; every page a
 * test opens is closed after it. Needs dist/ (`npx tsup`).
 */
export function useCallPages() {
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

  /** Calls a method of the page's `callHarness` (evaluate callbacks are serialised: arguments go as data). */
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

  /** Opens a page as `name`, with its own identity. */
  async function user(name: string): Promise<CallPage> {
    const opened = await openPage(browser, server.origin + '/');
    pages.push(opened);
    await opened.page.addScriptTag({ type: 'module', url: '/fixtures/call-harness.js' });
    const publicKey = await harness(opened.page, 'setup', name, pipe.url, server.origin + '/dist/browser/sealcall.js');
    return { ...opened, publicKey };
  }

  const statusOf = (page: Page): Promise<CallStatus> => harness(page, 'status');

  /**
   * Opens alice and bob (names suffixed with `tag`), has alice place an audio call that bob
   * accepts, and waits until each side has decrypted some of the other's frames.
   */
  async function audioCall(tag: string, api?: FrameTransformApi) {
    const [alice, bob] = await Promise.all([user(`alice-${tag}`), user(`bob-${tag}`)]);
    await harness(alice.page, 'start', { [`bob-${tag}`]: bob.publicKey }, api);
    await harness(bob.page, 'start', { [`alice-${tag}`]: alice.publicKey }, api);
    const accepted = harness(bob.page, 'acceptIncoming', false);
    await harness(alice.page, 'call', `bob-${tag}`, 'audio');
    await accepted;
    const withFrames = (page: Page) =>
      until(
        () => statusOf(page),
        (s) => (s.state === 'connected' && s.counters!.receive.decrypted > 50) || s.ended !== undefined,
        15_000,
        'an audio call with frames',
      );
    const [atAlice, atBob] = await Promise.all([withFrames(alice.page), withFrames(bob.page)]);
    return { alice, bob, atAlice, atBob };
  }

  /** Messages the pipe has carried between pages. */
  const forwarded = (): number => pipe.forwarded;

  return { harness, user, statusOf, audioCall, forwarded };
}

/** Frames dropped for any reason, both directions. */
export function droppedFrames(counters: CallStatus['counters']): number {
  if (!counters) return Number.NaN;
  const sum = (dropped: Record<string, number>): number => Object.values(dropped).reduce((a, b) => a + b, 0);
  return sum(counters.receive.dropped) + sum(counters.send.dropped);
}
