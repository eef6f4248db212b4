import type { CallKitCallInfo, CallKitReceiver, CallKitReporter } from './types.js';

const nothing = (): void => {};

/**
 * The CallKit-free mode (China storefront, the user's setting, the iOS simulator): a reporter
 * with the same interface that shows nothing and approves every request at once, as the seed's
 * `NoOpCallKitCoordinator` does. The coordinator keeps working unchanged, so the app drives
 * calls from its own UI (`coordinator.startCall`, `call.accept()`, `call.hangup()`) and shows
 * incoming calls in-app.
 *
 * Like an OS it answers a start or end request with the matching action, a microtask later;
 * mute and answer requests need no action because nothing else shows the call.
 */
export class NoopCallKitReporter implements CallKitReporter {
  private receiver: CallKitReceiver | undefined;

  attach(receiver: CallKitReceiver): () => void {
    this.receiver = receiver;
    return () => {
      if (this.receiver === receiver) this.receiver = undefined;
    };
  }

  reportIncomingCall(): void {}

  reportOutgoingConnecting(): void {}

  reportOutgoingConnected(): void {}

  reportCallEnded(): void {}

  reportCallUpdated(): void {}

  requestStartCall(uuid: string, info: CallKitCallInfo): void {
    void Promise.resolve().then(() =>
      this.receiver?.performStartCall({ uuid, handle: info.handle, video: info.hasVideo, fulfill: nothing, fail: nothing }),
    );
  }

  requestAnswerCall(): void {}

  requestEndCall(uuid: string): void {
    void Promise.resolve().then(() => this.receiver?.performEndCall({ uuid, fulfill: nothing, fail: nothing }));
  }

  requestSetMuted(): void {}
}
