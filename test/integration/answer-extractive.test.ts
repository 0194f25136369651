// needs: model
// Extractive answers (the default, no keys) on the seeds, with the real model.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goldArticleId, loadQuestions } from '../../src/eval/questions.ts';
import { seedServices } from '../helpers/services.ts';

const services = await seedServices();
const answerer = services.answerer();
const squash = (s: string) => s.replace(/\s/g, '');

test('extractive answers to the fact questions hold their key number or name and cite the gold article', async () => {
  const facts = loadQuestions().filter((q) => q.type === 'fact');
  let held = 0;
  let cited = 0;
  const misses: string[] = [];
  for (const q of facts) {
    const answer = await answerer.answer(q.question);
    assert.equal(answer.mode, 'extractive');
    assert.equal(answer.refused, false, `${q.id} refused`);
    if (q.facts.every((f) => squash(answer.text).includes(squash(f)))) held++;
    else misses.push(`${q.id}: ${q.facts.join(', ')}`);
    if (answer.citations[0]?.articleId === goldArticleId(q, services.index.current().articles)) cited++;
  }
  assert.ok(held / facts.length >= 0.9, `${held}/${facts.length} hold their facts; missing ${misses.join('; ')}`);
  assert.ok(cited / facts.length >= 0.95, `${cited}/${facts.length} cite the gold article first`);
});

test('an answer reads as an answer: a lead line with a citation, whole sentences, used citations only', async () => {
  const answer = await answerer.answer('陕煤集团的工会主席是谁？');
  const [lead] = answer.text.split('\n');
  assert.match(lead, /李向东.*。\[1\]$/);
  assert.deepEqual(answer.citations.map((c) => c.n), [1]);
  assert.ok(answer.citations[0].quote.includes('李向东'));
  for (const line of answer.text.split('\n')) assert.match(line, /[。！？”）]\[\d\]$|。$/, `a sentence fragment: ${line}`);
  assert.ok(answer.timings.totalMs >= answer.timings.retrieveMs);
});

test('for a number question the sentence holding the number comes first', async () => {
  const answer = await answerer.answer('邓州市的“爱心早餐”项目每年制作成本是多少？');
  assert.match(answer.text.split('\n')[0], /400余万元/);
});

test('unanswerable questions are refused plainly, with the closest headlines', async () => {
  const answer = await answerer.answer('杭州市总工会为外卖骑手建设了多少个爱心驿站？');
  assert.equal(answer.refused, true);
  assert.deepEqual(answer.citations, []);
  assert.match(answer.text, /^未在已收录的报道中找到/);
  assert.match(answer.text, /没有提到“杭州”/);
  assert.equal(answer.suggestions?.length, 3);
});

test('a covered topic with the asked figure missing says what is reported and that the rest is not', async () => {
  const answer = await answerer.answer('上海市总工会2024年建设改善职工工间休息室计划投入多少资金？');
  assert.equal(answer.refused, false);
  assert.match(answer.text, /1000间/);
  assert.match(answer.text, /报道中没有给出金额的具体数字/);
});

test('a follow-up carries the previous turn\'s article and terms', async () => {
  const first = await answerer.answer('邓州市的爱心早餐项目每年制作成本多少？');
  const history = [{ question: '邓州市的爱心早餐项目每年制作成本多少？', answer: first.text, articleIds: first.citations.map((c) => c.articleId) }];
  const followUp = await answerer.answer('那有多少名志愿者参与？', history);
  assert.match(followUp.rewrittenQuestion ?? '', /邓州/);
  assert.equal(followUp.citations[0].articleId, first.citations[0].articleId);
  assert.match(followUp.text, /65名志愿者/);
  const standalone = await answerer.answer('浏阳大瑶镇有多少家花炮上下游企业？', history);
  assert.equal(standalone.rewrittenQuestion, undefined, 'a standalone question is not rewritten');
});

test('questions in English and Traditional Chinese get answers in Simplified Chinese from the right article', async () => {
  const english = await answerer.answer('How many volunteers take part in the Dengzhou free breakfast project?');
  assert.match(english.citations[0]?.headline ?? '', /邓州/);
  const traditional = await answerer.answer('浙江省總工會要求每年培育多少個省級職工文體活動優秀興趣小組？');
  assert.match(traditional.text, /120个/);
});

test('off-topic, nonsense and emoji-only input is refused, not answered from a loosely related article', async () => {
  for (const question of ['What is the capital of France?', 'asdfgh', '今天北京的天气怎么样？', 'Who won the football World Cup in 2022?']) {
    const answer = await answerer.answer(question);
    assert.equal(answer.refused, true, `${question} → ${answer.text.slice(0, 60)}`);
    assert.deepEqual(answer.citations, []);
  }
  const history = [{ question: '邓州市的爱心早餐项目每年制作成本多少？', answer: '400余万元', articleIds: [] }];
  const emoji = await answerer.answer('👍', history);
  assert.equal(emoji.refused, true);
  assert.match(emoji.text, /请用文字写下你的问题/);
  const long = await services.answerer().answer('请问'.repeat(300));
  assert.match(long.text, /问题太长了（600 字），请精简到 500 字以内再问/);
});

test('a refusal names a place as missing only when no retrieved article mentions it', async () => {
  const answer = await answerer.answer('贵阳市总工会为环卫工人设置了多少个爱心早餐点？');
  assert.equal(answer.refused, true);
  assert.match(answer.text, /没有提到“贵阳”/);
  assert.doesNotMatch(answer.text, /没有提到“[^”]*邓州/);
});

test('a follow-up that names another place switches to it instead of staying on the last article', async () => {
  const first = await answerer.answer('浏阳焰火晚会邀请了多少名花炮工人？');
  assert.match(first.citations[0]?.headline ?? '', /浏阳/);
  const history = [{ question: '浏阳焰火晚会邀请了多少名花炮工人？', answer: first.text, articleIds: first.citations.map((c) => c.articleId) }];
  const switched = await answerer.answer('那深圳盐田区呢？', history);
  assert.equal(switched.refused, false, switched.text);
  assert.match(switched.citations[0]?.headline ?? '', /盐田/);
});
