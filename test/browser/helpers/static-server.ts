import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.html': 'text/html; charset=utf-8',
};

/** A blank page: tests load modules into it with `import()`. */
const PAGE = '<!doctype html><meta charset="utf-8"><title>sealcall browser test</title><body></body>';

/**
 * Serves `/` (a blank page), directories under URL prefixes, and in-memory files, on
 * http://127.0.0.1 with a random port. 127.0.0.1 is a secure context, which getUserMedia and
 * frame transforms require.
 */
export class StaticServer {
  private readonly server: Server;

  private constructor(
    private readonly roots: Record<string, string>,
    private readonly files: Map<string, string>,
  ) {
    this.server = createServer((request, response) => {
      this.serve(request.url ?? '/').then(
        ([status, type, body]) => {
          response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
          response.end(body);
        },
        () => {
          response.writeHead(500);
          response.end();
        },
      );
    });
  }

  /** @param roots - URL prefix (e.g. `/dist/browser/`) → directory. */
  static async start(roots: Record<string, string>, files = new Map<string, string>()): Promise<StaticServer> {
    const server = new StaticServer(roots, files);
    await new Promise<void>((done) => server.server.listen(0, '127.0.0.1', done));
    return server;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Serves `body` at `path` from now on. */
  put(path: string, body: string): void {
    this.files.set(path, body);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((done) => this.server.close(() => done()));
  }

  private async serve(url: string): Promise<[number, string, string | Buffer]> {
    const path = decodeURIComponent(new URL(url, 'http://x').pathname);
    if (path === '/') return [200, TYPES['.html']!, PAGE];
    const type = TYPES[extname(path)] ?? 'application/octet-stream';
    const inMemory = this.files.get(path);
    if (inMemory !== undefined) return [200, type, inMemory];
    for (const [prefix, dir] of Object.entries(this.roots)) {
      if (!path.startsWith(prefix)) continue;
      const file = resolve(dir, normalize(path.slice(prefix.length)));
      if (!file.startsWith(resolve(dir) + sep)) return [403, 'text/plain', 'forbidden'];
      try {
        return [200, type, await readFile(join(file))];
      } catch {
        return [404, 'text/plain', 'not found'];
      }
    }
    return [404, 'text/plain', 'not found'];
  }
}
