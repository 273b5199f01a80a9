/**
 * A small static server for the built page: it serves files under one folder and nothing else. A path is
 * decoded once, and anything that could leave the folder (a `..` segment, a backslash, a NUL, an encoding
 * that does not decode) is a 404 before the file system is asked, and so is a file whose real path (links
 * followed) lies outside the folder's. Every response carries the cross-origin-isolation headers, so a later
 * worker that shares memory (SharedArrayBuffer) needs no change.
 */
import { closeSync, createReadStream, fstatSync, openSync, realpathSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
};

export interface ServeOptions {
  root: string;
  /** Default 127.0.0.1: only this machine can reach the page unless asked otherwise. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
}

export interface StaticServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** The file under `root` a request path names, or null when it names none (or tries to leave `root`). */
export function resolveRequestPath(root: string, requestUrl: string): string | null {
  const rawPath = requestUrl.split(/[?#]/)[0]!;
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return null;
  }
  if (!path.startsWith('/') || path.includes('\0') || path.includes('\\')) return null;
  if (path.split('/').some((segment) => segment === '..' || segment === '.')) return null;
  const base = resolve(root);
  const file = resolve(join(base, path.endsWith('/') ? `${path}index.html` : path));
  if (file !== base && !file.startsWith(base + sep)) return null;
  return file;
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { ...PAGE_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end('404 not found\n');
}

/**
 * An open descriptor and the size of the regular file `file`, when its real path lies under `realRoot`
 * (the root's own real path); null for anything else: a link out of the folder, a folder, nothing. The
 * size comes from the descriptor itself, so a file replaced after the check is never served half-sized.
 */
function openServedFile(realRoot: string, file: string): { fd: number; size: number } | null {
  let fd: number;
  try {
    const real = realpathSync(file);
    if (!real.startsWith(realRoot + sep)) return null;
    fd = openSync(real, 'r');
  } catch {
    return null;
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isFile()) return { fd, size: stat.size };
  } catch {
    // Answered as a missing file, below.
  }
  closeSync(fd);
  return null;
}

function handle(realRoot: string, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { ...PAGE_HEADERS, Allow: 'GET, HEAD' });
    res.end();
    return;
  }
  const file = resolveRequestPath(realRoot, req.url ?? '/');
  const opened = file === null ? null : openServedFile(realRoot, file);
  if (file === null || opened === null) {
    notFound(res);
    return;
  }
  res.writeHead(200, {
    ...PAGE_HEADERS,
    'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'Content-Length': String(opened.size),
  });
  if (req.method === 'HEAD') {
    closeSync(opened.fd);
    res.end();
    return;
  }
  const stream = createReadStream('', { fd: opened.fd, autoClose: true });
  // The headers are gone already, so a read that fails mid-file can only cut the response short; the
  // client sees fewer bytes than Content-Length, and the server carries on.
  stream.on('error', () => res.destroy());
  res.on('close', () => stream.destroy());
  stream.pipe(res);
}

/** The real path of the folder to serve, or an error naming it. */
function realFolder(root: string): string {
  try {
    return realpathSync(resolve(root));
  } catch (e) {
    throw new Error(
      `serve: cannot serve ${root}: ${(e as Error).message}; build the page first (npm run web)`,
    );
  }
}

export async function serveStatic(options: ServeOptions): Promise<StaticServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) {
    throw new Error(`serve: port ${port} is invalid; expected 0 (any free port) to 65535`);
  }
  const realRoot = realFolder(options.root);
  const server = createServer((req, res) => handle(realRoot, req, res));
  await new Promise<void>((done, failed) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      failed(
        e.code === 'EADDRINUSE'
          ? new Error(`serve: ${host}:${port} is already in use; choose another --port (0 = any free port)`)
          : e,
      ),
    );
    server.listen(port, host, () => done());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${shownHost}:${address.port}/`,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
