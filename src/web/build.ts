/**
 * Builds the page into a static folder with esbuild, from src/ itself (no second copy of the engine):
 * index.html, style.css and page.js, with the training worker's bundle inlined into page.js. Both bundles
 * are classic scripts (IIFE), which a file:// page may load where module scripts are refused.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, type Plugin } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_WEB_OUT = 'dist-web';
const STATIC_FILES = ['index.html', 'style.css'];

/**
 * Node modules the engine's bundle reaches but never calls in the page: the checkpoint file functions
 * beside the safetensors encoding in src/nn. In the browser each name is a function that throws, saying
 * so; a name missing here fails the build (esbuild: no matching export), so nothing slips through.
 */
const NODE_STAND_INS: Record<string, string[]> = {
  'node:fs': [
    'closeSync',
    'existsSync',
    'fsyncSync',
    'mkdirSync',
    'openSync',
    'readFileSync',
    'readdirSync',
    'renameSync',
    'rmSync',
    'writeSync',
  ],
  'node:path': ['dirname', 'join'],
};

const nodeStandIns: Plugin = {
  name: 'node-stand-ins',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => {
      if (!(args.path in NODE_STAND_INS)) {
        return { errors: [{ text: `${args.path} (imported by ${args.importer}) has no browser stand-in` }] };
      }
      return { path: args.path, namespace: 'node-stand-in' };
    });
    b.onLoad({ filter: /.*/, namespace: 'node-stand-in' }, (args) => ({
      loader: 'js',
      contents: NODE_STAND_INS[args.path]!.map(
        (name) =>
          `export function ${name}() { throw new Error(${JSON.stringify(`${args.path} ${name}: not available in the browser`)}); }`,
      ).join('\n'),
    }));
  },
};

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
    plugins: [nodeStandIns],
  };
  const worker = await build({ ...common, entryPoints: [join(here, 'trainer-worker.ts')] });
  const page = await build({
    ...common,
    entryPoints: [join(here, 'page.ts')],
    define: { WORKER_SOURCE: JSON.stringify(worker.outputFiles![0]!.text) },
  });
  mkdirSync(outDir, { recursive: true });
  const pageJs = page.outputFiles![0]!.contents;
  writeFileSync(join(outDir, 'page.js'), pageJs);
  for (const file of STATIC_FILES) copyFileSync(join(here, 'static', file), join(outDir, file));
  return { outDir, pageBytes: pageJs.length };
}
