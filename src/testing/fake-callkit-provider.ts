import type {
  AudioRoute,
  AudioRouteOption,
  CallKitAction,
  CallKitCallInfo,
  CallKitCallUpdate,
  CallKitEndReason,
  CallKitReceiver,
  CallKitReporter,
} from '../callkit/types.js';

/** One report or request the fake OS received, in order. */
export type FakeCallKitReport =
  | { type: 'incoming'; uuid: string; info: CallKitCallInfo }
  | { type: 'connecting'; uuid: string }
  | { type: 'connected'; uuid: string }
  | { type: 'ended'; uuid: string; reason: CallKitEndReason }
  | { type: 'updated'; uuid: string; update: CallKitCallUpdate }
  | { type: 'start-requested'; uuid: string; info: CallKitCallInfo }
  | { type: 'answer-requested'; uuid: string }
  | { type: 'end-requested'; uuid: string }
  | { type: 'mute-requested'; uuid: string; muted: boolean }
  | { type: 'route-requested'; uuid: string; route: string };

/** The kinds of action the fake OS performs. */
export type FakeCallKitActionKind = 'start' | 'answer' | 'end' | 'set-muted' | 'set-held';

/** One action the fake OS performed, and how the receiver settled it. */
export interface FakeCallKitActionRecord {
  kind: FakeCallKitActionKind;
  uuid: string;
  /** `'user'`: fired by the test (the user in the system UI); `'echo'`: the OS answering a request. */
  origin: 'user' | 'echo';
  muted?: boolean;
  onHold?: boolean;
  outcome: 'pending' | 'fulfilled' | 'failed';
  /** Settlements after the first; anything but 0 is a bug in the receiver. */
  extraSettlements: number;
  /** Resolves with the outcome once settled. */
  settled: Promise<'fulfilled' | 'failed'>;
}

/** A call as the fake OS shows it. */
export interface FakeOsCall {
  uuid: string;
  direction: 'incoming' | 'outgoing';
  info: CallKitCallInfo;
  status: 'ringing' | 'dialing' | 'connecting' | 'active' | 'ended';
  muted: boolean;
  held: boolean;
  /** Why it ended: a reported reason, `'end-action'` or `'reset'`. */
  endedBy?: CallKitEndReason | 'end-action' | 'reset' | 'failed-action';
}

/** Options of {@link FakeCallKitProvider}. */
export interface FakeCallKitProviderOptions {
  /** Whether the provider starts ready. Default true; otherwise call `markReady()`. */
  ready?: boolean;
  /** Refuses an incoming report (Do Not Disturb, block list) by returning the error to reject with. */
  refuseIncoming?: (uuid: string, info: CallKitCallInfo) => Error | undefined;
  /** The audio routes offered. Default: the earpiece (selected) and the speaker. */
  audioRoutes?: AudioRouteOption[];
  /** Refuses a route change with the error returned, or never answers it (`'no-answer'`). */
  refuseAudioRoute?: (route: AudioRouteOption) => Error | 'no-answer' | undefined;
}

type ActionMatch = Partial<Pick<FakeCallKitActionRecord, 'kind' | 'uuid' | 'origin' | 'muted' | 'onHold'>>;

type Match = Partial<Record<'type' | 'uuid' | 'reason' | 'muted', unknown>> | ((report: FakeCallKitReport) => boolean);

/**
 * A CallKit stand-in for tests: records every report and request, keeps the call list the OS
 * would show, and lets a test fire the actions a user performs in the system UI (answer, end,
 * mute, hold, start from Recents, provider reset). Like iOS, it answers the `request…` methods
 * by performing the matching action a moment later, refuses a second incoming call with a UUID
 * it already shows, and records how every action was settled so a test can check that none was
 * left pending or settled twice. Like CallKit it manages the audio session, but only the test
 * activates it ({@link activateAudioSession}): until then (or the coordinator's
 * `audioSessionTimeoutMs` after an answer) calls send no audio. Audio routes are offered,
 * changed on request and by the test ({@link changeAudioRoute}). Not CallKit.
 */
