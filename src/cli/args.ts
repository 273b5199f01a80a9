/**
 * A small, strict command-line parser: every flag is declared with a type, unknown flags and bad values
 * are errors that name them and show the usage. `--name value` and `--name=value`; booleans take no value.
 */

export type FlagType = 'int' | 'number' | 'string' | 'boolean' | 'list';

export interface FlagSpec {
  name: string;
  type: FlagType;
  help: string;
  /** For 'int' and 'number': the smallest allowed value. */
  min?: number;
  /** For 'int': the largest allowed value. */
  max?: number;
  /** For 'string': the allowed values. */
  choices?: readonly string[];
}

export interface CommandSpec {
  /** e.g. 'train ppo' */
  command: string;
  /** Positional arguments, shown in the usage line, e.g. '<run-dir> [run-dir ...]'. */
  positionals: string;
  minPositionals: number;
  maxPositionals: number;
  flags: readonly FlagSpec[];
}

export type FlagValue = number | string | boolean | string[];

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, FlagValue>;
}

export class UsageError extends Error {
  constructor(message: string, spec?: CommandSpec) {
    super(spec ? `${message}\n\n${usage(spec)}` : message);
    this.name = 'UsageError';
  }
}

/** `--help`: not an error; the caller prints the usage and exits 0. */
export class HelpRequested extends Error {
  constructor(spec: CommandSpec) {
    super(usage(spec));
    this.name = 'HelpRequested';
  }
}

export function usage(spec: CommandSpec): string {
  const [script, ...sub] = spec.command.split(' ');
  const args = [...sub, spec.positionals, '[flags]'].filter((part) => part !== '').join(' ');
  const lines = [`usage: npm run ${script} -- ${args}`];
  if (spec.flags.length > 0) lines.push('', 'flags:');
  const width = Math.max(...spec.flags.map((f) => f.name.length + (f.type === 'boolean' ? 0 : 8)), 0);
  for (const f of spec.flags) {
    const left = f.type === 'boolean' ? `--${f.name}` : `--${f.name} <${f.type === 'list' ? 'k=v' : f.type}>`;
    lines.push(`  ${left.padEnd(width + 4)}${f.help}${f.choices ? ` (${f.choices.join(' | ')})` : ''}`);
  }
  return lines.join('\n');
}

export function parseArgs(argv: readonly string[], spec: CommandSpec): ParsedArgs {
  const positionals: string[] = [];
  const flags: Record<string, FlagValue> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    if (arg === '--help') throw new HelpRequested(spec);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const flag = spec.flags.find((f) => f.name === name);
    if (!flag) throw new UsageError(`unknown flag '--${name}'`, spec);
    if (flag.type === 'boolean') {
      if (eq !== -1) throw new UsageError(`flag '--${name}' takes no value`, spec);
      flags[name] = true;
      continue;
    }
    const raw = eq !== -1 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined) throw new UsageError(`flag '--${name}' needs a value`, spec);
    flags[name] = parseValue(flag, raw, spec, flags[name]);
  }
  if (positionals.length < spec.minPositionals || positionals.length > spec.maxPositionals) {
    const expected =
      spec.minPositionals === spec.maxPositionals
        ? `${spec.minPositionals}`
        : `${spec.minPositionals} to ${spec.maxPositionals === Infinity ? 'any number' : spec.maxPositionals}`;
    throw new UsageError(
      `expected ${expected} positional argument(s) (${spec.positionals || 'none'}), got ${positionals.length}: ${JSON.stringify(positionals)}`,
      spec,
    );
  }
  return { positionals, flags };
}

function parseValue(
  flag: FlagSpec,
  raw: string,
  spec: CommandSpec,
  previous: FlagValue | undefined,
): FlagValue {
  const bad = (expected: string): never => {
    throw new UsageError(`--${flag.name} = '${raw}' is invalid; expected ${expected}`, spec);
  };
  switch (flag.type) {
    case 'int': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isSafeInteger(v)) bad('an integer');
      const below = flag.min !== undefined && v < flag.min;
      const above = flag.max !== undefined && v > flag.max;
      if (flag.max !== undefined && (below || above))
        bad(`an integer from ${flag.min ?? '-infinity'} to ${flag.max}`);
      if (below) bad(`an integer >= ${flag.min}`);
      return v;
    }
    case 'number': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) bad('a number');
      if (flag.min !== undefined && v < flag.min) bad(`a number >= ${flag.min}`);
      return v;
    }
    case 'string':
      if (flag.choices && !flag.choices.includes(raw)) bad(`one of ${flag.choices.join(', ')}`);
      return raw;
    case 'list':
      if (!/^[A-Za-z][A-Za-z0-9.]*=.+$/.test(raw)) bad('key=value');
      return [...((previous as string[] | undefined) ?? []), raw];
    default:
      return bad('a known flag type');
  }
}

