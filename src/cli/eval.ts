/**
 * `npm run eval -- <run-dir> --episodes 100`: greedy evaluation of a run's policy (PPO or model-based);
 * prints and writes eval.json. With `--planner cem [--set cem.horizon=15 ...]`, model-predictive control on
 * the run's world model instead (its policy as prior and critic where the settings ask), written to
 * eval-cem.json.
 */
import { statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ENV_IDS, type EnvId } from '../env/index.ts';
import { type CommandSpec, extractSets, type ParsedArgs, parseArgs, UsageError } from './args.ts';
import { EVAL_SEED_BASE, type EvalSummary, evaluatePlanner, evaluatePolicy } from './evaluate.ts';
import { loadPolicyFile } from './policy-file.ts';
import { runPaths, writeJson } from './run-folder.ts';
import { CEM_KEYS, loadRunPlanner, PLANNERS, parseCemOverrides } from './run-planner.ts';
import { checkpointUnit, loadRunPolicy, readRunConfig } from './run-policy.ts';

/** A planner plans every step one episode at a time: fewer episodes unless asked. */
export const PLANNER_EPISODES = 10;

export const evalSpec: CommandSpec = {
  command: 'eval',
  positionals: '<run-dir | policy.safetensors>',
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
    {
      name: 'env',
      type: 'string',
      choices: ENV_IDS,
      help: "a policy file's env, where its metadata names none (a run folder's own policy.safetensors)",
    },
    { name: 'wind', type: 'boolean', help: "a policy file's env with wind (with --env)" },
    {
      name: 'planner',
      type: 'string',
      choices: [...PLANNERS],
      help: `plan every action in the run's world model (default: act with the policy; ${PLANNER_EPISODES} episodes by default)`,
    },
    {
      name: 'set',
      type: 'list',
      help: `planner option(s), repeatable: cem.<${CEM_KEYS.join(' | ')}>=value`,
    },
  ],
};

export function evalRun(argv: readonly string[], log: (line: string) => void = console.log): EvalSummary {
  const { sets, rest } = extractSets(argv, evalSpec);
  const { positionals, flags } = parseArgs(rest, evalSpec);
  const dir = positionals[0]!;
  // A missing x.safetensors is a missing file, not a run folder without its config.json.
  if (isFile(dir) || dir.endsWith('.safetensors')) {
    if (flags.planner !== undefined || sets.length > 0) {
      throw new UsageError(`${dir} is a policy file; --planner and --set need a run folder`, evalSpec);
    }
    return evalPolicyFile(dir, flags, log);
  }
  if (flags.env !== undefined || flags.wind !== undefined) {
    throw new UsageError('--env and --wind are for a policy file; a run folder names its env', evalSpec);
  }
  if (flags.planner !== undefined) return evalRunPlanner(dir, flags, sets, log);
  if (sets.length > 0) throw new UsageError('--set takes planner options; add --planner cem', evalSpec);
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

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** A lone policy file: evaluated as a run's policy is; the summary goes to <name>.eval.json beside it. */
function evalPolicyFile(file: string, flags: ParsedArgs['flags'], log: (line: string) => void): EvalSummary {
  const { policy, envId, envOptions, metadata } = loadPolicyFile(
    file,
    flags.env as EnvId | undefined,
    flags.wind as boolean | undefined,
  );
  const summary = evaluatePolicy(
    policy,
    envId,
    envOptions,
    (flags.episodes as number | undefined) ?? 100,
    (flags.seed as number | undefined) ?? EVAL_SEED_BASE,
  );
  const out = join(dirname(file), `${basename(file, '.safetensors')}.eval.json`);
  writeJson(out, { envId, envOptions, file: basename(file), metadata, ...summary });
  log(
    `${file} (${envId}${envOptions.enableWind ? ' with wind' : ''}): ${summary.episodes} episodes, mean return ` +
      `${summary.meanReturn.toFixed(1)} ± ${summary.stdReturn.toFixed(1)}, min ${summary.minReturn.toFixed(1)}, ` +
      `${(summary.solvedFraction * 100).toFixed(0)}% at 200 or more -> ${out}`,
  );
  return summary;
}

function evalRunPlanner(
  dir: string,
  flags: ParsedArgs['flags'],
  sets: string[],
  log: (line: string) => void,
): EvalSummary {
  let overrides: ReturnType<typeof parseCemOverrides>;
  try {
    overrides = parseCemOverrides(sets);
  } catch (e) {
    throw new UsageError((e as Error).message, evalSpec);
  }
  const config = readRunConfig(dir);
  const { controller, config: cem, update } = loadRunPlanner(dir, overrides);
  const episodes = (flags.episodes as number | undefined) ?? PLANNER_EPISODES;
  const summary = evaluatePlanner(
    controller,
    config.envId,
    config.envOptions,
    episodes,
    (flags.seed as number | undefined) ?? EVAL_SEED_BASE,
    (e, r, length) => log(`  episode ${e + 1}/${episodes}: return ${r.toFixed(1)}, ${length} steps`),
  );
  const unit = checkpointUnit(config);
  const file = join(dir, 'eval-cem.json');
  writeJson(file, {
    envId: config.envId,
    algorithm: config.algorithm,
    [unit]: update,
    planner: 'cem',
    cem,
    ...summary,
  });
  log(
    `${dir} (CEM on the ${config.algorithm} run's model, ${unit} ${update}): ${summary.episodes} episodes, mean return ` +
      `${summary.meanReturn.toFixed(1)} ± ${summary.stdReturn.toFixed(1)}, min ${summary.minReturn.toFixed(1)}, ` +
      `${(summary.solvedFraction * 100).toFixed(0)}% at 200 or more, ${summary.msPerAction.toFixed(1)} ms per action -> ${file}`,
  );
  return summary;
}
