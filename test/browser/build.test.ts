/**
 * The browser build and the frame worker as shipped: self-contained files a page can load from
 * any static server, plus the package.json entries that lead apps and bundlers to them. Needs
 * dist/ (`npm test` and `npm run test:browser` build it first).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  browser?: Record<string, string>;
  exports: Record<string, unknown>;
  scripts: Record<string, string>;
};

function read(file: string): string {
  const path = join(ROOT, file);
  if (!existsSync(path)) throw new Error(`${file} is missing: run \`npx tsup\` first`);
  return readFileSync(path, 'utf8');
}

/** Static and dynamic import specifiers (not `require`: bundled CommonJS keeps guarded ones). */
function imports(source: string): string[] {
  const patterns = [/\bfrom\s*["']([^"']+)["']/g, /\bimport\s*["']([^"']+)["']/g, /\bimport\s*\(\s*["']([^"']+)["']/g];
  return patterns.flatMap((p) => [...source.matchAll(p)].map((m) => m[1]!));
}

describe('the browser build', () => {
  for (const file of ['dist/browser/sealcall.js', 'dist/browser/frame-worker.js', 'dist/frame-worker.js']) {
    it(`${file} imports nothing: every dependency is bundled`, () => {
      // Strings that merely look like imports (`from "write before connect"` in an error text) are
      // not module specifiers; real ones would be bare names, relative paths or node: URLs.
      const real = imports(read(file)).filter((s) => /^(node:|\.{0,2}\/|[@a-z][\w@/.-]*$)/.test(s) && !s.includes(' '));
      expect(real).toEqual([]);
    });
  }

  it('uses simple-peer\'s prebuilt browser file, which brings its own Buffer and process', () => {
    const source = read('dist/browser/sealcall.js');
    expect(source).toContain('simplepeer.min.js');
    expect(source).not.toMatch(/node_modules\/simple-peer\/index\.js/);
  });

  it('looks for the frame worker next to itself (ESM builds), and cannot in CommonJS', () => {
    // Written the way bundlers recognise a worker entry, so they emit it as a chunk of its own.
    const pattern = 'new Worker(new URL("./frame-worker.js", import.meta.url)';
    expect(read('dist/browser/sealcall.js')).toContain(pattern);
    expect(['dist/index.js', ...chunksOf('dist/index.js')].map(read).join('\n')).toContain(pattern);
    expect(read('dist/index.cjs')).not.toContain('import.meta');
  });

  it('is exported for apps and bundlers', () => {
    expect(pkg.exports['./browser']).toEqual({ types: './dist/browser/sealcall.d.ts', default: './dist/browser/sealcall.js' });
    expect(pkg.exports['./frame-worker']).toBe('./dist/frame-worker.js');
    expect(pkg.browser).toEqual({ 'simple-peer': 'simple-peer/simplepeer.min.js' });
    for (const file of ['dist/browser/sealcall.d.ts', 'dist/browser/sealcall.js', 'dist/frame-worker.js']) read(file);
    expect(pkg.scripts['test:browser']).toContain('scripts/test.mjs test/browser');
  });
});

/** The chunks an ESM file imports (the core build is split). */
function chunksOf(file: string): string[] {
  return imports(read(file))
    .filter((s) => /^\.\/chunk-[\w-]+\.js$/.test(s))
    .map((s) => join(dirname(file), s));
}
