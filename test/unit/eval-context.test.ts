// The recording server of the context-recall pass (src/eval/context.ts): what it quotes, and what
// it measures, with a stand-in answerer (no model, no index).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Answer } from '../../src/answer/types.ts';
import { firstPassage, firstSentence, isAnswerRequest, quoteFirstPassage, recordContexts, summariseContext } from '../../src/eval/context.ts';
import type { ChatRequest } from '../../src/eval/fake-openai.ts';
import { normaliseQuestions } from '../../src/eval/questions.ts';

const request = (user: string): ChatRequest => ({ model: 'recorder', messages: [{ role: 'system', content: '规则：1. 只根据资料回答。' }, { role: 'user', content: user }] });

const TODAY = '<资料>\n[1] 标题：上海建成1400间休息室（版面文件：000.txt）\n本报讯 上海市总工会今年已建成1400间。明年再建1000间以上。\n\n[2] 标题：吴忠（版面文件：003.txt）\n吴忠10家企业签约。\n</资料>\n\n<问题>上海建成了多少间？</问题>';

test('the quote is the first sentence of passage [1], whatever the header looks like', () => {
  assert.equal(firstPassage(TODAY), '标题：上海建成1400间休息室（版面文件：000.txt）\n本报讯 上海市总工会今年已建成1400间。明年再建1000间以上。');
  assert.deepEqual(quoteFirstPassage(request(TODAY)), { content: '本报讯 上海市总工会今年已建成1400间。[1]' });
  // Another layout: 【n】 markers, the headline in 《》 on the marker line, no closing fence.
  const other = '问题：建成了多少间？\n\n【1】《上海建成1400间休息室》 000.txt\n“真舒服！”徐俊说。后文。\n【2】《吴忠》\n吴忠10家企业签约。';
  assert.deepEqual(quoteFirstPassage(request(other)), { content: '“真舒服！”[1]' });
  assert.equal(firstSentence('标题：无句号\n第一行没有句号'), '第一行没有句号');
});

test('a request without numbered material (a follow-up rewrite) is not an answer request and gets an empty reply', () => {
  const rewrite = request('<历史>\n用户：邓州的早餐多少钱？\n助手：400余万元。[1]\n</历史>\n<问题>那志愿者呢？</问题>');
  assert.equal(isAnswerRequest(rewrite), false);
  assert.deepEqual(quoteFirstPassage(rewrite), { content: '' });
  assert.equal(isAnswerRequest(request(TODAY)), true);
});

test('context recall counts the facts in the last answer request for the question itself, through a real server', async () => {
  const [q1, q2, q3] = normaliseQuestions([
    { id: 'a1', type: 'detail', question: '上海建成了多少间？', gold: [{ file: '000.txt', headline: 'x' }], facts: ['1400间', '1000间以上'], split: 'tune' },
    { id: 'a2', type: 'switch', question: '那吴忠呢？', gold: [{ file: '003.txt', headline: 'y' }], facts: ['10家企业'], history: [{ question: '上海建成了多少间？' }], split: 'holdout' },
    { id: 'a3', type: 'detail', question: '没有资料', gold: [{ file: '000.txt', headline: 'x' }], facts: ['42间'], split: 'holdout' },
  ]);
  const replies: string[] = [];
  const records = await recordContexts([q1, q2, q3], (llm) => ({
    async answer(question) {
      if (question === '没有资料') return { text: '', citations: [], refused: true } as unknown as Answer;
      // A rewrite request first, then two answer requests: only the last counts.
      await llm.complete([{ role: 'user', content: `<问题>${question}</问题>` }]);
      await llm.complete([{ role: 'user', content: '[1] 吴忠10家企业签约。' }]);
      replies.push(await llm.complete([{ role: 'system', content: '规则' }, { role: 'user', content: question === '那吴忠呢？' ? '[1] 标题：吴忠\n吴忠签约。' : TODAY }]));
      return { text: replies.at(-1)!, citations: [], refused: false } as unknown as Answer;
    },
  }));
  assert.equal(replies[0], '本报讯 上海市总工会今年已建成1400间。[1]');
  assert.deepEqual(records.map((r) => [r.id, r.held, r.total, r.chars !== undefined]), [['a1', 2, 2, true], ['a2', 0, 1, true], ['a3', 0, 1, false]]);
  assert.equal(records[1].chars, '[1] 标题：吴忠\n吴忠签约。'.length);
  const f = summariseContext(records);
  assert.equal(f.recall, 2 / 4);
  assert.equal(f.noRequest, 1);
});
