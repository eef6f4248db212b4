import { describe, expect, it } from 'vitest';
import type { PeerId } from '../src/transport/chat-transport.js';
import { fromTextTransport, TEXT_PREFIX, type TextChatTransport } from '../src/transport/text-transport.js';

/**
 * A tiny text-only chat: `send` records the text and hands it, synchronously, to the handlers of
 * the addressed fake; `emit` injects any text as if it came from the chat.
 */
class FakeTextChat implements TextChatTransport {
  readonly sent: { to: PeerId; text: string }[] = [];
  readonly handlers = new Set<(from: PeerId, text: string) => void>();

  constructor(
    readonly id: PeerId,
    private readonly directory: Map<PeerId, FakeTextChat>,
  ) {
    directory.set(id, this);
  }

  send(to: PeerId, text: string): Promise<void> {
    if (typeof text !== 'string') return Promise.reject(new TypeError('text chats carry strings only'));
    this.sent.push({ to, text });
    this.directory.get(to)?.emit(this.id, text);
    return Promise.resolve();
  }

  onMessage(handler: (from: PeerId, text: string) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  emit(from: PeerId, text: unknown): void {
    for (const handler of [...this.handlers]) handler(from, text as string);
  }
}

function pair() {
  const directory = new Map<PeerId, FakeTextChat>();
  const aliceChat = new FakeTextChat('alice', directory);
  const bobChat = new FakeTextChat('bob', directory);
  return { aliceChat, bobChat, alice: fromTextTransport(aliceChat), bob: fromTextTransport(bobChat) };
}

function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65536)));
  return bytes;
}

const BASE64URL_BODY = /^[A-Za-z0-9_-]*$/;

describe('fromTextTransport', () => {
  // 0..3 cover every base64 remainder; 32767..32769 straddle the encoder's 0x8000-byte chunking.
  const sizes = [0, 1, 2, 3, 4, 5, 100, 32767, 32768, 32769, 65536, 100_000];

  for (const size of sizes) {
    it(`round-trips ${size} random bytes`, async () => {
      const { alice, bob, aliceChat } = pair();
      const received: { from: PeerId; payload: Uint8Array }[] = [];
      bob.onMessage((from, payload) => received.push({ from, payload }));

      const payload = randomBytes(size);
      await alice.send('bob', payload);

      expect(received).toHaveLength(1);
      expect(received[0]!.from).toBe('alice');
      expect(received[0]!.payload).toBeInstanceOf(Uint8Array);
      expect(received[0]!.payload).toEqual(payload);

      const wire = aliceChat.sent[0]!;
      expect(wire.to).toBe('bob');
      expect(wire.text.startsWith(TEXT_PREFIX)).toBe(true);
      const body = wire.text.slice(TEXT_PREFIX.length);
      expect(body).toMatch(BASE64URL_BODY);
      expect(body).not.toMatch(/[+/=]/);
      // Same bytes as an independent base64url encoder (unpadded).
      expect(body).toBe(Buffer.from(payload).toString('base64url'));
    });
  }

  it('uses the URL-safe alphabet for bytes that need + and / in standard base64', async () => {
    const { alice, bob, aliceChat } = pair();
    const received: Uint8Array[] = [];
    bob.onMessage((_, payload) => received.push(payload));
    const payload = new Uint8Array([0xfb, 0xff, 0xbf, 0xfb, 0xef]); // standard: "+/+/++8="
    await alice.send('bob', payload);
    expect(aliceChat.sent[0]!.text).toBe(`${TEXT_PREFIX}-_-_--8`);
    expect(received).toEqual([payload]);
  });

  it('exports the documented prefix', () => {
    expect(TEXT_PREFIX).toBe('sealcall:');
  });

  const ignored: [string, unknown][] = [
    ['ordinary chat text', 'hello bob, call me later'],
    ['an empty string', ''],
    ['base64url without the prefix', 'AAECAw'],
    ['the prefix in another case', 'SEALCALL:AAECAw'],
    ['the prefix not at the start', ' sealcall:AAECAw'],
    ['standard base64 "+"', `${TEXT_PREFIX}ab+c`],
    ['standard base64 "/"', `${TEXT_PREFIX}ab/c`],
    ['whitespace in the body', `${TEXT_PREFIX}AAEC Aw`],
    ['a newline in the body', `${TEXT_PREFIX}AAEC\nAw`],
    ['punctuation in the body', `${TEXT_PREFIX}!!!!`],
    ['non-ASCII in the body', `${TEXT_PREFIX}AAÉC`],
    ['a body of length 1 mod 4 (1)', `${TEXT_PREFIX}A`],
    ['a body of length 1 mod 4 (5)', `${TEXT_PREFIX}AAAAA`],
    ['a non-string message', 12345],
    ['undefined', undefined],
  ];

  for (const [name, text] of ignored) {
    it(`ignores ${name}`, () => {
      const { bob, bobChat } = pair();
      const received: Uint8Array[] = [];
      bob.onMessage((_, payload) => received.push(payload));
      expect(() => bobChat.emit('alice', text)).not.toThrow();
      expect(received).toEqual([]);

      // The subscription is still alive: a proper message right after is delivered.
      bobChat.emit('alice', `${TEXT_PREFIX}AAECAw`);
      expect(received).toEqual([new Uint8Array([0, 1, 2, 3])]);
    });
  }

  it('unsubscribe stops delivery and removes the handler from the text chat', async () => {
    const { alice, bob, bobChat } = pair();
    const first: Uint8Array[] = [];
    const second: Uint8Array[] = [];
    const unsubscribeFirst = bob.onMessage((_, payload) => first.push(payload));
    const unsubscribeSecond = bob.onMessage((_, payload) => second.push(payload));
    expect(bobChat.handlers.size).toBe(2);

    await alice.send('bob', new Uint8Array([1]));
    unsubscribeFirst();
    expect(bobChat.handlers.size).toBe(1);
    await alice.send('bob', new Uint8Array([2]));
    unsubscribeSecond();
    expect(bobChat.handlers.size).toBe(0);
    await alice.send('bob', new Uint8Array([3]));

    expect(first).toEqual([new Uint8Array([1])]);
    expect(second).toEqual([new Uint8Array([1]), new Uint8Array([2])]);
  });

  it('passes the text chat send result through', async () => {
    const failing: TextChatTransport = {
      send: () => Promise.reject(new Error('offline')),
      onMessage: () => () => undefined,
    };
    await expect(fromTextTransport(failing).send('bob', new Uint8Array([1]))).rejects.toThrow('offline');
  });

  it('encodes the payload at send time', async () => {
    const { alice, aliceChat } = pair();
    const payload = new Uint8Array([1, 2, 3]);
    await alice.send('bob', payload);
    payload.fill(0);
    expect(aliceChat.sent[0]!.text).toBe(`${TEXT_PREFIX}AQID`);
  });
});
