/**
 * Builds the page into a static folder with esbuild, from src/ itself (no second copy of the engine):
 * index.html, style.css and page.js, with the training worker's bundle inlined into page.js. Both bundles
 * are classic scripts (IIFE), which a file:// page may load where module scripts are refused. The engine
 * imports no Node module (src/node-builtins), so a `node:` import reaching the bundle fails the build. Each
 * file is written whole (temporary file, rename), so a server never hands out half a page.js.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import { writeFileAtomic } from '../nn/checkpoint.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_WEB_OUT = 'dist-web';
const STATIC_FILES = ['index.html', 'style.css'];

export interface WebBuild {
  outDir: string;
  /** Bytes of page.js (the worker inlined). */
  pageBytes: number;
}

export async function buildWeb(outDir = DEFAULT_WEB_OUT): Promise<WebBuild> {
  const common: BuildOptions & { write: false } = {
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  };
  const worker = await build({ ...common, entryPoints: [join(here, 'trainer-worker.ts')] });
  const page = await build({
    ...common,
    entryPoints: [join(here, 'page.ts')],
    define: { WORKER_SOURCE: JSON.stringify(worker.outputFiles![0]!.text) },
  });
  const pageJs = page.outputFiles![0]!.contents;
  writeFileAtomic(join(outDir, 'page.js'), pageJs);
  for (const file of STATIC_FILES)
    writeFileAtomic(join(outDir, file), readFileSync(join(here, 'static', file)));
  return { outDir, pageBytes: pageJs.length };
}