export class FakeCallKitProvider implements CallKitReporter {
  /** CallKit activates the call audio session: calls' audio waits for {@link activateAudioSession}. */
  readonly managesAudioSession = true;
  /** Every report and request, in order. */
  readonly reports: FakeCallKitReport[] = [];
  /** Every action performed, in order. */
  readonly actions: FakeCallKitActionRecord[] = [];
  /** The calls the OS shows, by UUID (ended ones stay, with `status: 'ended'`). */
  readonly calls = new Map<string, FakeOsCall>();
  /** Whether the call audio session is active. */
  audioSessionActive = false;
  /** The audio routes offered, the one in use `selected`. */
  audioRoutes: AudioRouteOption[];
  private receiver: CallKitReceiver | undefined;
  private pendingReady: { promise: Promise<void>; resolve: () => void } | undefined;
  private waiters: { match: Match; resolve: (report: FakeCallKitReport) => void }[] = [];
  private actionWaiters: { match: ActionMatch; resolve: (action: FakeCallKitActionRecord) => void }[] = [];

  constructor(private readonly options: FakeCallKitProviderOptions = {}) {
    this.audioRoutes = (options.audioRoutes ?? DEFAULT_ROUTES).map((route) => ({ ...route }));
    if (options.ready === false) this.unready();
  }

  /** Makes the provider not ready until {@link markReady} (e.g. to test the readiness timeout). */
  unready(): void {
    if (this.pendingReady) return;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.pendingReady = { promise, resolve };
  }

  /** Makes the provider ready. */
  markReady(): void {
    this.pendingReady?.resolve();
    this.pendingReady = undefined;
  }

