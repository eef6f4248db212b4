/**
 * The browser build (`sealcall/browser`, `dist/browser/sealcall.js`): the whole public API with
 * every dependency bundled, for pages that load modules straight from a server without a
 * bundler. The frame worker (`dist/browser/frame-worker.js`) sits next to it and is found there by
 * default. Adds the frame-protector factory for apps that wire frame encryption themselves.
 *
 * @packageDocumentation
 */
export * from './index.js';
export type { FrameProtector, FrameTransformApi } from './session/types.js';
export { createFrameProtector, detectFrameTransformApi, type FrameProtectorOptions } from './session/frame-protector.js';
export type { FrameProtectorHooks } from './session/worker-frame-protector.js';
