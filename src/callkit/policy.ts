/*
 * Whether to use CallKit at all. Apple removes CallKit apps from the China App Store (MIIT rules,
 * App Review Guideline 5), so apps there must present calls without it; SimpleX checks the
 * storefront, omi's region check adds the device region and the carrier's mobile country code
 * 460. The app reads those inputs (StoreKit's `SKStorefront.countryCode`, the locale,
 * CoreTelephony's carriers) and passes them in; this module only decides, so it runs anywhere.
 */

/** What the app knows about where it runs. Every field is optional; unknown inputs do not block CallKit. */
export interface CallKitPolicyInput {
  /** App Store storefront country: ISO 3166-1 alpha-3 (`SKStorefront.countryCode`, e.g. `'CHN'`) or alpha-2. */
  storefront?: string | undefined;
  /** Device region or locale identifier: `'CN'`, `'zh_CN'`, `'zh-Hans-CN'`, … */
  region?: string | undefined;
  /** Mobile country codes of the SIM carriers (one per SIM), e.g. `['460']`. */
  carrierMcc?: string | readonly string[] | undefined;
  /** The user's in-app setting; false turns CallKit off everywhere. Default true. */
  userEnabled?: boolean | undefined;
}

/** Why {@link decideCallKit} decided as it did. */
export type CallKitPolicyReason = 'allowed' | 'user-disabled' | 'china-storefront' | 'china-region' | 'china-carrier';

/** The decision of {@link decideCallKit}. */
export interface CallKitPolicyDecision {
  /** Use CallKit (true) or the CallKit-free mode (`NoopCallKitReporter` and in-app call UI). */
  useCallKit: boolean;
  reason: CallKitPolicyReason;
}

/** Mainland China's mobile country code. */
export const CHINA_MCC = '460';

/** Decides between CallKit and the CallKit-free mode, with the reason (for logs and settings UI). */
export function decideCallKit(input: CallKitPolicyInput = {}): CallKitPolicyDecision {
  if (input.userEnabled === false) return { useCallKit: false, reason: 'user-disabled' };
  const storefront = input.storefront?.trim().toUpperCase();
  if (storefront === 'CHN' || storefront === 'CN') return { useCallKit: false, reason: 'china-storefront' };
  if (regionOf(input.region) === 'CN') return { useCallKit: false, reason: 'china-region' };
  const mccs = typeof input.carrierMcc === 'string' ? [input.carrierMcc] : (input.carrierMcc ?? []);
  if (mccs.some((mcc) => mcc.trim() === CHINA_MCC)) return { useCallKit: false, reason: 'china-carrier' };
  return { useCallKit: true, reason: 'allowed' };
}

/** True when CallKit may be used (see {@link decideCallKit}). */
export function shouldUseCallKit(input: CallKitPolicyInput = {}): boolean {
  return decideCallKit(input).useCallKit;
}

/**
 * The region subtag of a region code or locale identifier (`'CN'`, `'zh_CN'`, `'zh-Hans-CN'`,
 * `'zh_CN@calendar=chinese'`): the last two-letter subtag after the language. Taiwan, Hong Kong
 * and Macau have their own regions and are not mainland China.
 */
function regionOf(region: string | undefined): string | undefined {
  if (!region) return undefined;
  const subtags = region.trim().split(/[@.]/)[0]!.split(/[-_]/);
  if (subtags.length === 1) return /^[a-z]{2}$/i.test(subtags[0]!) ? subtags[0]!.toUpperCase() : undefined;
  const found = subtags.slice(1).find((tag) => /^[a-z]{2}$/i.test(tag));
  return found?.toUpperCase();
}
