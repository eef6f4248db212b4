import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Options of {@link serveDemoPage}. */
export interface DemoPageOptions {
  /** Interface to bind (the relay's). */
  host: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** The relay the page connects to: `ws://host:port` (its host is replaced when it is a wildcard). */
  relayUrl: string;
  /** The package folder holding `examples/browser/` and `dist/browser/`. Default: found from this file. */
  root?: string;
}

/** A running demo-page server. */
export interface DemoPage {
  /** Where to open the page, e.g. `http://127.0.0.1:7444/`. */
  url: string;
  /** Set when `dist/browser/sealcall.js` is missing: what to run to build it. */
  missingBuild: string | undefined;
  close(): Promise<void>;
}

/** URL prefix → folder under the package root. The page imports `../../dist/browser/sealcall.js`. */
const ROOTS = { '/examples/browser/': 'examples/browser', '/dist/browser/': 'dist/browser' } as const;
const PAGE = '/examples/browser/';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/**
 * Serves the browser example (`examples/browser/`) and the browser build it loads
 * (`dist/browser/sealcall.js` and the frame worker next to it) over HTTP, plus
 * `/examples/browser/relay.json` telling the page where the relay listens. Only GET/HEAD of files
 * inside those two folders; nothing else of the package is reachable.
 *
 * It runs on a port of its own because `Relay` owns its listening socket; a page served from any
 * other static server finds the relay at its own origin (or `?relay=ws://…`).
 */
export async function serveDemoPage(options: DemoPageOptions): Promise<DemoPage> {
  const root = options.root ?? findPackageRoot();
  const server = createServer((request, response) => {
    handle(root, options.relayUrl, request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port, options.host, () => {
      server.off('error', fail);
      done();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${browserHost(options.host)}:${port}/`,
    missingBuild: missingBuild(root),
    close: () => {
      server.closeAllConnections();
      return new Promise((done) => server.close(() => done()));
    },
  };
}

/** Why the page cannot work yet, or undefined: the browser build is there. */
export function missingBuild(root: string = findPackageRoot()): string | undefined {
  if (!existsSync(join(root, 'examples/browser/index.html'))) {
    return `examples/browser/ is not in ${root}: the demo page runs from a clone of the sealcall repository`;
  }
  if (existsSync(join(root, 'dist/browser/sealcall.js')) && existsSync(join(root, 'dist/browser/frame-worker.js'))) return undefined;
  return `dist/browser/ is missing: run \`npm run build\` (or \`npx tsup\`) in ${root}, then reload the page`;
}

async function handle(root: string, relayUrl: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return send(response, 405, 'text/plain', 'GET only');
  const url = new URL(request.url ?? '/', 'http://x');
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return send(response, 400, 'text/plain', 'bad path');
  }
  if (path === '/' || path === '/examples/browser') {
    const problem = missingBuild(root);
    if (problem) return send(response, 503, TYPES['.html']!, explain(problem));
    response.writeHead(302, { location: PAGE + url.search, 'cache-control': 'no-store' });
    return void response.end();
  }
  if (path === `${PAGE}relay.json`) {
    const body = JSON.stringify({ relayUrl: reachable(relayUrl, request.headers.host) });
    return send(response, 200, TYPES['.json']!, body);
  }
  for (const [prefix, folder] of Object.entries(ROOTS)) {
    if (!path.startsWith(prefix)) continue;
    const dir = resolve(root, folder);
    const file = resolve(dir, `.${sep}${path.slice(prefix.length) || 'index.html'}`);
    if (!file.startsWith(dir + sep)) return send(response, 403, 'text/plain', 'forbidden');
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      const problem = folder === 'dist/browser' ? missingBuild(root) : undefined;
      return send(response, 404, 'text/plain; charset=utf-8', problem ?? 'not found');
    }
    return send(response, 200, TYPES[extname(file)] ?? 'application/octet-stream', body, request.method === 'HEAD');
  }
  return send(response, 404, 'text/plain', 'not found');
}

function send(response: ServerResponse, status: number, type: string, body: string | Buffer, headOnly = false): void {
  // no-store: a rebuilt bundle or an edited page shows up on reload.
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  response.end(headOnly ? undefined : body);
}

/** A wildcard bind address is not something a browser can connect to: use the host it asked for. */
function reachable(relayUrl: string, requestHost: string | undefined): string {
  const relay = new URL(relayUrl);
  if (!isWildcard(relay.hostname) || !requestHost) return relayUrl;
  const asked = new URL(`http://${requestHost}`).hostname;
  return `${relay.protocol}//${asked}:${relay.port}`;
}

/** The host to print in the page URL. 127.0.0.1 and localhost are secure contexts (camera, workers). */
function browserHost(host: string): string {
  if (isWildcard(host)) return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

function explain(problem: string): string {
  const text = problem.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
  return `<!doctype html><meta charset="utf-8"><title>sealcall demo: not built</title>
<body style="font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>The demo page cannot run yet</h1><p>${text.replace(/`([^`]+)`/g, '<code>$1</code>')}</p></body>`;
}

/** The folder above `src/cli/` (running from source) or `dist/` (the built CLI) holding the example. */
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (isSealcallPackage(dir)) return dir;
    dir = dirname(dir);
  }
  // An installed package without the example: missingBuild() explains.
  return resolve(dirname(fileURLToPath(import.meta.url)), '..');
}

function isSealcallPackage(dir: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
    return pkg.name === 'sealcall';
  } catch {
    return false;
  }
}
