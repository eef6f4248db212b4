/**
 * The React Native example (examples/react-native-callkit/) compiles as an app would: its
 * TypeScript against the real react-native-callkeep, react-native-voip-push-notification and
 * react-native-webrtc, its native parts against what those versions declare.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const EXAMPLE = join(ROOT, 'examples/react-native-callkit');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

describe('the React Native example', () => {
  it('type-checks against the real React Native packages', { timeout: 60_000 }, () => {
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', EXAMPLE, '--listFiles'], { cwd: ROOT, encoding: 'utf8' });
    expect(result.status, result.stdout + result.stderr).toBe(0);
    const files = result.stdout.split('\n');
    for (const declarations of [
      'node_modules/react-native-callkeep/index.d.ts',
      'node_modules/react-native-voip-push-notification/index.d.ts',
      'node_modules/react-native-webrtc/lib/typescript/index.d.ts',
    ]) {
      expect(files).toContain(join(ROOT, declarations));
    }
    // Only react-native itself is stood in for.
    expect(files.filter((file) => file.startsWith(EXAMPLE))).toEqual([join(EXAMPLE, 'App.ts'), join(EXAMPLE, 'react-native-stand-in.d.ts')]);
  });

  it("sends AppDelegate's messages to selectors the installed native headers declare", () => {
    const appDelegate = read('examples/react-native-callkit/ios/AppDelegate.mm');
    const headers = {
      RNCallKeep: 'node_modules/react-native-callkeep/ios/RNCallKeep/RNCallKeep.h',
      RNVoipPushNotificationManager: 'node_modules/react-native-voip-push-notification/ios/RNVoipPushNotification/RNVoipPushNotificationManager.h',
    };
    const used = new Set<string>();
    for (const [receiver, header] of Object.entries(headers)) {
      const declared = classSelectors(read(header));
      for (const selector of messageSelectors(appDelegate, receiver)) {
        expect(declared, `${receiver} ${selector}`).toContain(selector);
        used.add(`${receiver} ${selector}`);
      }
    }
    expect([...used].sort()).toEqual([
      'RNCallKeep endCallWithUUID:reason:',
      'RNCallKeep reportNewIncomingCall:handle:handleType:hasVideo:localizedCallerName:supportsHolding:supportsDTMF:supportsGrouping:supportsUngrouping:fromPushKit:payload:withCompletionHandler:',
      'RNCallKeep setup:',
      'RNVoipPushNotificationManager addCompletionHandler:completionHandler:',
      'RNVoipPushNotificationManager didReceiveIncomingPushWithPayload:forType:',
      'RNVoipPushNotificationManager didUpdatePushCredentials:forType:',
      'RNVoipPushNotificationManager voipRegistration',
    ]);
  });

  it("names callkeep's ConnectionService, with a microphone foreground service type", () => {
    const manifest = read('examples/react-native-callkit/android/AndroidManifest.additions.xml');
    const services = [...manifest.matchAll(/<service\s[^>]*android:name="([\w.]+)"[^>]*>/g)];
    expect(services.map((s) => s[1])).toEqual(['io.wazo.callkeep.VoiceConnectionService']);
    for (const [, name] of services) {
      expect(existsSync(join(ROOT, 'node_modules/react-native-callkeep/android/src/main/java', `${name!.replaceAll('.', '/')}.java`)), name).toBe(true);
    }
    expect(services[0]![0]).toContain('android:foregroundServiceType="microphone"');
    expect(manifest).toContain('android.permission.FOREGROUND_SERVICE_MICROPHONE');
  });
});

/** Objective-C source without comments and with string literals emptied. */
function code(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '').replace(/@?"(?:[^"\\\n]|\\.)*"/g, '""');
}

/** `text` without its bracketed, parenthesised and braced parts (argument types, casts, blocks). */
function topLevel(text: string): string {
  let depth = 0;
  let out = '';
  for (const char of text) {
    if ('([{'.includes(char)) depth++;
    if (depth === 0) out += char;
    if (')]}'.includes(char)) depth--;
  }
  return out;
}

/** A selector from a method declaration's or message's top-level text: its keywords, or its one name. */
function selectorOf(text: string): string {
  const keywords = [...text.matchAll(/(\w+)\s*:/g)].map((m) => `${m[1]}:`);
  return keywords.length > 0 ? keywords.join('') : (/\w+/.exec(text)?.[0] ?? '');
}

/** The class-method selectors an Objective-C header declares. */
function classSelectors(header: string): string[] {
  return [...code(header).matchAll(/^\s*\+\s*\([^;]*?;/gm)].map((m) => selectorOf(topLevel(m[0].replace(/^\s*\+\s*/, ''))));
}

/** The selectors of every message sent to `receiver` in `source`. */
function messageSelectors(source: string, receiver: string): string[] {
  const text = code(source);
  const selectors: string[] = [];
  for (const match of text.matchAll(new RegExp(`\\[${receiver}\\s`, 'g'))) {
    let depth = 0;
    let end = match.index;
    do {
      const char = text[end++]!;
      if ('([{'.includes(char)) depth++;
      if (')]}'.includes(char)) depth--;
    } while (depth > 0 && end < text.length);
    selectors.push(selectorOf(topLevel(text.slice(match.index + match[0].length, end - 1))));
  }
  return selectors;
}
