import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { isSealcallError } from '../src/errors.js';
import { writeBlock } from '../src/protocol/block-writer.js';
import { seededRandom } from '../src/testing/seeded-random.js';

// The relay's block writer against msgpackr, configured as src/protocol/msgpack.ts configures it:
// the same value must give the same bytes, or the published vectors (written with msgpackr) and
// every older peer's expectations would drift.
const msgpackr = new Packr({ useRecords: false, structuredClone: false });
const reference = (value: unknown) => new Uint8Array(msgpackr.pack(value));

const RUNS = Number(process.env.SEALCALL_FUZZ_RUNS ?? 300);
type Random = () => number;
const int = (random: Random, n: number): number => Math.floor(random() * n);

/** Lengths around every boundary where the encoding changes form. */
const LENGTHS = [0, 1, 15, 16, 31, 32, 255, 256, 3152, 65_535, 65_536];
const UINTS = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x1_0000, 0xffff_ffff, 2 ** 32, 1_733_270_000_123, Number.MAX_SAFE_INTEGER];

function randomValue(random: Random): unknown {
  switch (int(random, 3)) {
    case 0:
      return random() < 0.5 ? UINTS[int(random, UINTS.length)] : int(random, 2 ** 32);
    case 1: {
      const length = LENGTHS[int(random, LENGTHS.length)]!;
      return Uint8Array.from({ length }, () => int(random, 256));
    }
    default: {
      const length = LENGTHS[int(random, 6)]!;
      // Whole code points: a lone surrogate is not UTF-8 (the writer sends U+FFFD, msgpackr the surrogate's bytes).
      const alphabet = random() < 0.8 ? [...'abcdefghijklmnopqrstuvwxyz'] : [...'aé€😀'];
      return Array.from({ length }, () => alphabet[int(random, alphabet.length)]).join('');
    }
  }
}

function randomFrame(random: Random): Record<string, unknown> {
  const frame: Record<string, unknown> = {};
  const keys = int(random, 7);
  for (let k = 0; k < keys; k++) frame[['t', 'corr', 'recipientId', 'msgId', 'body', 'ts', 'message', 'é'][int(random, 8)]!] = randomValue(random);
  return frame;
}

describe('writeBlock', () => {
  it('writes the bytes msgpackr writes for every frame shape of the protocol', () => {
    const id = new Uint8Array(16).fill(1);
    const blocks = [
      [{ t: 'ok', corr: 5 }],
      [{ t: 'msg', recipientId: id, msgId: id, body: new Uint8Array(3168).fill(7), ts: 1_733_270_000_123 }, { t: 'ok', corr: 70_000 }],
      [{ t: 'err', code: 'BAD_FRAME', message: 'block is not valid msgpack' }],
      [{ t: 'hello', v: 2, relayKey: new Uint8Array(32), sessionKey: new Uint8Array(32), sig: new Uint8Array(64) }],
      [{ t: 'send', corr: 2 ** 32 - 1, senderId: id, body: new Uint8Array(0) }],
      Array.from({ length: 64 }, (_, corr) => ({ t: 'ok', corr })),
    ];
    for (const block of blocks) expect(writeBlock(block)).toEqual(reference(block));
  });

  it('matches msgpackr on random blocks of strings, unsigned integers and bytes at every size boundary', () => {
    const random = seededRandom(0xb10c);
    for (let run = 0; run < RUNS; run++) {
      const block = Array.from({ length: [1, 2, 15, 16, 17][int(random, 5)]! }, () => randomFrame(random));
      const ours = writeBlock(block);
      // A byte comparison (toEqual on blocks of 64 KiB fields is slow); the hex names the first difference.
      if (!Buffer.from(ours).equals(reference(block))) expect(Buffer.from(ours).toString('hex'), `run ${run}`).toBe(Buffer.from(reference(block)).toString('hex'));
    }
  });

  it('refuses a field that is no string, unsigned integer or bytes with INVALID_ARGUMENT, writing nothing', () => {
    for (const value of [-1, 1.5, Number.NaN, 2 ** 53, undefined, null, true, {}, [1], 10n]) {
      expect(() => writeBlock([{ t: 'ok', corr: value }]), String(value)).toThrow(
        expect.toSatisfy((error: unknown) => isSealcallError(error, 'INVALID_ARGUMENT')),
      );
    }
  });
});
