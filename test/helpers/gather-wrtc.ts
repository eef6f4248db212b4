import type { WebRtcImplementation } from '../../src/session/types.js';
import { flakyWrtc } from './flaky-wrtc.js';

const stripCandidates = (sdp: string): string => sdp.replace(/^a=(candidate|end-of-candidates).*\r?\n/gm, '');

/**
 * @roamhq/wrtc (through {@link flakyWrtc}, so its connections are counted) whose ICE candidates
 * reach the application `delayMs` late and never inside a local description. On loopback every
 * host candidate is otherwise gathered before the offer leaves, so the offer and answer always
 * carry them; with this, every candidate travels in a separate `ice` batch, which a test can lose.
 */
export function slowGatherWrtc(delayMs: number): WebRtcImplementation {
  const Inner = flakyWrtc.RTCPeerConnection as unknown as new (config?: RTCConfiguration) => RTCPeerConnection;
  function SlowGatherPeerConnection(config?: RTCConfiguration): RTCPeerConnection {
    const pc = new Inner(config);
    const timers = new Set<ReturnType<typeof setTimeout>>();
    return new Proxy(pc, {
      get(target, prop) {
        if (prop === 'localDescription') {
          const d = target.localDescription;
          return d ? { type: d.type, sdp: stripCandidates(d.sdp), toJSON: () => ({ type: d.type, sdp: stripCandidates(d.sdp) }) } : d;
        }
        if (prop === 'close') {
          return () => {
            for (const t of timers) clearTimeout(t);
            timers.clear();
            target.close();
          };
        }
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
      set(target, prop, value) {
        if (prop === 'onicecandidate' && typeof value === 'function') {
          const handler = value as (e: RTCPeerConnectionIceEvent) => void;
          return Reflect.set(target, prop, (event: RTCPeerConnectionIceEvent) => {
            const timer = setTimeout(() => {
              timers.delete(timer);
              handler.call(target, event);
            }, delayMs);
            timers.add(timer);
          });
        }
        return Reflect.set(target, prop, value);
      },
    });
  }
  return { ...flakyWrtc, RTCPeerConnection: SlowGatherPeerConnection as unknown as typeof RTCPeerConnection };
}

/**
 * @roamhq/wrtc (through {@link flakyWrtc}) that reports `extra` more UDP host candidates for each
 * one it really gathers (same address, other ports and foundations): a host with many network
 * interfaces, or many TURN servers, as seen from the signaling layer.
 */
export function manyCandidatesWrtc(extra: number): WebRtcImplementation {
  const Inner = flakyWrtc.RTCPeerConnection as unknown as new (config?: RTCConfiguration) => RTCPeerConnection;
  function ManyCandidatesPeerConnection(config?: RTCConfiguration): RTCPeerConnection {
    const pc = new Inner(config);
    return new Proxy(pc, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
      set(target, prop, value) {
        if (prop === 'onicecandidate' && typeof value === 'function') {
          const handler = value as (e: { candidate: RTCIceCandidateInit | null }) => void;
          return Reflect.set(target, prop, (event: RTCPeerConnectionIceEvent) => {
            const c = event.candidate;
            if (c && / udp /i.test(c.candidate)) {
              for (let i = 0; i < extra; i++) {
                const candidate = c.candidate.replace(/^candidate:(\d+)/, `candidate:${9000 + i}`).replace(/ (\d+) typ/, ` ${20000 + i} typ`);
                handler.call(target, { candidate: { candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } });
              }
            }
            handler.call(target, event);
          });
        }
        return Reflect.set(target, prop, value);
      },
    });
  }
  return { ...flakyWrtc, RTCPeerConnection: ManyCandidatesPeerConnection as unknown as typeof RTCPeerConnection };
}
