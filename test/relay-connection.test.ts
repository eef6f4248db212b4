import { EventEmitter } from 'node:events';
import { beforeAll, describe, expect, it } from 'vitest';
import { commandKey, generateRelayIdentity, generateRelayKeyPair } from '../src/crypto/relay-keys.js';
import { ready } from '../src/crypto/sodium.js';
import { isSealcallError } from '../src/errors.js';
import { decodeRelayBlock } from '../src/protocol/relay-frames.js';
import { ByteSlots } from '../src/relay/byte-slots.js';
import { CONNECTION_KEY_BYTES, RelayConnection, type ConnectionEvents } from '../src/relay/connection.js';
import { resolveRelayOptions } from '../src/relay/options.js';
import type { QueueRef } from '../src/relay/relay-store.js';

// One RelayConnection over a stand-in socket (unit level; the relay over real sockets is in
// relay.test.ts): where its keys live, and that they are gone once its socket closed.

/** Stand-in for a `ws` server socket: what RelayConnection uses of one (no `_socket`, so blocks go through `send`). */
class StandInSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly _socket = null;
  readonly sent: Uint8Array[] = [];
  send(data: Uint8Array): void {
    this.sent.push(data);
  }
  close(code = 1000): void {
    this.readyState = 3;
    this.emit('close', code);
  }
  terminate(): void {
    this.close(1006);
  }
  ping(): void {}
}

const events: ConnectionEvents = { frame() {}, closed() {} };

beforeAll(() => ready());

function open(slots: ByteSlots) {
  const ws = new StandInSocket();
  const session = generateRelayKeyPair();
  const connection = new RelayConnection(ws as never, session, '127.0.0.1', resolveRelayOptions({}), generateRelayIdentity(), events, slots);
  const [hello] = decodeRelayBlock(ws.sent[0]!);
  if (!hello || hello instanceof Error || hello.t !== 'hello') throw new Error('no hello');
  return { ws, session, connection, sessionKey: hello.sessionKey };
}

describe('RelayConnection keys', () => {
  it('keeps its session secret only in its record, derives the command key a client derives, and wipes both when its socket closes', () => {
    const slots = new ByteSlots(CONNECTION_KEY_BYTES);
    const { ws, session, connection, sessionKey } = open(slots);
    // The key pair it was given no longer holds the secret.
    expect(session.secretKey.every((b) => b === 0)).toBe(true);
    const recipient = generateRelayKeyPair();
    const queue = { key: 'q1' } as QueueRef;
    const expected = commandKey(recipient.secretKey, sessionKey, sessionKey, recipient.publicKey);
    expect([...connection.commandKey(recipient.publicKey, queue)]).toEqual([...expected]);
    // The second time it comes from the record, not from a new X25519.
    expect([...connection.commandKey(recipient.publicKey, queue)]).toEqual([...expected]);
    expect(slots.inUse).toBe(1);

    ws.close();
    expect(slots.inUse).toBe(0);
    expect(slots.view(0, 0, CONNECTION_KEY_BYTES).every((b) => b === 0)).toBe(true);
    // A command whose store answers after the close authorizes nothing, and reads no other connection's record.
    const next = open(slots);
    let thrown: unknown;
    try {
      connection.commandKey(recipient.publicKey, queue);
    } catch (error) {
      thrown = error;
    }
    expect(isSealcallError(thrown, 'DECRYPT_FAILED')).toBe(true);
    // The record went to the next connection, whose key for the same queue is its own.
    expect(slots.inUse).toBe(1);
    const theirs = commandKey(recipient.secretKey, next.sessionKey, next.sessionKey, recipient.publicKey);
    expect([...next.connection.commandKey(recipient.publicKey, queue)]).toEqual([...theirs]);
    expect([...theirs]).not.toEqual([...expected]);
  });
});
