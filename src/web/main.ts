/**
 * `npm run web [-- --host 0.0.0.0 --port 8080 --out dist-web --build-only]`: builds the page into a static
 * folder and serves it, printing the address. Any static web server can host the folder instead.
 */
import { resolve } from 'node:path';
import { type CommandSpec, parseArgs } from '../cli/args.ts';
import { runMain } from '../cli/run-main.ts';
import { buildWeb, DEFAULT_WEB_OUT } from './build.ts';
import { serveStatic } from './serve.ts';

export const webSpec: CommandSpec = {
  command: 'web',
  positionals: '',
  minPositionals: 0,
  maxPositionals: 0,
  flags: [
    { name: 'host', type: 'string', help: 'address to listen on (default 127.0.0.1: this machine only)' },
    { name: 'port', type: 'int', min: 0, max: 65535, help: 'port (default 8080; 0 = any free port)' },
    { name: 'out', type: 'string', help: `folder to build the page into (default ${DEFAULT_WEB_OUT})` },
    { name: 'build-only', type: 'boolean', help: 'build the folder and exit without serving it' },
  ],
};

async function main(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv, webSpec);
  const out = resolve((flags.out as string | undefined) ?? DEFAULT_WEB_OUT);
  const built = await buildWeb(out);
  console.log(`built the page into ${out} (page.js ${(built.pageBytes / 1024).toFixed(0)} KiB)`);
  if (flags['build-only'] === true) return;
  const { url } = await serveStatic({
    root: out,
    host: flags.host as string | undefined,
    port: (flags.port as number | undefined) ?? 8080,
  });
  console.log(`serving ${out} at ${url} (Ctrl-C stops)`);
}

runMain(main);
