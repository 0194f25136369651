// The command-line tools understand their arguments before anything else: --help and mistakes
// are answered without loading the configuration, the model or the index. So no model is
// needed here, and INDEX_DIR (a temporary folder) must stay empty throughout.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runNpm } from '../helpers/run.ts';
import { tempDir } from '../helpers/tmp.ts';

const indexDir = tempDir('newsbot-usage-');
// A model folder that does not exist: nothing here may need the model.
const env = { INDEX_DIR: indexDir, EMBEDDING_MODEL_PATH: path.join(tempDir('newsbot-no-model-'), 'none'), LOG_LEVEL: undefined };
const noStackTrace = (text: string) => assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+/, 'no stack trace');

const TOOLS: { args: string[]; usage: string }[] = [
  ...['articles', 'reindex', 'search', 'eval', 'bench', 'ask', 'chat', 'feedback'].map((name) => ({ args: ['run', name], usage: `npm run ${name}` })),
  { args: ['start'], usage: 'npm start' },
];

for (const { args, usage } of TOOLS) {
  test(`${usage} -- --help prints the usage and exits 0; an unknown option exits 1 with the usage on stderr`, { timeout: 60_000 }, async () => {
    const [longHelp, shortHelp, bogus] = await Promise.all(['--help', '-h', '--bogus'].map((option) => runNpm([...args, '--', option], { env })));
    for (const [option, { code, stdout, stderr }] of [['--help', longHelp], ['-h', shortHelp]] as const) {
      assert.equal(code, 0, `${usage} -- ${option}: ${stderr}`);
      assert.ok(stdout.startsWith(`Usage: ${usage}`), `${usage} -- ${option} printed:\n${stdout}`);
      assert.match(stdout, /-h, --help/);
    }
    const { code, stdout, stderr } = bogus;
    assert.equal(code, 1, stderr);
    assert.equal(stdout, '');
    assert.match(stderr, /^Unknown option --bogus\b.*\nUsage: /);
    assert.ok(stderr.includes(`Usage: ${usage}`), stderr);
    noStackTrace(stderr);
  });
}

test('npm run reindex -- --help does not build an index, nor does a stray argument', { timeout: 30_000 }, async () => {
  const help = await runNpm(['run', 'reindex', '--', '--help'], { env });
  assert.equal(help.code, 0);
  const stray = await runNpm(['run', 'reindex', '--', 'now'], { env });
  assert.equal(stray.code, 1);
  assert.match(stray.stderr, /^Unexpected argument "now".*\nUsage: npm run reindex/);
  assert.deepEqual(readdirSync(indexDir), []);
});

test('npm run ask -- -k is refused as an unknown option, not answered as a question', { timeout: 30_000 }, async () => {
  const { code, stdout, stderr } = await runNpm(['run', 'ask', '--', '-k'], { env });
  assert.equal(code, 1);
  assert.equal(stdout, '');
  assert.match(stderr, /^Unknown option -k\b/);
  assert.match(stderr, /Usage: npm run ask -- \[--json\] "问题"/);
  assert.match(stderr, /-- "-问题"/, 'the usage says how to ask a question that starts with a dash');
  noStackTrace(stderr);
});

test('ask and search explain their usage instead of answering an option or nothing', { timeout: 60_000 }, async () => {
  const cases = [['run', 'ask', '--', ''], ['run', 'ask'], ['run', 'search'], ['run', 'search', '--', '--bogus', '问题']];
  const results = await Promise.all(cases.map((args) => runNpm(args, { env, input: '' })));
  for (const [i, args] of cases.entries()) {
    const { code, stdout, stderr } = results[i];
    assert.equal(code, 1, args.join(' '));
    assert.equal(stdout, '');
    assert.match(stderr, /Usage: npm run (ask|search)/);
    noStackTrace(stderr);
  }
});

test('a bad value is refused with one line saying what was wrong, then the usage', { timeout: 60_000 }, async () => {
  const cases: [string[], RegExp][] = [
    [['run', 'search', '--', '-k', 'lots', '问题'], /^-k takes a whole number from 1 to 50, e\.g\. -k 5\nUsage: npm run search/],
    [['run', 'search', '--', '-k', '0', '问题'], /^-k takes a whole number from 1 to 50/],
    [['run', 'search', '--', '问题', '-k'], /^-k takes a whole number from 1 to 50/],
    [['run', 'search', '--', '--json=yes', '问题'], /^--json takes no value\.\nUsage: npm run search/],
    [['run', 'bench', '--', '--sizes', '10000,many'], /^--sizes takes whole numbers .* separated by commas, e\.g\. --sizes 10000,100000\nUsage: npm run bench/],
    [['run', 'articles', '--', 'extra'], /^Unexpected argument "extra".*\nUsage: npm run articles/],
  ];
  const results = await Promise.all(cases.map(([args]) => runNpm(args, { env })));
  for (const [i, [args, message]] of cases.entries()) {
    const { code, stdout, stderr } = results[i];
    assert.equal(code, 1, args.join(' '));
    assert.equal(stdout, '', args.join(' '));
    assert.match(stderr, message);
    noStackTrace(stderr);
  }
});

test('nothing above loaded or built an index', { timeout: 5_000 }, () => {
  assert.deepEqual(readdirSync(indexDir), []);
});
