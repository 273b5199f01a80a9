/**
 * The command line: `npm start` (the main job on its defaults: train PPO on LunarLander-v3 for 1M steps,
 * then evaluate, plot and replay it), and `npm run train | eval | plot | replay | collect -- ...`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { plannedUpdates } from '../rl/ppo.ts';
import { HelpRequested, UsageError } from './args.ts';
import { collectData, collectOptionsFromArgs } from './collect.ts';
import { evalRun } from './eval.ts';
import { modelReportFromArgs } from './model-report.ts';
import { plotRuns } from './plot.ts';
import { replayRun } from './replay.ts';
import { latestCheckpoint, readJson, runPaths } from './run-folder.ts';
import { type PpoRunConfig, trainOptionsFromArgs, trainPpo } from './train.ts';
import { trainModelOptionsFromArgs, trainModels } from './train-model.ts';

const COMMANDS = 'train ppo | train model | eval | plot | replay | collect | model-report';

async function mainJob(): Promise<void> {
  const dir = join('runs', 'ppo-LunarLander-v3-s1');
  const started = existsSync(runPaths(dir).config);
  const finished = started && isFinished(dir);
  if (finished) {
    console.log(`${dir} is already trained; evaluating it (delete the folder to train again)`);
  } else {
    console.log(
      started
        ? `continuing ${dir} from its last checkpoint`
        : `training PPO on LunarLander-v3 for 1M steps into ${dir} (npm run train -- ppo --help for options)`,
    );
    await trainPpo(started ? { dir, resume: true } : trainOptionsFromArgs(['--out', dir]));
  }
  evalRun([dir]);
  await plotRuns([dir]);
  replayRun([dir]);
}

function isFinished(dir: string): boolean {
  const config = readJson<PpoRunConfig>(runPaths(dir).config, 'npm start');
  return latestCheckpoint(dir)?.update === plannedUpdates(config.ppo, config.numEnvs);
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
      if (algorithm !== 'ppo') {
        throw new UsageError(
          `train: unknown algorithm '${algorithm ?? ''}'; expected 'ppo' or 'model' (npm run train -- ppo ...)`,
        );
      }
      const result = await trainPpo(trainOptionsFromArgs(flags));
      if (result.finalEval) {
        console.log(
          `finished ${result.dir}: greedy eval mean return ${result.finalEval.meanReturn.toFixed(1)} over ` +
            `${result.finalEval.episodes} episodes`,
        );
      }
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

main(process.argv.slice(2)).catch((error: Error) => {
  if (error instanceof HelpRequested) {
    console.log(error.message);
    return;
  }
  console.error(error instanceof UsageError ? error.message : `error: ${error.message}`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
});
