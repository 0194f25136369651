// needs: model
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runNpm } from '../helpers/run.ts';
import { seedCorpus } from '../helpers/corpus.ts';

// The model comes with EMBEDDING_MODEL_PATH from the environment (test/run.ts checks it is there).
// No LOG_LEVEL: command-line tools log warnings only by default.
const env = { ...seedCorpus().env, LOG_LEVEL: undefined };
const noInfoLogs = (stderr: string) => assert.doesNotMatch(stderr, / (INFO|DEBUG) /, 'warnings only unless LOG_LEVEL is set');

test('npm run reindex builds the index and prints a summary', { timeout: 120_000 }, async () => {
  const { code, stdout, stderr } = await runNpm(['run', 'reindex'], { env });
  assert.equal(code, 0, stderr);
  assert.match(stdout, /Indexed 5 pages, 49 articles, \d+ chunks in [\d.]+ s/);
  assert.match(stderr, /reindex: embedding chunks \d+\/\d+/, 'plain progress lines when not on a terminal');
  noInfoLogs(stderr);
});

test('npm run search -- --json -k 3 prints the documented JSON shape', { timeout: 120_000 }, async () => {
  const { code, stdout, stderr } = await runNpm(['run', 'search', '--', '--json', '-k', '3', '陕煤集团的工会主席是谁？'], { env });
  assert.equal(code, 0, stderr);
  noInfoLogs(stderr);
  const parsed = JSON.parse(stdout);
  assert.equal(parsed.results.length, 3);
  const [top] = parsed.results;
  for (const field of ['rank', 'score', 'articleId', 'headline', 'file', 'text']) assert.ok(field in top, field);
  assert.equal(top.rank, 1);
  assert.match(top.headline, /陕煤集团/);
  assert.match(top.text, /李向东/);
});

test('without a question, search reads stdin and prints one JSON line per question', { timeout: 120_000 }, async () => {
  const { code, stdout } = await runNpm(['run', 'search'], { env, input: '邓州爱心早餐惠及多少环卫工人？\n\n浏阳大瑶镇有多少家花炮企业？\n' });
  assert.equal(code, 0);
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  assert.match(lines[0].results[0].headline, /邓州/);
  assert.match(lines[1].results[0].headline, /浏阳/);
});

test('LOG_LEVEL=info brings the operator logs back', { timeout: 120_000 }, async () => {
  const { code, stderr } = await runNpm(['run', 'search', '--', '邓州爱心早餐'], { env: { ...env, LOG_LEVEL: 'info' } });
  assert.equal(code, 0, stderr);
  assert.match(stderr, /INFO  Index \S+ loaded/);
});
