/**
 * The page's build and its local server (src/web): the folder builds from src/ with no Node module left in
 * the bundle, and the server serves that folder only: any path that tries to leave it, plain or encoded,
 * is a 404 that leaks nothing, and every response carries the page's headers.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWeb } from '../src/web/build.ts';
import { PAGE_HEADERS, resolveRequestPath, type StaticServer, serveStatic } from '../src/web/serve.ts';

const root = mkdtempSync(join(tmpdir(), 'lander-web-'));
const site = join(root, 'site');
const SECRET = 'outside the served folder';
let server: StaticServer;

beforeAll(async () => {
  await buildWeb(site);
  writeFileSync(join(root, 'secret.txt'), SECRET);
  mkdirSync(join(site, 'sub'), { recursive: true });
  writeFileSync(join(site, 'sub', 'a.txt'), 'inside');
  symlinkSync(join(root, 'secret.txt'), join(site, 'link-out.txt'));
  symlinkSync(root, join(site, 'folder-out'));
  symlinkSync(join(site, 'sub', 'a.txt'), join(site, 'link-in.txt'));
  server = await serveStatic({ root: site });
}, 120_000); // esbuild's first build on a loaded CI machine can pass vitest's 10 s hook default
afterAll(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

/** A raw request: the path goes out exactly as written (fetch would normalise `..` away first). */
function get(
  path: string,
  method = 'GET',
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const { port } = new URL(server.url);
  return new Promise((done, failed) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', failed);
    req.end();
  });
}

describe('the built page', () => {
  it('is a static folder: index.html, style.css and one classic script with the worker inlined', () => {
    const html = readFileSync(join(site, 'index.html'), 'utf8');
    expect(html).toContain('<script src="page.js"></script>');
    const page = readFileSync(join(site, 'page.js'), 'utf8');
    // No Node module survives into the browser bundle (the engine looks its Node modules up on use).
    expect(page).not.toMatch(/require\(["']node:|from ["']node:/);
    expect(page).toContain('SyncVectorEnv');
    expect(page).not.toContain('WorkerVectorEnv');
  });
});

describe('the local server', () => {
  it('listens on 127.0.0.1 unless told otherwise', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it("serves the folder's files with the page's headers and content types", async () => {
    const index = await get('/');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    for (const [name, value] of Object.entries(PAGE_HEADERS))
      expect(index.headers[name.toLowerCase()]).toBe(value);
    expect(index.headers['cross-origin-embedder-policy']).toBe('require-corp');
    const script = await get('/page.js?v=1');
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await get('/sub/a.txt')).body).toBe('inside');
    expect((await get('/page.js', 'HEAD')).body).toBe('');
    expect((await get('/', 'POST')).status).toBe(405);
  });

  it('answers 404 to every path that tries to leave the folder, and leaks nothing', async () => {
    for (const path of [
      '/../secret.txt',
      '/sub/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E%2Fsecret.txt',
      '/..%2fsecret.txt',
      '/sub/%2e%2e/%2e%2e/secret.txt',
      '/..%5csecret.txt',
      '/%5c..%5csecret.txt',
      '/sub/..',
      '/%00/secret.txt',
      '/%E0%A4%A',
      '/missing.html',
      '/sub',
      '//etc/passwd',
    ]) {
      const response = await get(path);
      expect(response.status, path).toBe(404);
      expect(response.body, path).not.toContain(SECRET);
      expect(response.headers['cross-origin-opener-policy'], path).toBe('same-origin');
    }
  });

  it('follows a link only when its target is inside the folder', async () => {
    for (const path of ['/link-out.txt', '/folder-out/secret.txt']) {
      const response = await get(path);
      expect(response.status, path).toBe(404);
      expect(response.body, path).not.toContain(SECRET);
    }
    const inside = await get('/link-in.txt');
    expect(inside.status).toBe(200);
    expect(inside.body).toBe('inside');
  });

  it('resolves request paths inside the root only', () => {
    expect(resolveRequestPath('/srv/site', '/a/b.js?x')).toBe('/srv/site/a/b.js');
    expect(resolveRequestPath('/srv/site', '/')).toBe('/srv/site/index.html');
    expect(resolveRequestPath('/srv/site', '/%2e%2e/site2/x')).toBeNull();
    expect(resolveRequestPath('/srv/site', 'relative')).toBeNull();
  });

  it('rejects a port out of range or taken, naming it', async () => {
    await expect(serveStatic({ root: site, port: 70000 })).rejects.toThrow(/port 70000 is invalid/);
    const taken = Number(new URL(server.url).port);
    await expect(serveStatic({ root: site, port: taken })).rejects.toThrow(
      new RegExp(`127\\.0\\.0\\.1:${taken} is already in use; choose another --port`),
    );
  });
});

describe('npm run web', () => {
  it('refuses a port out of range as a usage error (exit 2), before building anything', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/web/main.ts', '--port', '70000'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--port = '70000' is invalid; expected an integer from 0 to 65535/);
    expect(run.stderr).toMatch(/usage: npm run web/);
  });
});
