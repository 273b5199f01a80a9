// `npm run bench -- web [--updates 4] [--rounds 3] [--lander discrete]`: PPO's real steps per second in the
// page (its Web Worker, in Debian's headless Chromium) against Node on the same machine, running the very
// same code (src/web/ppo-session.ts: 16 in-thread envs, the CLI's PPO defaults). Each round trains a
// fresh session for `updates` updates in Node, then in the page, back to back, so load from other
// processes falls on both alike; the figure per side is the median over rounds of steps per second of the
// updates alone. Target (issue 14): the page within 1.5x of Node. Results: bench/results/web.json.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { defaultPpoConfig } from '../src/rl/ppo-config.ts';
import { kernels } from '../src/tensor/index.ts';
import { relaxedSimd } from '../src/tensor/wasm/features.ts';
import { buildWeb } from '../src/web/build.ts';
import { HEADLESS_CHROMIUM_ARGS } from '../src/web/chromium-args.ts';
import { LANDERS, type LanderKind } from '../src/web/landers.ts';
import { WEB_NUM_ENVS } from '../src/web/ppo-session.ts';
import { serveStatic } from '../src/web/serve.ts';
import { createSession } from '../src/web/training-session.ts';
import { machineInfo, median, parseBenchArgs, printTargets, saveResult } from './report.ts';

const { flags } = parseBenchArgs({
  command: 'bench web',
  positionals: '',
  minPositionals: 0,
  maxPositionals: 0,
  flags: [
    { name: 'updates', type: 'int', min: 2, help: 'PPO updates per round and side (default 4)' },
    { name: 'rounds', type: 'int', min: 1, help: 'rounds, each Node then the page (default 3)' },
    { name: 'lander', type: 'string', choices: LANDERS, help: 'lander (default discrete)' },
    { name: 'chromium', type: 'string', help: 'Chromium executable (default /usr/bin/chromium)' },
  ],
});
const updates = (flags.updates as number | undefined) ?? 4;
const rounds = (flags.rounds as number | undefined) ?? 3;
const lander = (flags.lander as LanderKind | undefined) ?? 'discrete';
const executablePath = (flags.chromium as string | undefined) ?? '/usr/bin/chromium';
if (!existsSync(executablePath)) {
  console.error(
    `bench web: no Chromium at ${executablePath} (apt-get install chromium, or --chromium <path>)`,
  );
  process.exit(1);
}

function nodeRound(seed: number): number {
  const session = createSession({ lander, agent: 'ppo', seed, steps: 1_000_000 });
  let stepsPerSecond = 0;
  for (let u = 0; u < updates; u++) stepsPerSecond = session.update().stepsPerSecond;
  return stepsPerSecond;
}

const site = mkdtempSync(join(tmpdir(), 'lander-bench-web-'));
await buildWeb(site);
const server = await serveStatic({ root: site });
const browser = await chromium.launch({ executablePath, args: [...HEADLESS_CHROMIUM_ARGS] });
const page = await browser.newPage();
const pageErrors: string[] = [];
page.on('console', (m) => {
  if (m.type() === 'error') pageErrors.push(m.text());
});
await page.goto(server.url);
await page.waitForSelector('body[data-state="ready"]', { timeout: 60_000 });
const pageEngine = await page.textContent('#status');

/** Real steps in `updates` PPO updates: the session stops by itself after exactly that many. */
const roundSteps = updates * WEB_NUM_ENVS * defaultPpoConfig.stepsPerEnv;

async function pageRound(seed: number): Promise<number> {
  await page.selectOption('#lander', lander);
  await page.fill('#seed', String(seed));
  await page.fill('#steps', String(roundSteps));
  await page.click('#start');
  // The start button clears the last round's state and steps from <body> (state 'starting'), so only this
  // round's finish matches; the seed check makes sure the click started this round.
  await page.waitForFunction(
    ({ steps, seed }) => {
      const { state, steps: done, seed: started } = document.body.dataset;
      return state === 'finished' && Number(done) === steps && started === String(seed);
    },
    { steps: roundSteps, seed },
    { timeout: 600_000, polling: 200 },
  );
  return Number(await page.evaluate(() => document.body.dataset.stepsPerSecond));
}

const nodeRates: number[] = [];
const pageRates: number[] = [];
const loadBefore = loadavg()[0]!;
for (let r = 0; r < rounds; r++) {
  nodeRates.push(nodeRound(r + 1));
  pageRates.push(await pageRound(r + 1));
  console.log(
    `round ${r + 1}: Node ${nodeRates[r]!.toFixed(0)} steps/s, page ${pageRates[r]!.toFixed(0)} steps/s`,
  );
}
const loadAfter = loadavg()[0]!;
const chromiumVersion = browser.version();
await browser.close();
await server.close();
rmSync(site, { recursive: true, force: true });
if (pageErrors.length > 0) console.error(`page console errors: ${pageErrors.join(' | ')}`);

const node = median(nodeRates);
const web = median(pageRates);
console.log(
  `median: Node ${node.toFixed(0)} steps/s, page ${web.toFixed(0)} steps/s, Node / page ${(node / web).toFixed(2)}x`,
);
const met = printTargets([
  { label: 'page steps/s relative to Node (within 1.5x: >= 1 / 1.5)', measured: web / node, required: 0.667 },
]);
const file = saveResult('web', {
  ...machineInfo(),
  chromium: chromiumVersion,
  lander,
  numEnvs: WEB_NUM_ENVS,
  updatesPerRound: updates,
  rounds,
  nodeKernels: `${kernels().name}${relaxedSimd() ? ' (relaxed SIMD)' : ''}`,
  pageEngine,
  loadAverage: { before: loadBefore, after: loadAfter },
  nodeStepsPerSecond: nodeRates,
  pageStepsPerSecond: pageRates,
  medianNode: node,
  medianPage: web,
  nodeOverPage: node / web,
  targetMet: met,
  pageErrors,
});
console.log(`-> ${file}`);
