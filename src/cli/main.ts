/**
 * The command line: `npm start` (the main job: the model-based agent on LunarLander-v3 on its default config,
 * then model-free PPO on the same real-step budget, then evaluation, a plot of both against real steps and a
 * replay), and `npm run train | eval | plot | replay | collect | model-report -- ...`.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { plannedUpdates } from '../rl/ppo.ts';
import { UsageError } from './args.ts';
import { collectData, collectOptionsFromArgs } from './collect.ts';
import { evalRun } from './eval.ts';
import type { EvalSummary } from './evaluate.ts';
import { modelReportFromArgs } from './model-report.ts';
import { plotRuns } from './plot.ts';
import { replayRun } from './replay.ts';
import { latestCheckpoint, readJson, runPaths } from './run-folder.ts';
import { runMain } from './run-main.ts';
import { type PpoRunConfig, trainOptionsFromArgs, trainPpo } from './train.ts';
import { trainModelOptionsFromArgs, trainModels } from './train-model.ts';
import { trainPets, trainPetsOptionsFromArgs } from './train-pets.ts';
import {
  readSimpleRunConfig,
  simpleRunFinished,
  trainSimple,
  trainSimpleOptionsFromArgs,
} from './train-simple.ts';

/** Real environment steps of `npm start`'s runs: the model-based agent's budget, and PPO's beside it. */
export const START_REAL_STEPS = 100_000;
const START_ENV = 'LunarLander-v3';
const START_SEED = 1;

const COMMANDS =
  'train ppo | train simple | train pets | train model | eval | plot | replay | collect | model-report';

async function mainJob(): Promise<void> {
  const simpleDir = join('runs', `simple-${START_ENV}-s${START_SEED}`);
  const simpleStarted = existsSync(runPaths(simpleDir).config);
  console.log(
    `npm start: 1. the model-based agent (PPO in a learned model) on ${START_ENV} for ${START_REAL_STEPS} real ` +
      'steps; 2. model-free PPO on as many real steps; 3. evaluate, plot and replay the model-based agent',
  );
  if (simpleStarted && simpleRunFinished(simpleDir)) {
    console.log(`[1/5] ${simpleDir} is already trained; skipping (delete the folder to train again)`);
  } else if (simpleStarted) {
    console.log(`[1/5] continuing ${simpleDir} from its last checkpoint`);
    await trainSimple({ dir: simpleDir, resume: true });
  } else {
    console.log(
      `[1/5] training the model-based agent on ${START_ENV} for ${START_REAL_STEPS} real steps into ` +
        `${simpleDir} (npm run train -- simple --help for options)`,
    );
    await trainSimple(
      trainSimpleOptionsFromArgs([
        '--env',
        START_ENV,
        '--steps',
        String(START_REAL_STEPS),
        '--seed',
        String(START_SEED),
        '--out',
        simpleDir,
        // Alone on the machine, the run takes the second core for its refit and predictions: the same
        // numbers as on one thread, sooner (README, "Two cores").
        '--set',
        `threads=${availableParallelism() >= 2 ? 2 : 1}`,
      ]),
    );
  }
  // PPO gets the model-based run's own budget (the folder may predate a change of START_REAL_STEPS).
  const steps = readSimpleRunConfig(simpleDir, 'npm start').simple.totalRealSteps;
  if (steps !== START_REAL_STEPS) {
    console.log(
      `note: ${simpleDir} was started with ${steps} real steps, not START_REAL_STEPS = ${START_REAL_STEPS}; ` +
        `PPO gets ${steps} to match (delete the folder to train on ${START_REAL_STEPS})`,
    );
  }
  const ppoDir = join('runs', `ppo-${START_ENV}-s${START_SEED}-${steps}`);
  const ppoStarted = existsSync(runPaths(ppoDir).config);
  if (ppoStarted && ppoFinished(ppoDir)) {
    console.log(`[2/5] ${ppoDir} is already trained; skipping`);
  } else if (ppoStarted) {
    console.log(`[2/5] continuing the model-free PPO run ${ppoDir} from its last checkpoint`);
    await trainPpo({ dir: ppoDir, resume: true });
  } else {
    console.log(
      `[2/5] training model-free PPO on ${START_ENV} for the same ${steps} real steps into ${ppoDir}, ` +
        'for comparison',
    );
    await trainPpo(
      trainOptionsFromArgs([
        '--env',
        START_ENV,
        '--steps',
        String(steps),
        '--seed',
        String(START_SEED),
        '--out',
        ppoDir,
      ]),
    );
  }
  console.log(`[3/5] evaluating the model-based agent's greedy policy on 100 episodes (seeds from 1e9)`);
  evalRun([simpleDir]);
  console.log('[4/5] plotting both runs against real environment steps, and the model error and horizon');
  await plotRuns([
    simpleDir,
    ppoDir,
    '--title',
    `${START_ENV}: model-based PPO vs PPO, return against real steps`,
  ]);
  console.log(`[5/5] recording an episode of the model-based agent`);
  replayRun([simpleDir]);
}

function ppoFinished(dir: string): boolean {
  const config = readJson<PpoRunConfig>(runPaths(dir).config, 'npm start');
  return latestCheckpoint(dir)?.update === plannedUpdates(config.ppo, config.numEnvs);
}

/** A finished training run's last evaluation, one line. */
function reportFinished(result: { dir: string; finalEval: EvalSummary | null }): void {
  if (!result.finalEval) return;
  console.log(
    `finished ${result.dir}: final evaluation mean return ${result.finalEval.meanReturn.toFixed(1)} over ` +
      `${result.finalEval.episodes} episodes`,
  );
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      return mainJob();
    case 'train': {
      const [algorithm, ...flags] = rest;
      if (algorithm === 'model') {
        trainModels(trainModelOptionsFromArgs(flags));
        return;
      }
      if (algorithm === 'simple') {
        reportFinished(await trainSimple(trainSimpleOptionsFromArgs(flags)));
        return;
      }
      if (algorithm === 'pets') {
        reportFinished(await trainPets(trainPetsOptionsFromArgs(flags)));
        return;
      }
      if (algorithm !== 'ppo') {
        throw new UsageError(
          `train: unknown algorithm '${algorithm ?? ''}'; expected 'ppo', 'model', 'simple' or 'pets' ` +
            '(npm run train -- ppo ..., npm run train -- simple ..., npm run train -- pets ...)',
        );
      }
      reportFinished(await trainPpo(trainOptionsFromArgs(flags)));
      return;
    }
    case 'eval':
      evalRun(rest);
      return;
    case 'plot':
      await plotRuns(rest);
      return;
    case 'replay':
      replayRun(rest);
      return;
    case 'collect':
      await collectData(collectOptionsFromArgs(rest));
      return;
    case 'model-report':
      await modelReportFromArgs(rest);
      return;
    default:
      throw new UsageError(`unknown command '${command}'; expected one of: ${COMMANDS}`);
  }
}

runMain(main);
