/**
 * `npm run eval -- <run-dir> --episodes 100`: greedy evaluation of a run's policy (PPO or model-based);
 * prints and writes eval.json.
 */
import { type CommandSpec, parseArgs } from './args.ts';
import { EVAL_SEED_BASE, type EvalSummary, evaluatePolicy } from './evaluate.ts';
import { runPaths, writeJson } from './run-folder.ts';
import { checkpointUnit, loadRunPolicy } from './run-policy.ts';

export const evalSpec: CommandSpec = {
  command: 'eval',
  positionals: '<run-dir>',
  minPositionals: 1,
  maxPositionals: 1,
  flags: [
    { name: 'episodes', type: 'int', min: 1, help: 'episodes, one seed each (default 100)' },
    {
      name: 'seed',
      type: 'int',
      min: 0,
      help: `first episode seed (default ${EVAL_SEED_BASE}, far from training seeds)`,
    },
  ],
};

export function evalRun(argv: readonly string[], log: (line: string) => void = console.log): EvalSummary {
  const { positionals, flags } = parseArgs(argv, evalSpec);
  const dir = positionals[0]!;
  const { config, policy, update } = loadRunPolicy(dir);
  const episodes = (flags.episodes as number | undefined) ?? 100;
  const summary = evaluatePolicy(
    policy,
    config.envId,
    config.envOptions,
    episodes,
    (flags.seed as number | undefined) ?? EVAL_SEED_BASE,
  );
  const unit = checkpointUnit(config);
  writeJson(runPaths(dir).eval, {
    envId: config.envId,
    algorithm: config.algorithm,
    update,
    ...(unit === 'update' ? {} : { [unit]: update }),
    ...summary,
  });
  log(
    `${dir} (${config.algorithm} on ${config.envId}, ${unit} ${update}): ${summary.episodes} episodes, mean return ` +
      `${summary.meanReturn.toFixed(1)} ± ${summary.stdReturn.toFixed(1)}, min ${summary.minReturn.toFixed(1)}, ` +
      `median ${summary.medianReturn.toFixed(1)}, ${(summary.solvedFraction * 100).toFixed(0)}% at 200 or more, ` +
      `mean length ${summary.meanLength.toFixed(0)} -> ${runPaths(dir).eval}`,
  );
  return summary;
}
