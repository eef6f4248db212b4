import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/** The repository's own copy of the published vectors (and sealcall's own): always read. */
export const REPO_VECTORS_DIR = resolve(import.meta.dirname, '../vectors');

/** An extra folder of vector files named by `SEALCALL_VECTORS_DIR`, read on top of the repository's. */
export const EXTRA_VECTORS_DIR = process.env.SEALCALL_VECTORS_DIR ? resolve(process.env.SEALCALL_VECTORS_DIR) : undefined;

/** The folders the vector tests read, the repository's first. */
export const VECTOR_DIRS = [REPO_VECTORS_DIR, ...(EXTRA_VECTORS_DIR && EXTRA_VECTORS_DIR !== REPO_VECTORS_DIR ? [EXTRA_VECTORS_DIR] : [])];

/**
 * Every JSON file whose name starts with `prefix` in each vector folder, parsed; `file` is its
 * path relative to the repository (or absolute, for an extra folder elsewhere).
 */
export function loadVectorFiles<T>(prefix: string): { file: string; vectors: T[] }[] {
  const root = resolve(import.meta.dirname, '../..');
  return VECTOR_DIRS.flatMap((dir) =>
    readdirSync(dir)
      .filter((name) => name.startsWith(prefix) && name.endsWith('.json'))
      .sort()
      .map((name) => {
        const path = join(dir, name);
        const shown = relative(root, path);
        return { file: shown.startsWith('..') ? path : shown, vectors: JSON.parse(readFileSync(path, 'utf8')) as T[] };
      }),
  );
}

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
