import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The published-vector folder: `SEALCALL_VECTORS_DIR`, default `../shared/vectors`. */
export const VECTORS_DIR = resolve(process.env.SEALCALL_VECTORS_DIR ?? join(import.meta.dirname, '../../../shared/vectors'));

/** Every JSON file in the vector folder whose name starts with `prefix`, parsed. */
export function loadVectorFiles<T>(prefix: string): { file: string; vectors: T[] }[] {
  return readdirSync(VECTORS_DIR)
    .filter((name) => name.startsWith(prefix) && name.endsWith('.json'))
    .sort()
    .map((file) => ({ file, vectors: JSON.parse(readFileSync(join(VECTORS_DIR, file), 'utf8')) as T[] }));
}

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
