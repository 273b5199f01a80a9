/**
 * `npm run sweep -- sweeps/<name>.json [--out runs/<name>] [--jobs N | --redis URL]`: reads and checks the
 * sweep file, picks the transport (local worker processes, or BullMQ jobs on Redis for `npm run worker`
 * processes anywhere) and runs the one controller (controller.ts) through it.
 */
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { type CommandSpec, parseArgs, UsageError } from '../cli/args.ts';
import { runSweep } from './controller.ts';
import { LocalTransport } from './local-transport.ts';
import { QueueTransport } from './queue-transport.ts';
import { checkReachable, hidePassword, parseRedisUrl, type RedisTarget } from './redis-connection.ts';
import { readSweepFile } from './sweep-file.ts';
import type { TrialTransport } from './transport.ts';
import { checkSweepArgs } from './trial-args.ts';

export const sweepSpec: CommandSpec = {
  command: 'sweep',
  positionals: '<sweep-file>',
  minPositionals: 1,
  maxPositionals: 1,
  flags: [
    {
      name: 'out',
      type: 'string',
      help: "the sweep's folder: sweep.json, report.md, charts (default runs/<file name>)",
    },
    {
      name: 'jobs',
      type: 'int',
      min: 1,
      help: `local worker processes (default one per core: ${availableParallelism()})`,
    },
    {
      name: 'redis',
      type: 'string',
      help:
        'trials as BullMQ jobs on this Redis server, redis://[:password@]host:port, taken by `npm run worker` ' +
        'processes on any machine (password from the URL or REDIS_PASSWORD)',
    },
  ],
};

/** `error` with the password masked, of the same kind (a usage error keeps its exit status). */
export function withoutPassword(error: unknown, target: RedisTarget | null): Error {
  const e = error as Error;
  const message = hidePassword(e.message, target);
  return e instanceof UsageError ? new UsageError(message) : new Error(message);
}

export async function sweepCommand(
  argv: readonly string[],
  log: (line: string) => void = console.log,
): Promise<void> {
  const { positionals, flags } = parseArgs(argv, sweepSpec);
  const file = positionals[0]!;
  const sweep = readSweepFile(file);
  try {
    checkSweepArgs(sweep);
  } catch (e) {
    throw new UsageError(`sweep file ${file}: ${(e as Error).message}`);
  }
  const out = (flags.out as string | undefined) ?? join('runs', basename(file).replace(/\.json$/i, ''));
  const url = flags.redis as string | undefined;
  if (url !== undefined && flags.jobs !== undefined) {
    throw new UsageError(
      '--jobs counts local worker processes; with --redis, start `npm run worker` processes instead',
      sweepSpec,
    );
  }
  let target: RedisTarget | null = null;
  let transport: TrialTransport;
  try {
    if (url !== undefined) {
      target = parseRedisUrl(url);
      await checkReachable(target);
      transport = new QueueTransport(target, log);
      log(
        `waiting for workers to take the jobs: npm run worker -- --redis ${target.shown} --store <folder> ` +
          `(a folder every worker reaches; the trials go to <folder>/${basename(resolve(out))}/)`,
      );
    } else {
      transport = new LocalTransport(
        dirname(resolve(out)),
        (flags.jobs as number | undefined) ?? availableParallelism(),
        log,
      );
    }
  } catch (e) {
    throw withoutPassword(e, target);
  }
  try {
    await runSweep({ sweep, file, out, transport, transportKind: target ? 'redis' : 'local', log });
  } catch (e) {
    throw withoutPassword(e, target);
  } finally {
    await transport.close();
  }
}
