import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Every relative link in the repository's Markdown (and every `.md` file named in the TSDoc of
 * `src/`, which ships in the .d.ts files) must point to a file that exists; a link into a Markdown
 * file with `#anchor` must name one of its headings. Offline, and independent of the generated
 * `docs/api/`.
 */

const ROOT = resolve(import.meta.dirname, '..');

/** Folders never searched: dependencies, builds, and the generated API reference. */
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'coverage', '.git', join('docs', 'api')]);

function walk(dir: string, keep: (path: string) => boolean): string[] {
  if (!existsSync(join(ROOT, dir))) return [];
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name) && !SKIPPED_DIRS.has(path)) out.push(...walk(path, keep));
    } else if (keep(path)) {
      out.push(path);
    }
  }
  return out.sort();
}

/** The Markdown files whose links are checked, relative to the repository root. */
function markdownFiles(): string[] {
  const top = ['README.md', 'RELIABILITY.md', 'BENCHMARKS.md', join('test', 'vectors', 'README.md')].filter((f) => existsSync(join(ROOT, f)));
  return [
    ...top,
    ...walk('docs', (p) => p.endsWith('.md')),
    ...walk('examples', (p) => p.split(sep).at(-1) === 'README.md'),
  ];
}

/** One link found in a file. */
interface Link {
  line: number;
  text: string;
  target: string;
}

/** Blanks out fenced code blocks, keeping offsets and lines. */
function withoutFences(markdown: string): string {
  const lines = markdown.split('\n');
  let fence: string | undefined;
  const kept = lines.map((line) => {
    const opener = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (opener && opener[0] === fence[0] && opener.length >= fence.length && line.trim() === opener) fence = undefined;
      return ' '.repeat(line.length);
    }
    if (opener) {
      fence = opener;
      return ' '.repeat(line.length);
    }
    return line;
  });
  return kept.join('\n');
}

/** Blanks out what is not prose (fenced code blocks, inline code), keeping offsets and lines. */
function proseOnly(markdown: string): string {
  // Inline code spans: a run of backticks up to the same run.
  return withoutFences(markdown).replace(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g, (m) => m.replace(/[^\n]/g, ' '));
}

/** Inline links and images, reference definitions, and HTML `href`/`src` attributes. */
export function extractLinks(markdown: string): Link[] {
  const prose = proseOnly(markdown);
  const lineOf = (index: number) => prose.slice(0, index).split('\n').length;
  const links: Link[] = [];
  const inline = /!?\[((?:[^[\]\n]|\[[^\]\n]*\])*)\]\(\s*(<[^>\n]*>|[^)\s]+)(?:\s+(?:"[^"\n]*"|'[^'\n]*'))?\s*\)/g;
  for (const m of prose.matchAll(inline)) {
    links.push({ line: lineOf(m.index), text: m[0].slice(0, m[0].indexOf(']') + 1), target: m[2]!.replace(/^<|>$/g, '') });
  }
  for (const m of prose.matchAll(/^ {0,3}\[([^\]\n]+)\]:\s*(<[^>\n]*>|\S+)/gm)) {
    links.push({ line: lineOf(m.index), text: `[${m[1]}]:`, target: m[2]!.replace(/^<|>$/g, '') });
  }
  for (const m of prose.matchAll(/<(?:a|img)\b[^>]*?\s(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)')/gi)) {
    links.push({ line: lineOf(m.index), text: m[0].split(/\s/)[0]! + '>', target: (m[1] ?? m[2])! });
  }
  return links.sort((a, b) => a.line - b.line);
}

/** True for links that leave the repository: a URL scheme (`https:`, `mailto:`) or `//host`. */
function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');
}

/** GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens, repeats numbered. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const counts = new Map<string, number>();
  for (const line of withoutFences(markdown).split('\n')) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const text = heading
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text
      .replace(/<[^>]+>/g, '') // inline HTML
      .replace(/`/g, ''); // code spans keep their text
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
      .replace(/ /g, '-');
    const seen = counts.get(base) ?? 0;
    counts.set(base, seen + 1);
    anchors.add(seen === 0 ? base : `${base}-${seen}`);
  }
  // Explicit anchors: <a name="…"> or id="…".
  for (const m of markdown.matchAll(/<a\s[^>]*?(?:name|id)\s*=\s*"([^"]+)"/gi)) anchors.add(m[1]!);
  return anchors;
}

/** Why a relative link from `file` is broken, or undefined when it is fine. */
function problem(file: string, target: string): string | undefined {
  const hash = target.indexOf('#');
  const rawPath = hash < 0 ? target : target.slice(0, hash);
  const anchor = hash < 0 ? undefined : target.slice(hash + 1);
  let path: string;
  try {
    path = decodeURIComponent(rawPath.split('?')[0]!);
  } catch {
    return 'not a valid URL path';
  }
  const absolute = path === '' ? join(ROOT, file) : path.startsWith('/') ? join(ROOT, path) : resolve(ROOT, dirname(file), path);
  const inside = relative(ROOT, absolute);
  if (inside.startsWith('..') || resolve(inside) === inside) return 'points outside the repository';
  if (!existsSync(absolute)) return `${inside.split(sep).join('/')} does not exist`;
  if (anchor && statSync(absolute).isFile() && absolute.endsWith('.md')) {
    const wanted = decodeURIComponent(anchor).toLowerCase();
    if (!headingAnchors(readFileSync(absolute, 'utf8')).has(wanted)) return `no heading for #${anchor} in ${inside.split(sep).join('/')}`;
  }
  return undefined;
}

/** `file:line: [text](target): why` for every broken relative link of a Markdown file. */
function brokenLinks(file: string): string[] {
  const markdown = readFileSync(join(ROOT, file), 'utf8');
  return extractLinks(markdown).flatMap((link) => {
    if (isExternal(link.target)) return [];
    const why = problem(file, link.target);
    return why ? [`${file}:${link.line}: ${link.text}(${link.target}): ${why}`] : [];
  });
}

/**
 * `.md` files named in comments of `src/` (they end up in the published .d.ts): each must exist,
 * relative to the repository root (how the comments name them) or to the source file.
 */
function brokenSourceReferences(): string[] {
  const broken: string[] = [];
  for (const file of walk('src', (p) => p.endsWith('.ts'))) {
    const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
    lines.forEach((line, i) => {
      const comment = /^\s*(\/\*\*?|\*|\/\/)/.test(line) ? line : line.includes('//') ? line.slice(line.indexOf('//')) : '';
      const withoutUrls = comment.replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, ' ');
      for (const m of withoutUrls.matchAll(/(?:\.{0,2}\/)?[\w.-]+(?:\/[\w.-]+)*\.md\b/g)) {
        const name = m[0].split('#')[0]!;
        if (existsSync(join(ROOT, name)) || existsSync(resolve(ROOT, dirname(file), name))) continue;
        broken.push(`${file}:${i + 1}: ${name} does not exist`);
      }
    });
  }
  return broken;
}

describe('documentation links', () => {
  it('finds the Markdown files to check, never the generated API reference', () => {
    const files = markdownFiles();
    expect(files).toContain('README.md');
    expect(files).toContain(join('docs', 'ARCHITECTURE.md'));
    expect(files).toContain(join('test', 'vectors', 'README.md'));
    expect(files.some((f) => f.startsWith(join('docs', 'api') + sep))).toBe(false);
  });

  it('extracts inline links, images, reference definitions and HTML links, but not code', () => {
    const markdown = [
      '# Title',
      'See [the guide](docs/guide.md#setup "title") and ![shot](<img/a b.png>).',
      '`[not](a-link.md)` and [ok](https://example.org).',
      '```md',
      '[inside](a-fence.md)',
      '```',
      '[ref]: ../other.md',
      '<img src="pic.png" alt="x">',
    ].join('\n');
    expect(extractLinks(markdown).map((l) => [l.line, l.target])).toEqual([
      [2, 'docs/guide.md#setup'],
      [2, 'img/a b.png'],
      [3, 'https://example.org'],
      [7, '../other.md'],
      [8, 'pic.png'],
    ]);
  });

  it('computes GitHub heading anchors', () => {
    const anchors = headingAnchors('# Threat model\n## What is `protected`?\n## Threat model\n### 1. Layers (src/)\n');
    expect([...anchors]).toEqual(['threat-model', 'what-is-protected', 'threat-model-1', '1-layers-src']);
  });

  for (const file of markdownFiles()) {
    it(`every relative link in ${file.split(sep).join('/')} resolves`, () => {
      expect(brokenLinks(file)).toEqual([]);
    });
  }

  it('every .md file named in the TSDoc of src/ exists', () => {
    expect(brokenSourceReferences()).toEqual([]);
  });
});
