/**
 * Checks the built package as an app would consume it. `npm test` builds dist/ before vitest
 * runs; when running this file alone, run `npx tsup --silent` first.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');

interface PackageJson {
  name: string;
  sideEffects?: unknown;
  engines?: { node?: string };
  main?: string;
  module?: string;
  types?: string;
  exports?: Record<string, unknown>;
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;

function requireBuild(): void {
  for (const file of ['index.js', 'index.cjs', 'testing.js', 'testing.cjs']) {
    if (!existsSync(join(DIST, file))) {
      throw new Error(`dist/${file} is missing: run \`npx tsup --silent\` (npm test builds it first)`);
    }
  }
}

// ---------------------------------------------------------------------------------------------

describe('package.json', () => {
  it('is named sealcall, side-effect free and requires Node >= 20', () => {
    expect(pkg.name).toBe('sealcall');
    expect(pkg.sideEffects).toBe(false);
    expect(pkg.engines?.node).toBe('>=20');
  });

  /** Every file path under an exports condition (nested conditions included). */
  function targets(entry: unknown): string[] {
    if (typeof entry === 'string') return [entry];
    if (entry && typeof entry === 'object') return Object.values(entry).flatMap(targets);
    return [];
  }

  for (const subpath of ['.', './testing', './callkit', './relay']) {
    for (const condition of ['import', 'require'] as const) {
      it(`exports["${subpath}"].${condition} points at files that exist`, () => {
        requireBuild();
        const entry = (pkg.exports?.[subpath] as Record<string, unknown> | undefined)?.[condition];
        expect(entry, `exports["${subpath}"].${condition}`).toBeDefined();
        const files = targets(entry);
        expect(files.length).toBeGreaterThan(0);
        // A runtime file is present for the condition, not only types.
        expect(files.some((f) => (condition === 'import' ? /\.m?js$/ : /\.c?js$/).test(f))).toBe(true);
        for (const file of files) {
          expect(file.startsWith('./'), file).toBe(true);
          expect(existsSync(join(ROOT, file)), `${file} exists`).toBe(true);
        }
      });
    }
  }

  it('main, module and types point at files that exist', () => {
    requireBuild();
    for (const file of [pkg.main, pkg.module, pkg.types]) {
      expect(file).toBeTypeOf('string');
      expect(existsSync(join(ROOT, file!)), `${file} exists`).toBe(true);
    }
  });
});

// ---------------------------------------------------------------------------------------------

/** Imports of Node built-ins in a bundle: any `node:` specifier, or a bare core module name. */
const CORE = ['fs', 'path', 'crypto', 'net', 'tls', 'http', 'https', 'os', 'child_process', 'worker_threads'];
const SPECIFIER = String.raw`\s*['"\x60]((?:node:)?[^'"\x60]+)['"\x60]`;
const IMPORT_PATTERNS = [
  new RegExp(String.raw`\bfrom` + SPECIFIER, 'g'), // import … from 'x', export … from 'x'
  new RegExp(String.raw`\bimport` + SPECIFIER, 'g'), // import 'x'
  new RegExp(String.raw`\bimport\s*\(` + SPECIFIER, 'g'), // import('x')
  new RegExp(String.raw`\brequire\s*\(` + SPECIFIER, 'g'), // require('x')
];

function specifiers(source: string): string[] {
  return IMPORT_PATTERNS.flatMap((pattern) => [...source.matchAll(pattern)].map((m) => m[1]!));
}

function nodeBuiltins(source: string): string[] {
  return specifiers(source).filter((spec) => {
    if (spec.startsWith('node:')) return true;
    const base = spec.split('/')[0]!;
    return CORE.includes(base);
  });
}

/** The entry files plus every chunk they reference, transitively. */
function bundleFiles(entries: string[]): string[] {
  const seen = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(join(DIST, file), 'utf8');
    for (const spec of specifiers(source)) {
      const match = /^\.\/(chunk-[\w-]+\.c?js)$/.exec(spec);
      if (match) {
        expect(existsSync(join(DIST, match[1]!)), `${file} references ${match[1]} which exists`).toBe(true);
        queue.push(match[1]!);
      }
    }
  }
  return [...seen];
}

