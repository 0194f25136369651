import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { runNpm } from '../helpers/run.ts';
import { seedCorpus } from '../helpers/corpus.ts';

const env = {
  ...seedCorpus().env,
  EMBEDDING_MODEL_PATH: process.env.EMBEDDING_MODEL_PATH ?? path.resolve('..', 'shared', 'models'),
};

test('npm start with no token and no keys builds the index and opens a terminal chat that answers, with follow-ups', async () => {
  const input = '上海市总工会2023年建成了多少间职工工间休息室？\n邓州市的爱心早餐项目每年制作成本多少？\n那有多少名志愿者参与？\n/quit\n';
  const { code, stdout, stderr } = await runNpm(['start'], { env, input });
  assert.equal(code, 0, stderr);
  assert.match(stdout, /未设置 TELEGRAM_BOT_TOKEN/);
  assert.match(stdout, /已收录 5 个版面、49 篇报道/);
  assert.match(stdout, /1400间/);
  assert.match(stdout, /来源\n\[1\] 上海市总推进职工工间休息室建设/);
  assert.match(stdout, /65名志愿者/);
  assert.match(stdout, /再见。/);
  assert.doesNotMatch(stdout + stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
});

test('npm run ask -- --json prints the documented shape', async () => {
  const { code, stdout } = await runNpm(['run', 'ask', '--', '--json', '陕煤集团的工会主席是谁？'], { env });
  assert.equal(code, 0);
  const parsed = JSON.parse(stdout);
  assert.equal(parsed.mode, 'extractive');
  assert.equal(parsed.refused, false);
  assert.match(parsed.answer, /李向东/);
  assert.deepEqual(Object.keys(parsed.citations[0]).sort(), ['articleId', 'file', 'headline', 'n', 'quote']);
  assert.ok(parsed.timings.totalMs >= 0);
});

test('ask reads stdin: plain questions and JSON conversations, one JSON line each; a bad line gets an error line', async () => {
  const lines = [
    '杭州市总工会为外卖骑手建设了多少个爱心驿站？',
    JSON.stringify({ question: '那有多少名志愿者参与？', history: [{ question: '邓州市的爱心早餐项目每年制作成本多少？', answer: '400余万元' }] }),
    '{"history": []}',
  ];
  const { code, stdout } = await runNpm(['run', 'ask'], { env, input: `${lines.join('\n')}\n` });
  assert.equal(code, 0);
  const out = stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(out.length, 3);
  assert.equal(out[0].refused, true);
  assert.match(out[1].answer, /65名志愿者/);
  assert.match(out[2].error, /needs a "question" string/);
});

test('ask and search explain their usage instead of answering an option or nothing', async () => {
  const help = await runNpm(['run', 'ask', '--', '--help'], { env });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: npm run ask/);
  for (const args of [['run', 'ask', '--', ''], ['run', 'ask'], ['run', 'search'], ['run', 'search', '--', '--bogus', '问题']]) {
    const { code, stdout, stderr } = await runNpm(args, { env, input: '' });
    assert.equal(code, 1, args.join(' '));
    assert.equal(stdout, '');
    assert.match(stderr, /Usage: npm run (ask|search)/);
  }
});
