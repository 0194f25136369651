import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runNpm } from '../helpers/run.ts';

test('npm run articles -- --json prints the segmented articles as pure JSON', { timeout: 60_000 }, async () => {
  const { code, stdout } = await runNpm(['run', 'articles', '--', '--json']);
  assert.equal(code, 0);
  const articles = JSON.parse(stdout);
  assert.equal(articles.length, 49);
  for (const field of ['id', 'file', 'headline', 'kicker', 'byline', 'kind', 'text']) assert.ok(field in articles[0], field);
});

test('npm run articles prints a readable table with a total', { timeout: 60_000 }, async () => {
  const { code, stdout } = await runNpm(['run', 'articles']);
  assert.equal(code, 0);
  assert.match(stdout, /^file\s+#\s+kind\s+headline\s+chars/);
  assert.match(stdout, /49 articles from 5 pages/);
});

test('a configuration mistake prints one clear message and no stack trace', { timeout: 60_000 }, async () => {
  for (const args of [['run', 'articles'], ['start']]) {
    const { code, stdout, stderr } = await runNpm(args, { env: { ADMIN_USER_IDS: 'abc' } });
    assert.equal(code, 1);
    assert.match(stderr, /ADMIN_USER_IDS: must be numeric Telegram user ids/);
    assert.doesNotMatch(stdout + stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
  }
});
