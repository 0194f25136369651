import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { runNpm } from '../helpers/run.ts';
import { seedCorpus } from '../helpers/corpus.ts';

const env = {
  ...seedCorpus().env,
  EMBEDDING_MODEL_PATH: process.env.EMBEDDING_MODEL_PATH ?? path.resolve('..', 'shared', 'models'),
  LOG_LEVEL: 'warn',
};

test('npm run reindex builds the index and prints a summary', async () => {
  const { code, stdout, stderr } = await runNpm(['run', 'reindex'], { env });
  assert.equal(code, 0, stderr);
  assert.match(stdout, /Indexed 5 pages, 49 articles, \d+ chunks in [\d.]+ s/);
  assert.match(stderr, /reindex: embedding chunks \d+\/\d+/, 'plain progress lines when not on a terminal');
});

test('npm run search -- --json -k 3 prints the documented JSON shape', async () => {
  const { code, stdout } = await runNpm(['run', 'search', '--', '--json', '-k', '3', '陕煤集团的工会主席是谁？'], { env });
  assert.equal(code, 0);
  const parsed = JSON.parse(stdout);
  assert.equal(parsed.results.length, 3);
  const [top] = parsed.results;
  for (const field of ['rank', 'score', 'articleId', 'headline', 'file', 'text']) assert.ok(field in top, field);
  assert.equal(top.rank, 1);
  assert.match(top.headline, /陕煤集团/);
  assert.match(top.text, /李向东/);
});

test('without a question, search reads stdin and prints one JSON line per question', async () => {
  const { code, stdout } = await runNpm(['run', 'search'], { env, input: '邓州爱心早餐惠及多少环卫工人？\n\n浏阳大瑶镇有多少家花炮企业？\n' });
  assert.equal(code, 0);
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  assert.match(lines[0].results[0].headline, /邓州/);
  assert.match(lines[1].results[0].headline, /浏阳/);
});

test('a bad -k is refused with one line, no stack trace', async () => {
  const { code, stderr } = await runNpm(['run', 'search', '--', '-k', 'lots', '问题'], { env });
  assert.equal(code, 1);
  assert.match(stderr, /-k takes a whole number/);
  assert.doesNotMatch(stderr, /\n\s+at /);
});
