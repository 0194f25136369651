// Scoring one hand-made answer per category, and the first-line "not reported" check (src/eval/score.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Answer, Citation } from '../../src/answer/types.ts';
import { normaliseQuestions, type RawQuestion } from '../../src/eval/questions.ts';
import { contextFacts, firstLineSaysNotReported, scoreAnswer, summarise } from '../../src/eval/score.ts';

const cite = (n: number, articleId: string): Citation => ({ n, articleId, headline: articleId, file: `${articleId}.txt`, quote: '' });
const answer = (text: string, citations: Citation[] = [], extra: Partial<Answer> = {}): Answer => ({
  text,
  citations,
  refused: false,
  coverage: 'full',
  notReported: [],
  mode: 'extractive',
  timings: { totalMs: 10, retrieveMs: 5, generateMs: 5 },
  ...extra,
});
const refusal = (text = '未在已收录的报道中找到答案。') => answer(text, [], { refused: true, coverage: 'none' });
const G = (id: string) => ({ file: `${id}.txt`, headline: id });
const question = (raw: Partial<RawQuestion> & Pick<RawQuestion, 'type'>) =>
  normaliseQuestions([{ id: 't1', question: '？', gold: null, split: 'holdout', ...raw }])[0];

test('the first line must say what is not reported; a note further down does not count', () => {
  assert.equal(firstLineSaysNotReported('报道没有提到2024年实际建成的数量。\n报道只说2023年建成1400间。[1]'), true);
  assert.equal(firstLineSaysNotReported('\n  文中未公布获奖者名单。'), true);
  assert.equal(firstLineSaysNotReported('报道并未给出单份早餐的成本。'), true);
  assert.equal(firstLineSaysNotReported('2023年建成1400间。[1]\n报道没有提到2024年的实际数量。'), false);
  assert.equal(firstLineSaysNotReported('上海2023年建成1400间。[1]'), false);
});

test('single answer: all facts, whitespace-insensitive, and the first citation is gold', () => {
  const q = question({ type: 'detail', gold: [G('a')], facts: ['1000间以上', 'Li Ming'] });
  const hit = scoreAnswer(q, answer('明年将新建 1000 间以上，LiMing说。[1]', [cite(1, 'a')]), ['a']);
  assert.equal(hit.allFacts, true);
  assert.equal(hit.firstCitationGold, true);
  assert.deepEqual(hit.misses, []);
  const miss = scoreAnswer(q, answer('明年将新建1000间以上。[1][2]', [cite(1, 'b'), cite(2, 'a')]), ['a']);
  assert.equal(miss.allFacts, false);
  assert.equal(miss.goldCited, true);
  assert.equal(miss.firstCitationGold, false);
  assert.deepEqual(miss.misses, ['missing Li Ming', 'first citation not gold']);
  const refused = scoreAnswer(q, refusal('未找到“1000间以上 Li Ming”的答案。'), ['a']);
  assert.equal(refused.falseRefusal, true);
  assert.equal(refused.allFacts, false, 'a refusal echoing the question holds no fact');
  const hedged = scoreAnswer(q, answer('报道没有给出具体数量。\n相关报道只提到：明年将新建1000间以上。[1]', [cite(1, 'a')], { coverage: 'partial' }), ['a']);
  const f = summarise([hit, miss, refused, hedged]);
  assert.deepEqual(f.falseRefusals, { n: 4, count: 1, share: 0.25 });
  assert.deepEqual(f.answerableSaysNotReported, { n: 4, count: 1, share: 0.25 }, 'a wrong "not reported" is counted apart');
});

test('list: every gold article\'s term is needed; one missing fails the question', () => {
  const q = question({ type: 'list', gold: [G('a'), G('b'), G('c')], facts: ['广西', '吴忠', '钦州'] });
  const full = scoreAnswer(q, answer('广西[1]、吴忠[2]、钦州[3]都在试点。', [cite(1, 'a'), cite(2, 'b'), cite(3, 'c')]), ['a', 'b', 'c']);
  assert.equal(full.allFacts, true);
  assert.equal(full.goldsCitedShare, 1);
  const short = scoreAnswer(q, answer('广西[1]、吴忠[2]在试点。', [cite(1, 'a'), cite(2, 'b')]), ['a', 'b', 'c']);
  assert.equal(short.allFacts, false);
  assert.equal(short.factsHeld, 2);
  assert.equal(short.goldsCitedShare, 2 / 3);
  assert.equal(short.firstCitationGold, true);
  const f = summarise([full, short]);
  assert.deepEqual(f.listAllTerms, { n: 2, count: 1, share: 0.5 });
  assert.equal(f.listMeanTermsHeld, (1 + 2 / 3) / 2);
});

