/**
 * A worker thread running a module of ours, TypeScript or built JavaScript. Worker threads run TypeScript
 * through tsx, as the rest of the project does. On Node 20 neither a .ts entry file nor `--import tsx` in
 * the worker's execArgv gets tsx's hooks installed, so the entry is a small script that registers tsx's ESM
 * API in the worker and then imports the module.
 */
import type { Worker, WorkerOptions } from 'node:worker_threads';
import { nodeBuiltin } from './index.ts';

/**
 * Starts a worker thread on `url` (a .ts or .js module); `caller` and `elsewhere` word the error where Node's
 * modules are absent (see `nodeBuiltin`).
 */
export function startModuleWorker(
  url: URL,
  options: WorkerOptions,
  caller: string,
  elsewhere: string,
): Worker {
  const node = <Name extends Parameters<typeof nodeBuiltin>[0]>(name: Name) =>
    nodeBuiltin(name, caller, elsewhere);
  const { Worker } = node('node:worker_threads');
  if (!url.pathname.endsWith('.ts')) return new Worker(url, options);
  const require = node('node:module').createRequire(import.meta.url);
  const manifestPath = require.resolve('tsx/package.json');
  const manifest = JSON.parse(node('node:fs').readFileSync(manifestPath, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  // The ESM build of `tsx/esm/api`, found through tsx's own exports map (its CJS build cannot register).
  const tsxApi = new URL(
    manifest.exports['./esm/api']!.import.default,
    node('node:url').pathToFileURL(manifestPath),
  ).href;
  const entry =
    `import(${JSON.stringify(tsxApi)})` +
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })` +
    '.catch((error) => { setImmediate(() => { throw error; }); });';
  return new Worker(entry, { ...options, eval: true });
}
