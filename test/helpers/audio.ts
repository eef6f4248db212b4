import wrtc from '@roamhq/wrtc';

const { RTCAudioSource, RTCAudioSink } = (wrtc as unknown as { nonstandard: { RTCAudioSource: any; RTCAudioSink: any } }).nonstandard;

/** A sine tone fed into a real RTCAudioSource in 10 ms chunks. */
export interface Tone {
  stream: MediaStream;
  stop(): void;
}

export function tone(frequency: number, amplitude = 8000): Tone {
  const source = new RTCAudioSource();
  const track = source.createTrack() as MediaStreamTrack;
  const stream = new (wrtc as unknown as { MediaStream: typeof MediaStream }).MediaStream([track]);
  let phase = 0;
  const samples = new Int16Array(480);
  const timer = setInterval(() => {
    for (let i = 0; i < samples.length; i++) samples[i] = Math.round(amplitude * Math.sin((2 * Math.PI * frequency * phase++) / 48_000));
    source.onData({ samples, sampleRate: 48_000, bitsPerSample: 16, channelCount: 1, numberOfFrames: samples.length });
  }, 10);
  return {
    stream,
    stop: () => {
      clearInterval(timer);
      track.stop();
    },
  };
}

/** Listens to a received track through a real RTCAudioSink. */
export interface Listener {
  /** Resolves once `count` chunks with audible samples arrived. */
  audible(count: number): Promise<void>;
  /** Dominant frequency of the most recent audible chunks (zero-crossing estimate). */
  frequency(): number;
  stop(): void;
}

export function listen(track: MediaStreamTrack): Listener {
  const sink = new RTCAudioSink(track);
  let loud = 0;
  let recent: { samples: Int16Array; sampleRate: number }[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  sink.ondata = (data: { samples: Int16Array; sampleRate: number }) => {
    let peak = 0;
    for (const s of data.samples) peak = Math.max(peak, Math.abs(s));
    if (peak < 500) return;
    loud++;
    recent = [...recent.slice(-49), { samples: Int16Array.from(data.samples), sampleRate: data.sampleRate }];
    for (const w of waiters.filter((w) => loud >= w.count)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  return {
    audible: (count) => (loud >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }))),
    frequency: () => {
      let crossings = 0;
      let seconds = 0;
      for (const { samples, sampleRate } of recent) {
        for (let i = 1; i < samples.length; i++) if (samples[i - 1]! < 0 !== samples[i]! < 0) crossings++;
        seconds += samples.length / sampleRate;
      }
      return seconds === 0 ? 0 : crossings / 2 / seconds;
    },
    stop: () => sink.stop(),
  };
}
