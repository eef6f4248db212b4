import { afterEach, describe, expect, it } from 'vitest';
import type { Call } from '../src/call/call.js';
import { MemoryNetwork, type MemoryNetworkOptions } from '../src/testing/memory-network.js';
import { listen, tone, type Listener, type Tone } from './helpers/audio.js';
import { connectedPair, ended, Harness, once, reach, ringingPair } from './helpers/call-harness.js';
import { openFrom } from './helpers/crypto.js';

let harness: Harness;
const media: (Tone | Listener)[] = [];

function setup(network: MemoryNetworkOptions = {}, defaults = {}): Harness {
  harness = new Harness(new MemoryNetwork({ seed: 1, ...network }), defaults);
  return harness;
}

afterEach(async () => {
  // Sinks and sources first: tearing down a peer connection under a live RTCAudioSink is the
  // riskiest path through @roamhq/wrtc's native code.
  for (const m of media.splice(0)) m.stop();
  await harness?.close();
});

describe('calls over MemoryNetwork with real @roamhq/wrtc', () => {
  it('connects in the SimpleX order and carries audio both ways', async () => {
    const h = setup();
    const aliceTone = tone(440);
    const bobTone = tone(880);
    media.push(aliceTone, bobTone);
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call('bob', { stream: aliceTone.stream });
    const ringing = once(aliceCall, 'ringing');
    const aliceTrack = once(aliceCall, 'track');
    expect(aliceCall.state).toBe('outgoing');
    const [bobCall] = await incoming;
    await ringing;
    expect(bobCall.state).toBe('incoming');
    expect(bobCall.id).toBe(aliceCall.id);
    expect(bobCall.direction).toBe('incoming');
    const bobTrack = once(bobCall, 'track');
    await bobCall.accept({ stream: bobTone.stream });
    await Promise.all([reach(aliceCall, 'connected'), reach(bobCall, 'connected')]);
    expect(aliceCall.e2ee).toBe('transport');

    const [[trackAtAlice], [trackAtBob]] = await Promise.all([aliceTrack, bobTrack]);
    const atAlice = listen(trackAtAlice);
    const atBob = listen(trackAtBob);
    media.push(atAlice, atBob);
    await Promise.all([atAlice.audible(30), atBob.audible(30)]);
    expect(atBob.frequency()).toBeGreaterThan(400);
    expect(atBob.frequency()).toBeLessThan(480);
    expect(atAlice.frequency()).toBeGreaterThan(820);
    expect(atAlice.frequency()).toBeLessThan(940);
    expect(await aliceCall.path()).toBe('direct');
  });

  it('carries data channel messages and ends both sides on hangup', async () => {
    const h = setup();
    const { aliceCall, bobCall } = await connectedPair(h);
    const atBob = once(bobCall, 'data');
    aliceCall.send('hello bob');
    expect(Buffer.from((await atBob)[0]).toString()).toBe('hello bob');
    const atAlice = once(aliceCall, 'data');
    bobCall.send(Uint8Array.of(1, 2, 3));
    expect([...(await atAlice)[0]]).toEqual([1, 2, 3]);

    const bobEnded = ended(bobCall);
    await aliceCall.hangup();
    expect(aliceCall.endedWith?.reason).toBe('hangup');
    expect((await bobEnded).reason).toBe('remote-hangup');
    expect(aliceCall.state).toBe('disconnected');
    expect(h.clients.every((c) => c.activeCalls.length === 0)).toBe(true);
  });

  it('reports confirmed mute and camera state and tells the peer', async () => {
    const h = setup();
    const { aliceCall, bobCall } = await connectedPair(h);
    const muted = new Promise((resolve) => bobCall.on('remote-media', (m) => m.audioMuted && resolve(m)));
    expect(await aliceCall.setAudioMuted(true)).toBe(true);
    expect(aliceCall.localStream?.getAudioTracks().every((t) => !t.enabled)).toBe(true);
    expect(await muted).toEqual({ audioMuted: true, videoEnabled: false, held: false, screenSharing: false });
    expect(bobCall.remoteMedia).toEqual({ audioMuted: true, videoEnabled: false, held: false, screenSharing: false });
    // There is no camera in an audio call: the confirmed state says so.
    expect(await aliceCall.setVideoEnabled(true)).toBe(false);
    expect(await aliceCall.setAudioMuted(false)).toBe(false);
  });

  it('applies a mute chosen while ringing once the call is answered', async () => {
    const h = setup();
    const { aliceCall, bobCall } = await ringingPair(h);
    expect(await bobCall.setAudioMuted(true)).toBe(true);
    const muted = new Promise((resolve) => aliceCall.on('remote-media', (m) => m.audioMuted && resolve(m)));
    await bobCall.accept();
    await reach(bobCall, 'connected');
    expect(bobCall.localStream!.getAudioTracks().every((t) => !t.enabled)).toBe(true);
    expect(bobCall.audioMuted).toBe(true);
    await muted;
  });

  it('connects when the transport acknowledges sends only after delivering them (slow server acks)', async () => {
    const h = setup();
    const inner = h.network.endpoint('alice');
    const slowAcks = {
      send: async (to: string, payload: Uint8Array) => {
        await inner.send(to, payload);
        await new Promise((resolve) => setTimeout(resolve, 300)); // the ack comes after the reply
      },
      onMessage: inner.onMessage.bind(inner),
    };
    const alice = await h.user('alice', { transport: slowAcks });
    const bob = await h.user('bob', { gatherWindowMs: 0 });
    const bobCall = new Promise<Call>((resolve) =>
      bob.client.on('incoming', (call) => {
        void call.accept(); // at once: the offer overtakes alice's acknowledgement
        resolve(call);
      }),
    );
    const aliceCall = await alice.client.call('bob');
    await Promise.all([reach(aliceCall, 'connected'), reach(await bobCall, 'connected')]);
    expect(alice.warnings).toEqual([]);
  });

  it('ends rejected on both sides when the callee declines', async () => {
    const h = setup();
    const { aliceCall, bobCall } = await ringingPair(h);
    await bobCall.reject();
    expect(bobCall.endedWith?.reason).toBe('rejected');
    expect((await ended(aliceCall)).reason).toBe('rejected');
  });

  it('answers busy when the callee is already in a call', async () => {
    const h = setup();
    await connectedPair(h);
    const carol = await h.user('carol');
    const carolCall = await carol.client.call('bob');
    expect((await ended(carolCall)).reason).toBe('busy');
  });

  it('ends no-answer on both sides after the ring timeout', async () => {
    const h = setup({}, { ringTimeoutMs: 400 });
    const { aliceCall, bobCall } = await ringingPair(h);
    expect((await ended(aliceCall)).reason).toBe('no-answer');
    expect((await ended(bobCall)).reason).toBe('no-answer');
  });

  it('ends the callee cancelled when the caller hangs up first, even if the cancel overtakes the invitation', async () => {
    const h = setup();
    const { aliceCall, bobCall } = await ringingPair(h);
    await aliceCall.hangup();
    expect((await ended(bobCall)).reason).toBe('cancelled');

    // Now the cancel arrives first: bob's endpoint is offline while both are queued, and the
    // relay hands them over in reverse.
    const reversing = new MemoryNetwork({ seed: 2 });
    harness.onClose(() => reversing.close());
    const sent: [string, Uint8Array][] = [];
    const carol = await h.user('carol', { transport: { send: async (to, payload) => void sent.push([to, payload]), onMessage: () => () => {} } });
    const dave = await h.user('dave', { transport: reversing.endpoint('dave') });
    const rang: Call[] = [];
    dave.client.on('incoming', (call) => rang.push(call));
    const carolCall = await carol.client.call('dave');
    await carolCall.hangup();
    // Invite, then one-shot cancel (the test opens the pair seal: the bytes say nothing).
    expect(sent.map(([, p]) => openFrom(dave.identity, carol.identity.publicKey, p)[1])).toEqual([1, 4]);
    const courier = reversing.endpoint('carol');
    for (const [to, payload] of sent.reverse()) await courier.send(to, payload);
    await reversing.settled();
    expect(rang).toEqual([]);
    expect(dave.client.activeCalls).toEqual([]);
  });

  it('resolves glare into one connected call', async () => {
    const h = setup({ latencyMs: 20 });
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const [aliceCall, bobCall] = await Promise.all([alice.client.call('bob'), bob.client.call('alice')]);
    await Promise.all([reach(aliceCall, 'connected'), reach(bobCall, 'connected')]);
    expect(aliceCall.id).toBe(bobCall.id);
    expect(alice.client.activeCalls).toEqual([aliceCall]);
    expect(bob.client.activeCalls).toEqual([bobCall]);
  });

  it('lets one of two devices answer and ends the other answered-elsewhere', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const phone = await h.user('bob');
    const laptop = await h.user('bob');
    const [phoneIncoming, laptopIncoming] = [once(phone.client, 'incoming'), once(laptop.client, 'incoming')];
    const aliceCall = await alice.client.call('bob');
    const [[phoneCall], [laptopCall]] = await Promise.all([phoneIncoming, laptopIncoming]);
    await phoneCall.accept();
    await Promise.all([reach(aliceCall, 'connected'), reach(phoneCall, 'connected')]);
    expect((await ended(laptopCall)).reason).toBe('answered-elsewhere');
    expect(phoneCall.state).toBe('connected');
  });

  it('ends the other devices declined-elsewhere when one rejects', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const phone = await h.user('bob');
    const laptop = await h.user('bob');
    const [phoneIncoming, laptopIncoming] = [once(phone.client, 'incoming'), once(laptop.client, 'incoming')];
    const aliceCall = await alice.client.call('bob');
    const ringing = once(aliceCall, 'ringing');
    const [[phoneCall], [laptopCall]] = await Promise.all([phoneIncoming, laptopIncoming]);
    await ringing;
    await phoneCall.reject();
    expect((await ended(aliceCall)).reason).toBe('rejected');
    expect((await ended(laptopCall)).reason).toBe('declined-elsewhere');
  });

  it('connects every time over a network with 30% duplicates, reordering and 0–300 ms latency', async () => {
    for (const seed of [11, 12, 13]) {
      const h = setup({ latencyMs: [0, 300], duplicateRate: 0.3, reorder: true, seed });
      const { aliceCall } = await connectedPair(h);
      await aliceCall.hangup();
      await h.close();
    }
  });

  it('shows the network no SDP, candidates or IP addresses', async () => {
    const h = setup();
    const { aliceCall, bobCall } = await connectedPair(h);
    await aliceCall.hangup();
    await ended(bobCall);
    const seen = Buffer.concat(h.network.observed.map((o) => o.payload));
    for (const needle of ['v=0', 'a=fingerprint', 'candidate', 'ice-ufrag', 'typ host', '127.0.0.1', 'IN IP4']) {
      expect(seen.includes(Buffer.from(needle)), needle).toBe(false);
    }
    const stats = (await aliceCall.getStats()) as unknown[];
    expect(stats).toEqual([]); // released with the call
  });
});