  /** Whether a receiver is attached. */
  get attached(): boolean {
    return this.receiver !== undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // CallKitReporter

  ready(): Promise<void> | undefined {
    return this.pendingReady?.promise;
  }

  attach(receiver: CallKitReceiver): () => void {
    this.receiver = receiver;
    return () => {
      if (this.receiver === receiver) this.receiver = undefined;
    };
  }

  reportIncomingCall(uuid: string, info: CallKitCallInfo): Promise<void> {
    this.record({ type: 'incoming', uuid, info });
    const refused = this.options.refuseIncoming?.(uuid, info);
    if (refused) return Promise.reject(refused);
    if (this.isShown(uuid)) return Promise.reject(new Error('CallUUIDAlreadyExists'));
    this.calls.set(uuid, { uuid, direction: 'incoming', info, status: 'ringing', muted: false, held: false });
    return Promise.resolve();
  }

  reportOutgoingConnecting(uuid: string): void {
    this.record({ type: 'connecting', uuid });
    this.setStatus(uuid, 'connecting');
  }

  reportOutgoingConnected(uuid: string): void {
    this.record({ type: 'connected', uuid });
    this.setStatus(uuid, 'active');
  }

  reportCallEnded(uuid: string, reason: CallKitEndReason): void {
    this.record({ type: 'ended', uuid, reason });
    this.endCall(uuid, reason);
  }

  reportCallUpdated(uuid: string, update: CallKitCallUpdate): void {
    this.record({ type: 'updated', uuid, update });
    const call = this.calls.get(uuid);
    if (call) call.info = { ...call.info, ...update };
  }

  requestStartCall(uuid: string, info: CallKitCallInfo): void {
    this.record({ type: 'start-requested', uuid, info });
    this.calls.set(uuid, { uuid, direction: 'outgoing', info, status: 'dialing', muted: false, held: false });
    this.later(() => this.perform('start', uuid, 'echo', { handle: info.handle, video: info.hasVideo }));
  }

  requestAnswerCall(uuid: string): void {
    this.record({ type: 'answer-requested', uuid });
    this.later(() => this.perform('answer', uuid, 'echo'));
  }

  requestEndCall(uuid: string): void {
    this.record({ type: 'end-requested', uuid });
    this.later(() => this.perform('end', uuid, 'echo'));
  }

  requestSetMuted(uuid: string, muted: boolean): void {
    this.record({ type: 'mute-requested', uuid, muted });
    this.later(() => this.perform('set-muted', uuid, 'echo', { muted }));
  }

  /** A copy of {@link audioRoutes}. */
  listAudioRoutes(): Promise<AudioRouteOption[]> {
    return Promise.resolve(this.audioRoutes.map((route) => ({ ...route })));
  }

  /** Takes the route (announcing it a moment later), unless `refuseAudioRoute` says otherwise. */
  routeAudio(uuid: string, route: AudioRouteOption): Promise<void> {
    this.record({ type: 'route-requested', uuid, route: route.name });
    const refused = this.options.refuseAudioRoute?.(route);
    if (refused === 'no-answer') return new Promise(() => {});
    if (refused) return Promise.reject(refused);
    this.later(() => this.changeAudioRoute({ kind: route.kind, name: route.name }));
    return Promise.resolve();
  }

  // ---------------------------------------------------------------------------------------------
  // The user, in the system UI.

  /** The user answers (lock screen, banner). Resolves with the action's outcome. */
  answer(uuid: string): Promise<'fulfilled' | 'failed'> {
    return this.perform('answer', uuid, 'user');
  }

  /** The user ends or declines the call. */
  end(uuid: string): Promise<'fulfilled' | 'failed'> {
    return this.perform('end', uuid, 'user');
  }

  /** The user taps mute. */
  setMuted(uuid: string, muted: boolean): Promise<'fulfilled' | 'failed'> {
    return this.perform('set-muted', uuid, 'user', { muted });
  }

  /** The user holds the call (or another call takes over) or resumes it. */
  setHeld(uuid: string, onHold: boolean): Promise<'fulfilled' | 'failed'> {
    return this.perform('set-held', uuid, 'user', { onHold });
  }

  /** The user starts a call from Recents or Siri. */
  start(uuid: string, handle: string, video = false): Promise<'fulfilled' | 'failed'> {
    this.calls.set(uuid, { uuid, direction: 'outgoing', info: { handle, displayName: handle, hasVideo: video }, status: 'dialing', muted: false, held: false });
    return this.perform('start', uuid, 'user', { handle, video });
  }

  /** The OS resets the provider: every call is gone. */
  reset(): void {
    for (const call of this.calls.values()) if (call.status !== 'ended') Object.assign(call, { status: 'ended', endedBy: 'reset' });
    this.receiver?.providerDidReset();
  }

  /** The OS activates the call audio session. */
  activateAudioSession(): void {
    this.audioSessionActive = true;
    this.receiver?.didActivateAudioSession();
  }

  /** The OS deactivates the call audio session. */
  deactivateAudioSession(): void {
    this.audioSessionActive = false;
    this.receiver?.didDeactivateAudioSession();
  }

  /** Call audio moves to `route` (a headset plugged in, the user's choice); a route not offered yet is added. */
  changeAudioRoute(route: AudioRoute): void {
    const name = route.name ?? route.kind;
    if (!this.audioRoutes.some((r) => r.name === name)) this.audioRoutes.push({ kind: route.kind, name, selected: false });
    for (const r of this.audioRoutes) r.selected = r.name === name;
    this.receiver?.didChangeAudioRoute?.(route);
  }

  // ---------------------------------------------------------------------------------------------
  // Inspection

  /** Resolves with the first report matching `match` (fields compared shallowly, or a predicate), past or future. */
  report(match: Match): Promise<FakeCallKitReport> {
    const found = this.reports.find((r) => matches(r, match));
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** Resolves with the first action matching `match` (fields compared shallowly), past or future. */
  action(match: ActionMatch): Promise<FakeCallKitActionRecord> {
    const found = this.actions.find((a) => matchesAction(a, match));
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.actionWaiters.push({ match, resolve }));
  }

  /** The reports about `uuid`, in order. */
  reportsFor(uuid: string): FakeCallKitReport[] {
    return this.reports.filter((r) => r.uuid === uuid);
  }

  /** Actions nobody settled yet. */
  unsettled(): FakeCallKitActionRecord[] {
    return this.actions.filter((a) => a.outcome === 'pending');
  }

  /** Actions settled more than once. */
  settledTwice(): FakeCallKitActionRecord[] {
    return this.actions.filter((a) => a.extraSettlements > 0);
  }

  /** The calls the OS shows that have not ended. */
  liveCalls(): FakeOsCall[] {
    return [...this.calls.values()].filter((c) => c.status !== 'ended');
  }

  // ---------------------------------------------------------------------------------------------

  private perform(
    kind: FakeCallKitActionKind,
    uuid: string,
    origin: 'user' | 'echo',
    extra: { muted?: boolean; onHold?: boolean; handle?: string; video?: boolean } = {},
  ): Promise<'fulfilled' | 'failed'> {
    let resolve!: (outcome: 'fulfilled' | 'failed') => void;
    const settled = new Promise<'fulfilled' | 'failed'>((r) => (resolve = r));
    const record: FakeCallKitActionRecord = {
      kind,
      uuid,
      origin,
      ...(extra.muted !== undefined ? { muted: extra.muted } : {}),
      ...(extra.onHold !== undefined ? { onHold: extra.onHold } : {}),
      outcome: 'pending',
      extraSettlements: 0,
      settled,
    };
    this.actions.push(record);
    const waiting = this.actionWaiters.filter((w) => matchesAction(record, w.match));
    this.actionWaiters = this.actionWaiters.filter((w) => !matchesAction(record, w.match));
    for (const w of waiting) w.resolve(record);
    const settle = (outcome: 'fulfilled' | 'failed') => {
      if (record.outcome !== 'pending') {
        record.extraSettlements++;
        return;
      }
      record.outcome = outcome;
      this.applyOutcome(record, outcome);
      resolve(outcome);
    };
    const action: CallKitAction = { uuid, fulfill: () => settle('fulfilled'), fail: () => settle('failed') };
    const receiver = this.receiver;
    if (!receiver) {
      settle('failed');
      return settled;
    }
    switch (kind) {
      case 'start':
        receiver.performStartCall({ ...action, handle: extra.handle ?? '', ...(extra.video !== undefined ? { video: extra.video } : {}) });
        break;
      case 'answer':
        receiver.performAnswerCall(action);
        break;
      case 'end':
        receiver.performEndCall(action);
        break;
      case 'set-muted':
        receiver.performSetMuted({ ...action, muted: extra.muted ?? false });
        break;
      case 'set-held':
        receiver.performSetHeld({ ...action, onHold: extra.onHold ?? false });
        break;
    }
    return settled;
  }

  /** What CallKit does with the call when an action is settled. */
  private applyOutcome(record: FakeCallKitActionRecord, outcome: 'fulfilled' | 'failed'): void {
    const call = this.calls.get(record.uuid);
    if (!call || call.status === 'ended') return;
    if (outcome === 'failed') {
      // A failed start or answer ends the call in the system UI.
      if (record.kind === 'start' || record.kind === 'answer') Object.assign(call, { status: 'ended', endedBy: 'failed-action' });
      return;
    }
    if (record.kind === 'answer') call.status = 'active';
    else if (record.kind === 'end') Object.assign(call, { status: 'ended', endedBy: 'end-action' });
    else if (record.kind === 'set-muted') call.muted = record.muted ?? false;
    else if (record.kind === 'set-held') call.held = record.onHold ?? false;
  }

  private record(report: FakeCallKitReport): void {
    this.reports.push(report);
    const ready = this.waiters.filter((w) => matches(report, w.match));
    this.waiters = this.waiters.filter((w) => !matches(report, w.match));
    for (const w of ready) w.resolve(report);
  }

  private isShown(uuid: string): boolean {
    const call = this.calls.get(uuid);
    return call !== undefined && call.status !== 'ended';
  }

  private setStatus(uuid: string, status: FakeOsCall['status']): void {
    const call = this.calls.get(uuid);
    if (call && call.status !== 'ended') call.status = status;
  }

  private endCall(uuid: string, reason: CallKitEndReason): void {
    const call = this.calls.get(uuid);
    if (call && call.status !== 'ended') Object.assign(call, { status: 'ended', endedBy: reason });
  }

  /** The OS performs requested transactions asynchronously. */
  private later(fn: () => void): void {
    // A promise job rather than a timer, so tests with fake timers still see the echo.
    void Promise.resolve().then(fn);
  }
}

const DEFAULT_ROUTES: readonly AudioRouteOption[] = [
  { kind: 'earpiece', name: 'Earpiece', selected: true },
  { kind: 'speaker', name: 'Speaker', selected: false },
];

function matches(report: FakeCallKitReport, match: Match): boolean {
  if (typeof match === 'function') return match(report);
  return Object.entries(match).every(([key, value]) => (report as Record<string, unknown>)[key] === value);
}

function matchesAction(action: FakeCallKitActionRecord, match: ActionMatch): boolean {
  return Object.entries(match).every(([key, value]) => (action as unknown as Record<string, unknown>)[key] === value);
}
