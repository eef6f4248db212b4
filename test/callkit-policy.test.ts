import { describe, expect, it } from 'vitest';
import { CALLKEEP_END_REASONS, CALLKIT_END_REASONS, callKitEnd } from '../src/callkit/end-reasons.js';
import { decideCallKit, shouldUseCallKit } from '../src/callkit/policy.js';
import { isUuid, normalizeUuid, randomUuid } from '../src/callkit/uuid.js';
import { END_REASONS } from '../src/protocol/messages.js';

describe('CallKit-free policy', () => {
  it.each([
    [{}, true, 'allowed'],
    [{ storefront: 'USA', region: 'en_US', carrierMcc: ['310'] }, true, 'allowed'],
    [{ userEnabled: false }, false, 'user-disabled'],
    [{ userEnabled: false, storefront: 'USA' }, false, 'user-disabled'],
    [{ storefront: 'CHN' }, false, 'china-storefront'],
    [{ storefront: 'cn' }, false, 'china-storefront'],
    [{ region: 'CN' }, false, 'china-region'],
    [{ region: 'zh_CN' }, false, 'china-region'],
    [{ region: 'zh-Hans-CN' }, false, 'china-region'],
    [{ region: 'zh_CN@calendar=chinese' }, false, 'china-region'],
    [{ region: 'zh-Hant-TW' }, true, 'allowed'],
    [{ region: 'zh_HK' }, true, 'allowed'],
    [{ region: 'zh' }, true, 'allowed'],
    [{ carrierMcc: '460' }, false, 'china-carrier'],
    [{ carrierMcc: ['310', '460'] }, false, 'china-carrier'],
    [{ carrierMcc: ['454'] }, true, 'allowed'],
    [{ storefront: 'USA', region: 'en_US', carrierMcc: '460' }, false, 'china-carrier'],
  ] as const)('%j → useCallKit %s (%s)', (input, useCallKit, reason) => {
    expect(decideCallKit(input)).toEqual({ useCallKit, reason });
    expect(shouldUseCallKit(input)).toBe(useCallKit);
  });
});

describe('end reasons', () => {
  it('maps every sealcall end reason, both directions, to CallKit', () => {
    expect(Object.keys(CALLKIT_END_REASONS).sort()).toEqual([...END_REASONS].sort());
    expect(CALLKIT_END_REASONS).toEqual({
      hangup: { incoming: 'local', outgoing: 'local' },
      'remote-hangup': { incoming: 'remoteEnded', outgoing: 'remoteEnded' },
      rejected: { incoming: 'local', outgoing: 'remoteEnded' },
      busy: { incoming: 'remoteEnded', outgoing: 'remoteEnded' },
      'no-answer': { incoming: 'unanswered', outgoing: 'unanswered' },
      cancelled: { incoming: 'remoteEnded', outgoing: 'remoteEnded' },
      'answered-elsewhere': { incoming: 'answeredElsewhere', outgoing: 'answeredElsewhere' },
      'declined-elsewhere': { incoming: 'declinedElsewhere', outgoing: 'declinedElsewhere' },
      'ice-failed': { incoming: 'failed', outgoing: 'failed' },
      'connect-timeout': { incoming: 'failed', outgoing: 'failed' },
      'media-failed': { incoming: 'failed', outgoing: 'failed' },
      'protocol-error': { incoming: 'failed', outgoing: 'failed' },
      'transport-failed': { incoming: 'failed', outgoing: 'failed' },
    });
    expect(callKitEnd('rejected', 'incoming')).toBe('local');
    expect(callKitEnd('rejected', 'outgoing')).toBe('remoteEnded');
  });

  it("uses react-native-callkeep's iOS codes", () => {
    expect(CALLKEEP_END_REASONS).toEqual({ failed: 1, remoteEnded: 2, unanswered: 3, answeredElsewhere: 4, declinedElsewhere: 5 });
  });
});

describe('UUIDs', () => {
  it('normalises any case to lowercase canonical form and rejects the rest', () => {
    expect(normalizeUuid('A0B1C2D3-E4F5-4A6B-8C7D-9E0F1A2B3C4D')).toBe('a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d');
    for (const bad of ['', 'a0b1c2d3e4f54a6b8c7d9e0f1a2b3c4d', '{a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d}', 42, undefined]) {
      expect(() => normalizeUuid(bad)).toThrowSealcallError();
      expect(isUuid(bad)).toBe(false);
    }
  });

  it('makes random version-4 UUIDs', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const uuid = randomUuid();
      expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(uuid);
    }
    expect(seen.size).toBe(200);
  });
});
