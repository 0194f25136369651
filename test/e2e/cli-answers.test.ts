// needs: model
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runNpm } from '../helpers/run.ts';
import { seedCorpus } from '../helpers/corpus.ts';

// The model comes with EMBEDDING_MODEL_PATH from the environment (test/run.ts checks it is there).
const env = seedCorpus().env;

test('npm start with no token and no keys builds the index and opens a terminal chat that answers, with follow-ups', { timeout: 180_000 }, async () => {
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

test('npm run ask -- --json prints the documented shape', { timeout: 120_000 }, async () => {
  const { code, stdout } = await runNpm(['run', 'ask', '--', '--json', '陕煤集团的工会主席是谁？'], { env });
  assert.equal(code, 0);
  const parsed = JSON.parse(stdout);
  assert.equal(parsed.mode, 'extractive');
  assert.equal(parsed.refused, false);
  assert.match(parsed.answer, /李向东/);
  assert.deepEqual(Object.keys(parsed.citations[0]).sort(), ['articleId', 'file', 'headline', 'n', 'quote']);
  assert.ok(parsed.timings.totalMs >= 0);
});

test('ask reads stdin: plain questions and JSON conversations, one JSON line each; a bad line gets an error line', { timeout: 120_000 }, async () => {
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

test('a question that starts with a dash is asked after --', { timeout: 120_000 }, async () => {
  const { code, stdout, stderr } = await runNpm(['run', 'ask', '--', '--json', '--', '-k 是什么意思？'], { env });
  assert.equal(code, 0, stderr);
  const parsed = JSON.parse(stdout);
  assert.equal(parsed.refused, true);
  assert.match(parsed.answer, /-k 是什么意思/);
});
