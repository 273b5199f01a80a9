/**
 * The engine as a package: `npm pack` (which builds dist/ with tsc first), the tarball installed into a
 * scratch folder without optional dependencies, then imported by plain Node, bundled by esbuild (for Node
 * and for a browser), and type-checked by tsc against the shipped .d.ts files. No native addon may come with it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve('.');
const scratch = mkdtempSync(join(tmpdir(), 'lander-package-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const run = (command: string, args: string[], cwd = scratch): string =>
  execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });

const CONSUMER = `
import { Ppo, LunarLander, SyncVectorEnv, tensor } from 'lander-engine';
import { Rng, kernels } from 'lander-engine/tensor';
import { Linear } from 'lander-engine/nn';
import { RunningMeanStd } from 'lander-engine/rl';
import { heuristicAction } from 'lander-engine/env';
const env = new SyncVectorEnv({ numEnvs: 2, envOptions: {} });
const ppo = new Ppo(env, { seed: 1, totalSteps: 256, stepsPerEnv: 64, minibatchSize: 32, hiddenSizes: [8] });
ppo.start();
const steps: number = ppo.update().steps;
const lander = new LunarLander();
const { observation } = lander.reset({ seed: 1 });
const action: number = heuristicAction(observation, false);
const layer = new Linear(2, 3, { rng: new Rng(1) });
console.log(JSON.stringify({
  steps,
  sum: tensor([1, 2, 3]).sum().item(),
  action,
  out: layer.forward(tensor([[1, 2]])).shape,
  stats: new RunningMeanStd(2).size,
  kernels: kernels().name,
}));
`;

let tarball = '';
beforeAll(() => {
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', scratch], repo)) as {
    filename: string;
  }[];
  tarball = join(scratch, packed[0]!.filename);
  writeFileSync(
    join(scratch, 'package.json'),
    JSON.stringify({ name: 'scratch', private: true, type: 'module' }),
  );
  run('npm', ['install', tarball, '--omit=optional', '--prefer-offline', '--no-audit', '--no-fund']);
  writeFileSync(join(scratch, 'consumer.ts'), CONSUMER);
  writeFileSync(join(scratch, 'consumer.mjs'), CONSUMER.replace(/: number/g, ''));
}, 300_000);

function nativeAddons(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...nativeAddons(path));
    else if (entry.name.endsWith('.node')) found.push(path);
  }
  return found;
}

const expected = { steps: 128, sum: 6, out: [1, 3], stats: 2, kernels: 'wasm' };

describe('the package', () => {
  it('installs from its tarball with no native addon and no gpu.js', () => {
    const modules = join(scratch, 'node_modules');
    expect(existsSync(join(modules, 'lander-engine', 'dist', 'index.js'))).toBe(true);
    expect(existsSync(join(modules, 'lander-engine', 'src'))).toBe(false);
    expect(existsSync(join(modules, 'gpu.js'))).toBe(false);
    expect(existsSync(join(modules, 'gl'))).toBe(false);
    expect(nativeAddons(modules)).toEqual([]);
  });

  it('imports in plain Node, the root and every layer entry point', () => {
    expect(JSON.parse(run('node', ['consumer.mjs']))).toMatchObject(expected);
  });

  // The browser bundle runs in Node here: `platform` changes how imports resolve, not what the code does.
  it.each(['node', 'browser'] as const)(
    'bundles with esbuild for %s, and the bundle runs',
    async (platform) => {
      await build({
        entryPoints: [join(scratch, 'consumer.ts')],
        bundle: true,
        platform,
        format: 'esm',
        outfile: join(scratch, `${platform}-bundle.mjs`),
        absWorkingDir: scratch,
        logLevel: 'silent',
      });
      expect(JSON.parse(run('node', [`${platform}-bundle.mjs`]))).toMatchObject(expected);
    },
  );

  // A browser bundler must find no `node:` import in any entry point: the Node-only functions look their
  // modules up when called (src/node-builtins).
  it.each([
    'lander-engine',
    'lander-engine/tensor',
    'lander-engine/nn',
    'lander-engine/rl',
    'lander-engine/env',
  ])('bundles %s for the browser', async (entry) => {
    const result = await build({
      stdin: { contents: `export * from '${entry}';`, resolveDir: scratch, loader: 'js' },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      absWorkingDir: scratch,
      logLevel: 'silent',
    });
    expect(result.outputFiles[0]!.text).not.toMatch(/(from|import\s*\(|require\s*\()\s*["']node:/);
  });

  it("type-checks against the package's declarations", () => {
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          lib: ['ES2022', 'DOM'],
          strict: true,
          noEmit: true,
          types: [],
        },
        files: ['consumer.ts'],
      }),
    );
    // Throws (with tsc's messages) on any type error.
    run(join(repo, 'node_modules', '.bin', 'tsc'), ['-p', '.']);
  });
});