describe('bundles are platform neutral', () => {
  it('the scanner itself finds Node imports in every syntax', () => {
    expect(nodeBuiltins(`import fs from 'fs';`)).toEqual(['fs']);
    expect(nodeBuiltins(`import { readFile } from "node:fs/promises";`)).toEqual(['node:fs/promises']);
    expect(nodeBuiltins(`export * from 'path';`)).toEqual(['path']);
    expect(nodeBuiltins(`import 'os';`)).toEqual(['os']);
    expect(nodeBuiltins(`const c = await import('crypto');`)).toEqual(['crypto']);
    expect(nodeBuiltins(`var w = require( "worker_threads" );`)).toEqual(['worker_threads']);
    expect(nodeBuiltins(`require('child_process')`)).toEqual(['child_process']);
    expect(nodeBuiltins(`require('node:buffer')`)).toEqual(['node:buffer']);
    expect(nodeBuiltins(`import x from 'net'; import y from 'tls'; import z from 'http';`)).toEqual([
      'net',
      'tls',
      'http',
    ]);
    // Not built-ins: packages and relative chunks.
    expect(nodeBuiltins(`import s from 'libsodium-wrappers'; import './chunk-AB.js'; require('msgpackr')`)).toEqual(
      [],
    );
    expect(nodeBuiltins(`import p from 'pathe'; import c from 'crypto-js';`)).toEqual([]);
  });

  it('the core, testing and callkit bundles and their chunks import no Node built-ins (the relay may)', () => {
    requireBuild();
    const entries = ['index.js', 'index.cjs', 'testing.js', 'testing.cjs', 'callkit.js', 'callkit.cjs'];
    const files = bundleFiles(entries);
    expect(files).toEqual(expect.arrayContaining(entries));
    for (const file of files) {
      const source = readFileSync(join(DIST, file), 'utf8');
      expect(nodeBuiltins(source), `Node built-ins imported by dist/${file}`).toEqual([]);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('consuming the package from node_modules', () => {
  let tmp: string;

  beforeAll(() => {
    requireBuild();
    tmp = mkdtempSync(join(tmpdir(), 'sealcall-package-'));
    mkdirSync(join(tmp, 'node_modules'));
    symlinkSync(ROOT, join(tmp, 'node_modules', 'sealcall'), 'dir');
  });

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** Runs `code` in a fresh node process inside the temporary app and parses its JSON output. */
  function runNode(args: string[], code: string): Record<string, unknown> {
    const result = spawnSync(process.execPath, [...args, '-e', code], {
      cwd: tmp,
      encoding: 'utf8',
      timeout: 15_000,
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect(result.error, String(result.error)).toBeUndefined();
    expect(result.status, `node exited with ${result.status}:\n${result.stderr}`).toBe(0);
    const lines = result.stdout.trim().split('\n');
    return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
  }

  // The same checks in both module systems, after `core` and `testing` have been loaded.
  const probe = `
    await core.ready();
    const identity = core.generateIdentity();
    let sameErrorClass = false;
    try { new testing.MemoryNetwork({ lossRate: 1.5 }); }
    catch (error) { sameErrorClass = error instanceof core.SealcallError && error.code === 'INVALID_ARGUMENT'; }
    const network = new testing.MemoryNetwork({ seed: 1 });
    const alice = network.endpoint('alice');
    const received = [];
    network.endpoint('bob').onMessage((from, payload) => received.push([from, Array.from(payload)]));
    await alice.send('bob', new Uint8Array([1, 2, 3]));
    await network.settled();
    network.close();
    console.log(JSON.stringify({
      publicKeyIsBytes: identity.publicKey instanceof Uint8Array,
      publicKeyLength: identity.publicKey.length,
      memoryNetwork: typeof testing.MemoryNetwork,
      textPrefix: core.TEXT_PREFIX,
      sameErrorClass,
      received,
    }));`;

  const expected = {
    publicKeyIsBytes: true,
    publicKeyLength: 32,
    memoryNetwork: 'function',
    textPrefix: 'sealcall:',
    sameErrorClass: true,
    received: [['alice', [1, 2, 3]]],
  };

  it('works through require() (CommonJS)', () => {
    const code = `
      const resolved = require.resolve('sealcall');
      if (!resolved.endsWith('index.cjs')) throw new Error('require resolved ' + resolved);
      const core = require('sealcall');
      const testing = require('sealcall/testing');
      (async () => { ${probe} })().catch((error) => { console.error(error); process.exit(1); });`;
    expect(runNode([], code)).toEqual(expected);
  });

  it('works through import (ESM)', () => {
    const code = `
      import * as core from 'sealcall';
      import * as testing from 'sealcall/testing';
      const resolved = import.meta.resolve('sealcall');
      if (!resolved.endsWith('/index.js')) throw new Error('import resolved ' + resolved);
      ${probe}`;
    expect(runNode(['--input-type=module'], code)).toEqual(expected);
  });
});

describe('npm pack', () => {
  it('builds dist/ first, from a copy of the repository without one, and ships it with the docs and examples', { timeout: 120_000 }, () => {
    const copy = mkdtempSync(join(tmpdir(), 'sealcall-pack-'));
    try {
      // The repository's files as a clone has them (tracked and new, never ignored ones like dist/).
      const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
      expect(listed.status).toBe(0);
      for (const file of listed.stdout.split('\0').filter(Boolean)) {
        if (!existsSync(join(ROOT, file))) continue; // deleted in the work tree
        mkdirSync(dirname(join(copy, file)), { recursive: true });
        copyFileSync(join(ROOT, file), join(copy, file));
      }
      symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
      expect(existsSync(join(copy, 'dist'))).toBe(false);

      const packed = spawnSync('npm', ['pack', '--json', '--pack-destination', copy], { cwd: copy, encoding: 'utf8', timeout: 110_000 });
      expect(packed.status, packed.stderr).toBe(0);
      const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { files: { path: string }[] }[];
      const files = info!.files.map((f) => f.path).sort();
      for (const entry of ['index.js', 'index.cjs', 'index.d.ts', 'index.d.cts', 'testing.js', 'callkit.js', 'relay.js', 'cli.js', 'frame-worker.js', 'browser/sealcall.js', 'browser/sealcall.d.ts']) {
        expect(files, `dist/${entry}`).toContain(`dist/${entry}`);
      }
      expect(files).toContain('README.md');
      expect(files).toContain('package.json');
      expect(files).toContain('examples/browser/app.js');
      // Only the build, the docs and the examples: no sources, tests or tooling.
      expect(files.filter((f) => !/^(dist\/|examples\/|docs\/|README\.md$|LICENSE$|package\.json$)/.test(f))).toEqual([]);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
