/**
 * Ends a Node process that made calls with `@roamhq/wrtc`, with `code` (default
 * `process.exitCode`, else 0), once stdout and stderr have flushed. Call it last, after
 * `client.close()` and after stopping your own tracks.
 *
 * Why: `@roamhq/wrtc` 0.10 crashes (SIGSEGV, exit code 139) when a Node process ends by
 * running out of work while an audio source it made (`RTCAudioSource`, or a `getUserMedia`
 * track's) is still in memory. Node's environment teardown then runs the object's native
 * finalizer, which releases wrtc's peer connection factory through a N-API reference that
 * teardown has already freed (`napi_reference_unref` inside
 * `PeerConnectionFactory::Release`, from `~RTCAudioTrackSource`). `process.exit()` skips that
 * teardown, so the process ends with its own code. Browsers need nothing of the kind.
 */
export async function exitNodeProcess(code?: number): Promise<never> {
  const exitCode = code ?? (typeof process.exitCode === 'number' ? process.exitCode : 0);
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((resolve) => stream.write('', () => resolve()))));
  process.exit(exitCode);
}
