import { EventEmitter } from 'eventemitter3';
import { SealcallError } from '../errors.js';

/** ICE servers with the time their credentials expire, as TURN REST credentials come. */
export interface IceServerSet {
  servers: RTCIceServer[];
  /** When the credentials stop working (ms since epoch); omit for servers that never expire. */
  expiresAt?: number;
}

/** Fetches ICE servers (typically short-lived TURN credentials from the app's server). */
export type IceServerProvider = () => Promise<IceServerSet>;

interface IceServerSourceEvents {
  /** Fresh servers replaced expiring ones while calls were live. */
  updated: (servers: RTCIceServer[]) => void;
  /** A refresh failed; the old servers stay in use until it succeeds. */
  error: (error: SealcallError) => void;
}

/** Shortest time between two refreshes, so a provider handing out past expiries cannot spin us. */
const MIN_REFRESH_MS = 1000;

/**
 * Keeps a client's ICE servers fresh: a fixed list, or a provider whose credentials are fetched
 * again `refreshBufferMs` before they expire (the seed's 3-minute buffer by default) — on demand
 * for a new call, and on a timer while calls are live, so a long call never outlives its
 * credentials.
 */
export class IceServerSource extends EventEmitter<IceServerSourceEvents> {
  private current: IceServerSet | undefined;
  private fetching: Promise<IceServerSet> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private holders = 0;
  private closed = false;

  constructor(
    private readonly input: RTCIceServer[] | IceServerProvider,
    private readonly refreshBufferMs: number,
    private readonly now: () => number,
  ) {
    super();
    if (Array.isArray(input)) this.current = { servers: input };
  }

  /** Servers fit for a call starting now (fetched if missing or about to expire). */
  async get(): Promise<RTCIceServer[]> {
    const current = this.current;
    if (current && !this.expiring(current)) return current.servers;
    return (await this.fetch()).servers;
  }

  /** A call went live: keep its servers fresh until `release()`. */
  hold(): void {
    this.holders++;
    this.schedule();
  }

  /** A call ended. */
  release(): void {
    this.holders = Math.max(0, this.holders - 1);
    if (this.holders === 0) this.unschedule();
  }

  close(): void {
    this.closed = true;
    this.unschedule();
    this.removeAllListeners();
  }

  private expiring(set: IceServerSet): boolean {
    return set.expiresAt !== undefined && set.expiresAt - this.refreshBufferMs <= this.now();
  }

  private fetch(): Promise<IceServerSet> {
    const provider = this.input;
    if (Array.isArray(provider)) return Promise.resolve(this.current!);
    this.fetching ??= provider()
      .then((set) => {
        if (!set || !Array.isArray(set.servers)) throw new SealcallError('INVALID_ARGUMENT', 'ICE server provider returned no servers');
        this.current = set;
        this.schedule();
        return set;
      })
      .catch((cause: unknown) => {
        throw cause instanceof SealcallError ? cause : new SealcallError('ICE_SERVERS_UNAVAILABLE', 'ICE server provider failed', { cause });
      })
      .finally(() => {
        this.fetching = undefined;
      });
    return this.fetching;
  }

  private schedule(): void {
    const expiresAt = this.current?.expiresAt;
    if (this.closed || this.holders === 0 || expiresAt === undefined || this.timer) return;
    const delay = Math.max(MIN_REFRESH_MS, expiresAt - this.refreshBufferMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.fetch().then(
        (set) => this.emit('updated', set.servers),
        (error: SealcallError) => {
          this.emit('error', error);
          this.schedule(); // try again a little later; the old servers still work until expiry
        },
      );
    }, delay);
  }

  private unschedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
