import { afterEach, describe, expect, it } from 'vitest';
import { filteringWebSocket } from './helpers/relay-fixture.js';
import { closeHandshake, connectedWsPair } from './helpers/ws-pair.js';

// The test fixture that filters a transport's client blocks on their way to the socket must let
// `ws`'s own frames through untouched, whatever their bytes.

const open: { close(): void }[] = [];
afterEach(() => {
  for (const thing of open.splice(0)) thing.close();
});

describe('filteringWebSocket (test fixture)', () => {
  it("passes ws's own two-part frames through whole, even a close whose masked code begins like a binary frame", async () => {
    const Filtering = filteringWebSocket((frames) => frames);
    // Code 1000 is 0x03e8; masked with a key whose first byte is 0x81, its first byte is 0x82.
    const { server, client } = await connectedWsPair(open, { perMessageDeflate: false, generateMask: (mask) => void mask.set([0x81, 1, 2, 3]) }, Filtering);
    expect(await closeHandshake(client, server)).toBe(1000);
  });
});
