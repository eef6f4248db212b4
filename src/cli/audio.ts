/**
 * Real audio for the Node CLI: a sine tone sent through @roamhq/wrtc's RTCAudioSource, and a
 * meter on a received track (level and dominant frequency) through its RTCAudioSink.
 */

/** The nonstandard part of @roamhq/wrtc the CLI uses. */
export interface NodeAudio {
  MediaStream: new (tracks: MediaStreamTrack[]) => MediaStream;
  nonstandard: {
    RTCAudioSource: new () => { createTrack(): MediaStreamTrack; onData(data: AudioChunk): void };
    RTCAudioSink: new (track: MediaStreamTrack) => { ondata: ((data: AudioChunk) => void) | null; stop(): void };
  };
}

interface AudioChunk {
  samples: Int16Array;
  sampleRate: number;
  bitsPerSample?: number;
  channelCount?: number;
  numberOfFrames?: number;
}

const RATE = 48_000;
const CHUNK = RATE / 100; // RTCAudioSource takes exactly 10 ms per call

/** A tone being sent. */
export interface Tone {
  stream: MediaStream;
  stop(): void;
}

/** Starts a sine tone of `frequency` Hz as a live audio track. */
export function startTone(wrtc: NodeAudio, frequency: number, amplitude = 8000): Tone {
  const source = new wrtc.nonstandard.RTCAudioSource();
  const track = source.createTrack();
  const samples = new Int16Array(CHUNK);
  let n = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < CHUNK; i++) samples[i] = Math.round(amplitude * Math.sin((2 * Math.PI * frequency * n++) / RATE));
    source.onData({ samples, sampleRate: RATE, bitsPerSample: 16, channelCount: 1, numberOfFrames: CHUNK });
  }, 10);
  return {
    stream: new wrtc.MediaStream([track]),
    stop: () => {
      clearInterval(timer);
      track.stop();
    },
  };
}

/** Below this level (dBFS) audio is silence or comfort noise, not the peer's tone. */
const AUDIBLE_DB = -45;

/** What a meter heard since its previous reading. */
export interface Reading {
  /** RMS level in dBFS since the previous reading (−∞ for silence). */
  levelDb: number;
  /** Whether that level is above silence. */
  audible: boolean;
  /**
   * Dominant frequency in Hz over the last second of audible audio; 0 while not audible, where
   * it would be a stale figure from before the silence.
   */
  frequencyHz: number;
  /** Seconds of audible audio heard so far. */
  audibleSeconds: number;
}

/** A meter on a received track. */
export interface Meter {
  /** The level since the previous call, and the frequency heard lately. */
  reading(): Reading;
  stop(): void;
}

/** Measures a received audio track: RMS level, frequency by zero crossings. */
export function startMeter(wrtc: NodeAudio, track: MediaStreamTrack): Meter {
  const sink = new wrtc.nonstandard.RTCAudioSink(track);
  // Summed over the chunks since the previous reading, so a reading is not one 10 ms chunk's luck.
  let sumSquares = 0;
  let sampleCount = 0;
  let levelDb = -Infinity;
  let audibleSeconds = 0;
  // Zero crossings and durations of recent audible chunks: about one second's worth.
  let window: { crossings: number; seconds: number }[] = [];
  sink.ondata = ({ samples, sampleRate }) => {
    let sum = 0;
    let crossings = 0;
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i]!;
      sum += s * s;
      if (i > 0 && samples[i - 1]! < 0 !== s < 0) crossings++;
    }
    sumSquares += sum;
    sampleCount += samples.length;
    if (decibels(sum, samples.length) < AUDIBLE_DB) return; // not part of the tone
    const seconds = samples.length / sampleRate;
    audibleSeconds += seconds;
    window.push({ crossings, seconds });
    let total = window.reduce((t, c) => t + c.seconds, 0);
    while (total > 1 && window.length > 1) total -= window.shift()!.seconds;
  };
  return {
    reading: () => {
      // No chunk since the previous reading: the level has not changed.
      if (sampleCount > 0) levelDb = decibels(sumSquares, sampleCount);
      sumSquares = 0;
      sampleCount = 0;
      const audible = levelDb >= AUDIBLE_DB;
      const seconds = window.reduce((t, c) => t + c.seconds, 0);
      const crossings = window.reduce((t, c) => t + c.crossings, 0);
      const frequencyHz = audible && seconds > 0 ? crossings / 2 / seconds : 0;
      return { levelDb, audible, frequencyHz, audibleSeconds };
    },
    stop: () => {
      sink.stop();
      window = [];
    },
  };
}

/** RMS level in dBFS of 16-bit samples whose squares sum to `sumSquares`. */
function decibels(sumSquares: number, count: number): number {
  const rms = Math.sqrt(sumSquares / Math.max(1, count)) / 32768;
  return rms > 0 ? 20 * Math.log10(rms) : -Infinity;
}

/** A text level bar for a terminal, e.g. `▮▮▮▮▮▯▯▯▯▯ -18 dB`. */
export function levelBar(levelDb: number, width = 20): string {
  const filled = Number.isFinite(levelDb) ? Math.max(0, Math.min(width, Math.round(((levelDb + 60) / 60) * width))) : 0;
  const db = Number.isFinite(levelDb) ? `${levelDb.toFixed(0).padStart(4)} dB` : '  -∞ dB';
  return `${'▮'.repeat(filled)}${'▯'.repeat(width - filled)} ${db}`;
}
