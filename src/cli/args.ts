// Arguments for the command-line tools, on node's util.parseArgs (strict): each tool declares its
// options and usage; --help prints them; a mistake is one line saying what was wrong, then the usage.
import { parseArgs } from 'node:util';
import { OperatorError } from '../errors.ts';

export interface OptionSpec {
  /** integer: one whole number; integers: whole numbers separated by commas. */
  type: 'boolean' | 'string' | 'integer' | 'integers';
  /** A one-letter alias, e.g. h for -h. */
  short?: string;
  description: string;
  /** How the value is shown in the option list, e.g. N. */
  value?: string;
  /** For integer(s): the allowed range, and an example value for messages. */
  min?: number;
  max?: number;
  example?: string;
}

export interface CommandSpec<O extends Record<string, OptionSpec>> {
  /** Starts with "Usage: npm run <name>"; further lines for other forms. */
  usage: string;
  /** What the tool does, printed by --help after the usage. */
  about?: string;
  options: O;
  /** Whether it takes positional arguments (a question). Default: no. */
  positionals?: boolean;
}

type ValueOf<S extends OptionSpec> = S['type'] extends 'boolean'
  ? boolean
  : S['type'] extends 'integer'
    ? number
    : S['type'] extends 'integers'
      ? number[]
      : string;

export interface ParsedArgs<O extends Record<string, OptionSpec>> {
  values: { [K in keyof O]?: ValueOf<O[K]> };
  positionals: string[];
}

/** The flag as a user types it: -k for one-letter names, --json otherwise. */
const flagOf = (name: string) => (name.length === 1 ? `-${name}` : `--${name}`);

export function helpText(spec: CommandSpec<Record<string, OptionSpec>>): string {
  const rows: [string, string][] = Object.entries(spec.options).map(([name, o]) => {
    const flags = o.short && o.short !== name ? `-${o.short}, ${flagOf(name)}` : flagOf(name);
    return [o.type === 'boolean' ? flags : `${flags} ${o.value ?? 'VALUE'}`, o.description];
  });
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([flags]) => flags.length)) + 2;
  const lines = [spec.usage];
  if (spec.about) lines.push('', spec.about);
  lines.push('', 'Options:', ...rows.map(([flags, text]) => `  ${flags.padEnd(width)}${text}`));
  return `${lines.join('\n')}\n`;
}

/** A mistake in the arguments: one line, then the usage (runMain prints it to stderr, exit 1). */
export class UsageError extends OperatorError {
  constructor(problem: string, usage: string) {
    super(`${problem}\n${usage}`);
    this.name = 'UsageError';
  }
}

function integerProblem(name: string, o: OptionSpec): string {
  const range = o.min !== undefined && o.max !== undefined ? ` from ${o.min} to ${o.max}` : o.min !== undefined ? ` of at least ${o.min}` : '';
  const example = o.example ? `, e.g. ${flagOf(name)} ${o.example}` : '';
  return o.type === 'integers'
    ? `${flagOf(name)} takes whole numbers${range} separated by commas${example}`
    : `${flagOf(name)} takes a whole number${range}${example}`;
}

function toInteger(text: string, o: OptionSpec): number | undefined {
  if (!/^\s*[-+]?\d+\s*$/.test(text)) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || (o.min !== undefined && n < o.min) || (o.max !== undefined && n > o.max)) return undefined;
  return n;
}

/**
 * Parses argv for a tool. Returns undefined after printing the help for -h/--help (the tool then
 * just returns: exit 0). Throws UsageError for an unknown option, a missing or bad value, or an
 * argument the tool does not take. Everything after `--` is positional, even if it starts with -.
 */
export function parseCommand<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>, argv: string[] = process.argv.slice(2)): ParsedArgs<O> | undefined {
  const end = argv.indexOf('--');
  const optionPart = end >= 0 ? argv.slice(0, end) : argv;
  if (optionPart.includes('--help') || optionPart.includes('-h')) {
    process.stdout.write(helpText(spec));
    return undefined;
  }
  const options: Record<string, { type: 'boolean' | 'string'; short?: string }> = {};
  for (const [name, o] of Object.entries(spec.options)) {
    options[name] = { type: o.type === 'boolean' ? 'boolean' : 'string', ...(o.short && o.short !== name ? { short: o.short } : {}) };
  }
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: spec.positionals ?? false });
  } catch (error) {
    throw new UsageError(describeParseError(error as Error & { code?: string }, spec), spec.usage);
  }
  const values: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(parsed.values)) {
    const o = spec.options[name];
    if (raw === undefined || !o) continue;
    if (o.type === 'integer' || o.type === 'integers') {
      const parts = o.type === 'integer' ? [String(raw)] : String(raw).split(',').filter((p) => p.trim());
      const numbers = parts.map((p) => toInteger(p, o));
      if (numbers.length === 0 || numbers.some((n) => n === undefined)) throw new UsageError(integerProblem(name, o), spec.usage);
      values[name] = o.type === 'integer' ? numbers[0] : numbers;
    } else values[name] = raw;
  }
  return { values: values as ParsedArgs<O>['values'], positionals: parsed.positionals };
}

/** node's messages, on one line and in the tool's terms. */
function describeParseError(error: Error & { code?: string }, spec: CommandSpec<Record<string, OptionSpec>>): string {
  const firstLine = error.message.split('\n')[0];
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /Unknown option '([^']+)'/.exec(error.message)?.[1] ?? firstLine;
    return spec.positionals ? `Unknown option ${option} (a question that starts with "-" goes after --).` : `Unknown option ${option}.`;
  }
  if (error.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const argument = /Unexpected argument '([^']*)'/.exec(error.message)?.[1];
    return `Unexpected argument ${JSON.stringify(argument ?? '')}: this command takes options only.`;
  }
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    // "Option '-k' argument is ambiguous", "Option '--k <value>' argument missing", "Option '--json' does not take an argument"
    const flag = /Option '(?:-(\w), )?--?([\w-]+)/.exec(error.message);
    const name = flag && (spec.options[flag[2]] ? flag[2] : Object.keys(spec.options).find((n) => spec.options[n].short === flag[2]));
    const o = name ? spec.options[name] : undefined;
    if (name && o && o.type !== 'boolean') {
      return o.type === 'string' ? `${flagOf(name)} needs a value${o.example ? `, e.g. ${flagOf(name)} ${o.example}` : ''}` : integerProblem(name, o);
    }
    if (name && o) return `${flagOf(name)} takes no value.`;
  }
  return firstLine;
}
