import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CallClient } from '../src/call/call-client.js';
import { CallKitCoordinator } from '../src/callkit/coordinator.js';
import { buildCallPush, generatePushKey, MAX_PUSH_ENVELOPE_BYTES, type PushKeyPair } from '../src/callkit/push-payload.js';
import { ready } from '../src/crypto/sodium.js';
import { isSealcallError, type SealcallError } from '../src/errors.js';
import { FakeCallKitProvider } from '../src/testing/fake-callkit-provider.js';

/** A client that is still loading: nothing here needs a real call. */
const loading = () => new Promise<CallClient>(() => {});

/** This device's push key; the pushes are sealed to it (nothing here opens them: the client never loads). */
let device: PushKeyPair;

beforeAll(async () => {
  await ready(); // building a push seals it
  device = generatePushKey();
});

function push(uuid: string) {
  const envelope = new Uint8Array(MAX_PUSH_ENVELOPE_BYTES);
  globalThis.crypto.getRandomValues(envelope);
  return buildCallPush({ envelope, callerHint: 'alice', pushKey: device.publicKey, uuid });
}

const UUID_A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const UUID_B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const UUID_C = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';

let coordinator: CallKitCoordinator | undefined;

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  coordinator?.dispose();
  coordinator = undefined;
  vi.useRealTimers();
});

function start(provider: FakeCallKitProvider, readyTimeoutMs?: number) {
  coordinator = new CallKitCoordinator({
    client: loading(),
    reporter: provider,
    pushKey: device,
    ...(readyTimeoutMs ? { readyTimeoutMs } : {}),
  });
  const errors: SealcallError[] = [];
  coordinator.on('error', (e) => errors.push(e));
  return { coordinator, errors };
}

describe('provider readiness', () => {
  it('queues reports until the provider is ready, then sends them in order', async () => {
    const provider = new FakeCallKitProvider({ ready: false });
    const { coordinator, errors } = start(provider);
    coordinator.handlePush(push(UUID_A));
    coordinator.handlePush(push(UUID_B));
    expect(provider.reports).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_000);
    provider.markReady();
    await coordinator.ready();
    expect(provider.reports.map((r) => r.uuid)).toEqual([UUID_A, UUID_B]);
    expect(errors).toEqual([]);
  });

  it('reports a provider that is not ready within 3 s as CALLKIT_NOT_READY and recovers if it turns ready later', async () => {
    const provider = new FakeCallKitProvider({ ready: false });
    const { coordinator, errors } = start(provider);
    const ready = coordinator.ready();
    coordinator.handlePush(push(UUID_A));
    const call = coordinator.startCall('bob');
    call.catch(() => {}); // checked below

    await vi.advanceTimersByTimeAsync(2_999);
    expect(errors).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await expect(ready).rejects.toSatisfy((e) => isSealcallError(e, 'CALLKIT_NOT_READY'));
    await expect(call).rejects.toSatisfy((e) => isSealcallError(e, 'CALLKIT_NOT_READY'));
    expect(errors.map((e) => e.code)).toEqual(['CALLKIT_NOT_READY']);
    expect(provider.reports).toEqual([]); // dropped: the app shows its own UI instead
    await expect(coordinator.startCall('bob')).rejects.toSatisfy((e) => isSealcallError(e, 'CALLKIT_NOT_READY'));

    provider.markReady();
    await vi.advanceTimersByTimeAsync(0); // the provider's readiness arrives a job later
    await coordinator.ready();
    coordinator.handlePush(push(UUID_B));
    expect(provider.reports.map((r) => [r.type, r.uuid])).toEqual([['incoming', UUID_B]]);
  });

  it('waits for the provider again after a reset, with the same timeout', async () => {
    const provider = new FakeCallKitProvider();
    const { coordinator, errors } = start(provider, 500);
    coordinator.handlePush(push(UUID_A));
    expect(provider.reports).toHaveLength(1);

    provider.unready(); // the recreated provider takes its time…
    provider.reset();
    coordinator.handlePush(push(UUID_B));
    expect(provider.reports).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(errors.map((e) => e.code)).toEqual(['CALLKIT_NOT_READY']);

    provider.markReady(); // …and comes back after all
    await vi.advanceTimersByTimeAsync(0);
    await coordinator.ready();
    coordinator.handlePush(push(UUID_C));
    expect(provider.reports.map((r) => r.uuid)).toEqual([UUID_A, UUID_C]);
    // The invitation shown before the reset is gone; the one CallKit never showed is left for
    // the app's own UI.
    expect(coordinator.pendingInvitations().map((i) => i.uuid)).toEqual([UUID_B, UUID_C]);
  });

  it('a provider whose setup rejects fails at once', async () => {
    const provider = new FakeCallKitProvider();
    provider.ready = () => Promise.reject(new Error('no entitlement'));
    const { coordinator, errors } = start(provider);
    await expect(coordinator.ready()).rejects.toSatisfy((e) => isSealcallError(e, 'CALLKIT_NOT_READY'));
    expect(errors[0]?.cause).toBeInstanceOf(Error);
  });
});