/**
 * Turns `--set key=value` entries into config overrides: numbers, booleans, null and JSON lists are
 * parsed; the config's own validation then judges the values.
 */
export function parseOverrides(entries: readonly string[], known: readonly string[], spec: CommandSpec) {
  const overrides: Record<string, unknown> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const key = entry.slice(0, eq);
    const raw = entry.slice(eq + 1);
    if (!known.includes(key)) {
      throw new UsageError(
        `--set ${entry}: unknown option '${key}'; expected one of ${known.join(', ')}`,
        spec,
      );
    }
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // Not JSON: keep the string; validation names it if a string is not what the option takes.
    }
    overrides[key] = value;
  }
  return overrides;
}

/** What `--resume <dir>` parses to: the run folder, and the flags a resumed session may still take. */
export interface ResumeOptions {
  dir: string;
  resume: true;
  quiet: boolean;
  stopAfter: number | undefined;
  stopAtSteps: number | undefined;
}

/** The flags a resumed session takes; `--set` changes the saved config from the checkpoint on (config-changes.ts). */
const RESUME_FLAGS = ['resume', 'quiet', 'stop-after', 'stop-at-steps', 'set'];

/**
 * For a command whose `--resume` continues a run with its saved config: null without `--resume`, else the
 * resume options; any other flag given is a usage error naming it.
 */
export function resumeOptions(flags: ParsedArgs['flags'], spec: CommandSpec): ResumeOptions | null {
  if (flags.resume === undefined) return null;
  const others = Object.keys(flags).filter((k) => !RESUME_FLAGS.includes(k));
  if (others.length > 0) {
    throw new UsageError(
      `--resume continues a run with its saved config (--set changes it); drop ${others.map((k) => `--${k}`).join(', ')}`,
      spec,
    );
  }
  return {
    dir: flags.resume as string,
    resume: true,
    quiet: flags.quiet === true,
    stopAfter: flags['stop-after'] as number | undefined,
    stopAtSteps: flags['stop-at-steps'] as number | undefined,
  };
}

/** The flag every train command offers to end a session at a real-step count, for a later `--resume`. */
export const STOP_AT_STEPS_FLAG: FlagSpec = {
  name: 'stop-at-steps',
  type: 'int',
  min: 1,
  help: 'stop at the first update with at least this many real steps (checkpointed and evaluated there)',
};

/**
 * Pulls every `--set k=v [k=v ...]` (and `--set=k=v`) out of argv: one --set takes all the key=value words
 * after it. Returns the entries and the other arguments, for `parseArgs`.
 */
export function extractSets(argv: readonly string[], spec: CommandSpec): { sets: string[]; rest: string[] } {
  const sets: string[] = [];
  const rest: string[] = [];
  const isEntry = (word: string | undefined) =>
    word !== undefined && !word.startsWith('--') && /^[A-Za-z][A-Za-z0-9.]*=/.test(word);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg !== '--set' && !arg.startsWith('--set=')) {
      rest.push(arg);
      continue;
    }
    const before = sets.length;
    if (arg.startsWith('--set=')) sets.push(arg.slice('--set='.length));
    while (isEntry(argv[i + 1])) sets.push(argv[++i]!);
    if (sets.length === before) {
      const next = argv[i + 1];
      throw new UsageError(
        next === undefined || next.startsWith('--')
          ? `flag '--set' needs key=value`
          : `--set ${next}: expected key=value`,
        spec,
      );
    }
  }
  for (const entry of sets) {
    if (!/^[A-Za-z][A-Za-z0-9.]*=.+$/.test(entry)) {
      throw new UsageError(`--set ${entry}: expected key=value`, spec);
    }
  }
  return { sets, rest };
}

/** A --set value shaped after the option's default: lists as 1,2,3 or JSON; Infinity for numbers. */
export function parseSetValue(raw: string, like: unknown): unknown {
  if (Array.isArray(like) && !raw.trim().startsWith('[')) {
    const parts = raw.split(',').map((p) => p.trim());
    const numbers = parts.map(Number);
    return parts.every((p) => p !== '') && numbers.every((n) => !Number.isNaN(n)) ? numbers : raw;
  }
  if (/^[+-]?(Infinity|inf)$/i.test(raw.trim())) {
    return raw.trim().startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  try {
    return JSON.parse(raw);
  } catch {
    // Not JSON: the string itself; the config's validation names it if a string is not what it takes.
    return raw;
  }
}

/** `fn`'s result; an error it throws (a config check) becomes a usage error, for exit status 2. */
export function usageOnError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
