/**
 * The page end to end in a real Chromium (Debian's `chromium`, driven headless by playwright-core; no
 * browser download): PPO trains in the worker with the curve and the step count advancing and no console
 * error, pause and resume answer, the downloaded policy evaluates with `npm run eval`, a policy file saved
 * by the CLI replays to the CLI's own return for the same seed, the model-based agent starts with its model
 * panels, and the page also starts from a file:// address. Saves a screenshot to
 * test-artifacts/web-page.png. Where no Chromium is found it skips and says why in its name.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evalRun } from '../src/cli/eval.ts';
import { evaluatePolicy } from '../src/cli/evaluate.ts';
import { latestCheckpoint } from '../src/cli/run-folder.ts';
import { loadRunPolicy } from '../src/cli/run-policy.ts';
import { trainOptionsFromArgs, trainPpo } from '../src/cli/train.ts';
import { buildWeb } from '../src/web/build.ts';
import { HEADLESS_CHROMIUM_ARGS } from '../src/web/chromium-args.ts';
import { type StaticServer, serveStatic } from '../src/web/serve.ts';
import { tinyPpoArgs } from './helpers/tiny-ppo.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const note = hasChromium
  ? CHROMIUM
  : `SKIPPED: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
if (!hasChromium) console.warn(`test/web-page.test.ts: ${note}`);

const SCREENSHOT = resolve('test-artifacts', 'web-page.png');
const root = mkdtempSync(join(tmpdir(), 'lander-web-page-'));
const site = join(root, 'site');
let server: StaticServer;
let browser: Browser;

/**
 * A first launch of Chromium on a fresh machine builds its font cache and profile, which took longer than
 * vitest's default 10 s hook timeout on CI; each step is named so a stall says which one stalled.
 */
const SETUP_TIMEOUT_MS = 180_000;
beforeAll(async () => {
  if (!hasChromium) return;
  await step('building the page', buildWeb(site));
  server = await step('starting the server', serveStatic({ root: site }));
  browser = await step(
    `launching ${CHROMIUM}`,
    chromium.launch({
      executablePath: CHROMIUM,
      args: [...HEADLESS_CHROMIUM_ARGS],
      timeout: SETUP_TIMEOUT_MS - 10_000,
    }),
  );
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

/** A page whose console errors and uncaught exceptions are collected. */
async function openPage(url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1320, height: 900 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  return { page, errors };
}

const dataset = (page: Page) => page.evaluate(() => ({ ...document.body.dataset }));

/**
 * Awaits one step of a test, its name put in front of a failure: each wait is shorter than its test's
 * timeout, so a stall reports the step that stalled rather than the test's timeout.
 */
async function step<T>(what: string, wait: Promise<T>): Promise<T> {
  try {
    return await wait;
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`);
  }
}

/** PPO updates take about a second each in the page, several with both cores busy. */
const UPDATE_WAIT = { timeout: 45_000 };
const STATE_WAIT = { timeout: 20_000 };

describe.skipIf(!hasChromium)(`the web page in Chromium (${note})`, () => {
  it('trains PPO in the worker, pauses and resumes, and replays a CLI policy to the CLI return', async () => {
    const { page, errors } = await openPage(server.url);
    await step('page ready', page.waitForSelector('body[data-state="ready"]', STATE_WAIT));
    expect(await page.textContent('#status')).toMatch(/kernels wasm/);
    await page.fill('#seed', '3');
    await page.click('#start');
    await step(
      'two points on the curve',
      page.waitForFunction(() => Number(document.body.dataset.curvePoints ?? 0) >= 2, undefined, UPDATE_WAIT),
    );
    const first = await dataset(page);
    expect(first.seed).toBe('3');
    await step(
      'steps advancing',
      page.waitForFunction(
        (steps) => Number(document.body.dataset.steps) > steps,
        Number(first.steps),
        UPDATE_WAIT,
      ),
    );
    expect(Number((await dataset(page)).stepsPerSecond)).toBeGreaterThan(0);
    await page.click('#pause');
    await step('paused', page.waitForSelector('body[data-state="paused"]', STATE_WAIT));
    await page.click('#resume');
    await step('running again', page.waitForSelector('body[data-state="running"]', STATE_WAIT));
    await page.click('#pause');
    await step('paused again', page.waitForSelector('body[data-state="paused"]', STATE_WAIT));
    expect(await page.textContent('#status')).toMatch(
      /^paused: PPO on the discrete lander, seed 3; kernels wasm/,
    );

    // The policy trained in the page, downloaded, is one `npm run eval` takes with no flag.
    const [download] = await step(
      'download',
      Promise.all([page.waitForEvent('download', STATE_WAIT), page.click('#download')]),
    );
    expect(download.suggestedFilename()).toBe('policy.safetensors');
    const downloaded = join(root, 'downloaded', 'policy.safetensors');
    await download.saveAs(downloaded);
    const evaluated = evalRun([downloaded, '--episodes', '2'], () => {});
    expect(evaluated.episodes).toBe(2);
    expect(existsSync(join(root, 'downloaded', 'policy.eval.json'))).toBe(true);

    // A policy the CLI trained and saved, replayed in the page from the CLI evaluation's first seed.
    const run = join(root, 'cli-run');
    await trainPpo({
      ...trainOptionsFromArgs(tinyPpoArgs(run)),
      log: () => {},
    });
    const seed = 1_000_000_000;
    const { policy, config } = loadRunPolicy(run);
    const cliReturn = evaluatePolicy(policy, config.envId, config.envOptions, 1, seed).returns[0]!;
    await page.fill('#seed', String(seed));
    await page.setInputFiles('#policy-file', join(latestCheckpoint(run)!.path, 'policy.safetensors'));
    await step(
      'policy file replayed',
      page.waitForFunction(() => document.body.dataset.fileReturn !== undefined, undefined, STATE_WAIT),
    );
    const replayed = await dataset(page);
    expect(Number(replayed.fileSeed)).toBe(seed);
    // The same kernels and physics on both sides, so the same path; the totals were measured 3e-14 apart
    // (the page's recorder and the CLI's evaluator add the rewards up in different code), a diverged path
    // would be tens apart.
    expect(Number(replayed.fileReturn)).toBeCloseTo(cliReturn, 9);
    await page.waitForTimeout(1500);
    mkdirSync(resolve('test-artifacts'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 240_000);

  it('starts the model-based agent with its model panels (its first iteration takes a minute: not awaited)', async () => {
    const { page, errors } = await openPage(server.url);
    await step('page ready', page.waitForSelector('body[data-state="ready"]', STATE_WAIT));
    expect(await page.isHidden('#model-panels')).toBe(true);
    await page.selectOption('#agent', 'simple');
    await page.click('#start');
    // The worker builds the agent (models, buffer, envs) before it says 'running'; a failure there is an
    // error message and no 'running'.
    await step('running', page.waitForSelector('body[data-state="running"]', STATE_WAIT));
    expect(await page.isVisible('#model-panels')).toBe(true);
    expect(await page.textContent('#status')).toMatch(
      /^running: .*model-based agent reports once per iteration/,
    );
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('starts from a file:// address too', async () => {
    const { page, errors } = await openPage(pathToFileURL(join(site, 'index.html')).href);
    await step('page ready', page.waitForSelector('body[data-state="ready"]', STATE_WAIT));
    expect(await page.isHidden('#notice')).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