test('summary: 3 of 4 facts count 0.75, and not as all held', () => {
  const q = question({ type: 'summary', gold: [G('a')], facts: ['1400间', '1000间以上', '42间', '4大行业'] });
  const s = scoreAnswer(q, answer('已建成1400间，明年再建1000间以上，打造样板间42间。[1]', [cite(1, 'a')]), ['a']);
  assert.equal(s.allFacts, false);
  const f = summarise([s]);
  assert.equal(f.summaryMeanFactsHeld, 0.75);
  assert.deepEqual(f.summaryAllFacts, { n: 1, count: 0, share: 0 });
  assert.deepEqual(f.singleAllFacts, { n: 0, count: 0, share: NaN });
});

test('near miss: refused, or a first line saying what is not reported; otherwise a miss', () => {
  const q = question({ type: 'nearmiss', gold: [G('a')], facts: [], notReported: '2024年实际建成的数量' });
  const noted = scoreAnswer(q, answer('报道没有提到2024年实际建成的数量。\n只说2023年建成1400间。[1]', [cite(1, 'a')], { coverage: 'partial' }), ['a']);
  const refused = scoreAnswer(q, refusal(), ['a']);
  const answered = scoreAnswer(q, answer('2024年建成1400间。[1]\n（报道没有提到实际数量。）', [cite(1, 'a')]), ['a']);
  assert.deepEqual([noted.handled, refused.handled, answered.handled], [true, true, false]);
  assert.deepEqual(answered.misses, ['answered without saying what is not reported on its first line']);
  const f = summarise([noted, refused, answered]);
  assert.deepEqual(f.notReportedHandled, { n: 3, count: 2, share: 2 / 3 });
  assert.deepEqual(f.notReportedRefused, { n: 3, count: 1, share: 1 / 3 });
  assert.deepEqual(f.unanswerableCoverageNotFull, { n: 3, count: 2, share: 2 / 3 });
  assert.equal(f.goldCited.n, 0, 'near misses are not answerable');
  assert.equal(f.falseRefusals.n, 0);
});

test('off-topic: only a refusal counts, a "not reported" line does not', () => {
  const q = question({ type: 'nearmiss', gold: [], facts: [], notReported: '北京的天气预报' });
  const refused = scoreAnswer(q, refusal(), []);
  const talked = scoreAnswer(q, answer('报道没有提到北京的天气。[1]', [cite(1, 'x')], { coverage: 'none' }), []);
  assert.deepEqual([refused.handled, talked.handled], [true, false]);
  const f = summarise([refused, talked]);
  assert.deepEqual(f.offTopicRefused, { n: 2, count: 1, share: 0.5 });
  assert.equal(f.notReportedHandled.n, 0);
});

test('false refusals and latency over the answerable ones; an answer without coverage counts as not full', () => {
  const q = question({ type: 'fact', gold: [G('a')], facts: ['42间'] });
  const scores = [10, 20, 30, 40].map((ms) => scoreAnswer(q, answer('42间。[1]', [cite(1, 'a')], { timings: { totalMs: ms, retrieveMs: 0, generateMs: 0 } }), ['a']));
  scores.push(scoreAnswer(q, refusal(), ['a']));
  const f = summarise(scores);
  assert.deepEqual(f.falseRefusals, { n: 5, count: 1, share: 0.2 });
  assert.deepEqual(f.singleAllFacts, { n: 5, count: 4, share: 0.8 });
  assert.deepEqual(f.latencyMs, { p50: 20, p95: 40 });
  const off = question({ type: 'unanswerable', gold: null });
  const { coverage: _dropped, ...old } = refusal();
  const g = summarise([scoreAnswer(off, old as Answer, [])]);
  assert.deepEqual(g.unanswerableCoverageNotFull, { n: 1, count: 1, share: 1 });
  assert.equal(g.coverageMissing, 1);
});

test('context facts: list terms and facts found in the text sent, whitespace-insensitive; nothing sent holds nothing', () => {
  const q = question({ type: 'list', gold: [G('a'), G('b')], facts: ['广西', '吴忠'] });
  assert.deepEqual(contextFacts(q, '<资料>\n[1] 广 西 试点\n</资料>'), { held: 1, total: 2, missing: ['吴忠'] });
  assert.deepEqual(contextFacts(q, undefined), { held: 0, total: 2, missing: ['广西', '吴忠'] });
});
