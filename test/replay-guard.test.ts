import { beforeAll, describe, expect, it } from 'vitest';
import { ready, sodium } from '../src/crypto/sodium.js';
import { isSealcallError } from '../src/errors.js';
import { LIMITS } from '../src/protocol/limits.js';
import { ReplayGuard } from '../src/signaling/replay-guard.js';

beforeAll(() => ready());

const key = (n: number) => new Uint8Array(32).fill(n);
const id = () => sodium().randombytes_buf(32);
const code = (f: () => void) => {
  try {
    f();
    return 'admitted';
  } catch (error) {
    return isSealcallError(error) ? error.code : 'other';
  }
};

describe('ReplayGuard', () => {
  it('refuses an invitation it admitted before', () => {
    const now = 1_000_000;
    const guard = new ReplayGuard({ now: () => now });
    const e = id();
    expect(code(() => guard.admit(key(1), e, now))).toBe('admitted');
    expect(code(() => guard.admit(key(1), e, now))).toBe('REPLAYED');
  });

  it('refuses a captured invitation after a restart from the saved state, and takes a new one', () => {
    const now = 1_000_000;
    const before = new ReplayGuard({ now: () => now });
    const captured = id();
    before.admit(key(1), captured, now);
    const after = new ReplayGuard({ now: () => now + 60_000 }, before.serialize());
    expect(code(() => after.admit(key(1), captured, now))).toBe('REPLAYED');
    expect(code(() => after.admit(key(1), id(), now + 59_000))).toBe('admitted');
  });

  it("gives each contact its own budget: one contact's flood never lets another's invitation in again", () => {
    let now = 1_000_000;
    const guard = new ReplayGuard({ now: () => now, perContact: 8 });
    const victim = id();
    guard.admit(key(2), victim, now);
    for (let i = 0; i < 10_001; i++) guard.admit(key(1), id(), now + i);
    now += 1_000;
    expect(code(() => guard.admit(key(2), victim, now - 1_000))).toBe('REPLAYED');
    // The flooder's own oldest entries left its budget by raising its mark: still refused.
    expect(code(() => guard.admit(key(1), id(), now - 1_000))).toBe('REPLAYED');
  });

  it('stays small: state older than the freshness window is dropped', () => {
    let now = 1_000_000;
    const guard = new ReplayGuard({ now: () => now });
    for (let c = 0; c < 50; c++) guard.admit(key(c), id(), now);
    expect(guard.size).toBe(50);
    expect(guard.serialize().length).toBeLessThan(50 * 64);
    now += LIMITS.inviteLifetimeMs + 2 * LIMITS.clockSkewMs + 1;
    expect(guard.size).toBe(0);
    expect(guard.serialize().length).toBe(5);
  });

  it('caps the contacts with live state (RATE_LIMITED beyond it), never evicting one', () => {
    const now = 1_000_000;
    const guard = new ReplayGuard({ now: () => now, maxContacts: 3 });
    for (let c = 0; c < 3; c++) guard.admit(key(c), id(), now);
    expect(code(() => guard.admit(key(9), id(), now))).toBe('RATE_LIMITED');
    expect(guard.size).toBe(3);
  });

  it('refuses malformed saved state with BAD_MESSAGE, whatever the bytes', () => {
    const now = 1_000_000;
    const good = new ReplayGuard({ now: () => now });
    good.admit(key(1), id(), now);
    const bytes = good.serialize();
    for (let cut = 0; cut < bytes.length; cut++) {
      expect(code(() => new ReplayGuard({ now: () => now }, bytes.subarray(0, cut)))).toBe('BAD_MESSAGE');
    }
    for (let i = 0; i < 2_000; i++) {
      const random = sodium().randombytes_buf(1 + (i % 200));
      const outcome = code(() => new ReplayGuard({ now: () => now }, random));
      expect(['admitted', 'BAD_MESSAGE']).toContain(outcome);
    }
    const restored = new ReplayGuard({ now: () => now }, bytes);
    expect(restored.size).toBe(1);
  });
});
