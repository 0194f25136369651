import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inlineAnswerHtml, inlineResults, oneLine, REFUSAL_TITLE, TRUNCATED } from '../../src/bot/inline-results.ts';
import { renderAnswer } from '../../src/bot/render.ts';
import { answer, citation } from '../helpers/answers.ts';
import { validateTelegramHtml } from '../helpers/telegram-html.ts';

test('a short answer is posted exactly as the bot renders it in a chat', () => {
  const a = answer();
  assert.equal(inlineAnswerHtml(a), renderAnswer(a)[0]);
});

test('a long answer keeps its first part, the sources that part cites, and valid HTML', () => {
  const sentences = Array.from({ length: 400 }, (_, i) => `第${i}句<很长>的回答内容 & 细节[${(i % 30) + 1}]。`).join('');
  const citations = Array.from({ length: 30 }, (_, i) => citation(i + 1, { headline: `很长的标题 ${'标题'.repeat(30)} <${i}>` }));
  const a = answer({ text: sentences, citations });
  assert.ok(renderAnswer(a).length > 1, 'the fixture renders to several parts');
  const html = inlineAnswerHtml(a);
  assert.ok(html.length <= 4096, `${html.length} > 4096`);
  assert.deepEqual(validateTelegramHtml(html), []);
  assert.ok(html.includes(TRUNCATED));
  assert.match(html, /<b>来源<\/b>\n<blockquote expandable>\[1\] /);
});

test('results: the answer, then each cited article once, with short ids and one-line snippets', () => {
  const a = answer({ text: '甲[1]乙[2]丙[3]。', citations: [citation(1), citation(2, { quote: '多行\n摘录\n内容' }), citation(3, { articleId: 'p:1' })] });
  const results = inlineResults('问题', a);
  assert.deepEqual(results.map((r) => r.id), ['answer', 'article:1', 'article:2']);
  assert.equal(results[2].description, '多行 摘录 内容');
  for (const r of results) assert.ok(Buffer.byteLength(r.id) <= 64);
});

test('a refusal is one result naming the closest headlines', () => {
  const a = answer({ text: '未在已收录的报道中找到相关内容。', citations: [], refused: true, coverage: 'none', suggestions: [{ headline: '邓州<早餐>', file: 'a.txt' }] });
  const [only, ...rest] = inlineResults('问题', a);
  assert.equal(rest.length, 0);
  assert.equal(only.title, REFUSAL_TITLE);
  assert.match(only.description ?? '', /《邓州<早餐>》/);
  assert.match((only.input_message_content as { message_text: string }).message_text, /《邓州&lt;早餐&gt;》/);
});

test('oneLine drops markers and line breaks and cuts at a whole character', () => {
  assert.equal(oneLine('甲[1]\n乙  丙', 10), '甲 乙 丙');
  assert.equal(oneLine('😀😀😀😀', 3), '😀😀…');
});
