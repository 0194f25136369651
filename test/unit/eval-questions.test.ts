// The question set's two schemas load into one type (src/eval/questions.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Article } from '../../src/corpus/types.ts';
import { goldArticleId, goldArticleIds, isAnswerable, loadQuestions, normaliseQuestions, type RawQuestion } from '../../src/eval/questions.ts';

const A = { file: '000_a.txt', headline: '上海市总推进职工工间休息室建设' };
const B = { file: '003_b.txt', headline: '吴忠市总推行能级工资集体协商' };

test('an old entry: a gold object becomes a one-element array, no split means tune', () => {
  const [q] = normaliseQuestions([{ id: 'q01', type: 'fact', question: '建成了多少间？', gold: A, facts: ['1400间'] }]);
  assert.deepEqual(q, { id: 'q01', type: 'fact', question: '建成了多少间？', golds: [A], facts: ['1400间'], split: 'tune' });
});

test('a null gold becomes no gold; a new entry keeps its array, split, notReported (as a list), history and note', () => {
  const raw: RawQuestion[] = [
    { id: 'q87', type: 'unanswerable', question: '杭州建了多少个驿站？', gold: null, facts: [] },
    { id: 'n053', type: 'list', question: '哪些地方在试点？', gold: [A, B], facts: ['广西', '吴忠'], split: 'holdout', note: '沈阳不算' },
    { id: 'n021', type: 'nearmiss', question: '2024年实际建成多少？', gold: [A], facts: [], notReported: '2024年实际建成的数量', split: 'tune' },
    { id: 'n101', type: 'switch', question: '那吴忠呢？', gold: [B], facts: ['10家企业'], history: [{ question: '广西试点涉及多少家企业？' }], split: 'holdout' },
  ];
  const [off, list, near, sw] = normaliseQuestions(raw);
  assert.deepEqual(off.golds, []);
  assert.equal(off.split, 'tune');
  assert.equal(isAnswerable(off), false);
  assert.deepEqual(list.golds, [A, B]);
  assert.equal(list.split, 'holdout');
  assert.equal(list.note, '沈阳不算');
  assert.equal(isAnswerable(list), true);
  assert.deepEqual(near.notReported, ['2024年实际建成的数量']);
  assert.equal(isAnswerable(near), false);
  assert.deepEqual(sw.history, [{ question: '广西试点涉及多少家企业？' }]);
});

test('a malformed entry is refused with its id', () => {
  assert.throws(() => normaliseQuestions([{ id: 'x1', type: 'trivia', question: '？', gold: null }]), /x1: unknown type "trivia"/);
  assert.throws(() => normaliseQuestions([{ id: 'x2', type: 'fact', question: '？', gold: A, split: 'test' }]), /x2: split must be tune or holdout/);
  assert.throws(() => normaliseQuestions([{ id: 'x3', type: 'list', question: '？', gold: [A, B], facts: ['广西'], split: 'tune' }]), /x3: a list question needs one fact per gold article/);
  assert.throws(() => normaliseQuestions([{ id: 'x4', type: 'fact', question: '？', gold: A }, { id: 'x4', type: 'fact', question: '？', gold: A }]), /x4: duplicate id/);
});

test('goldArticleId is the first gold, goldArticleIds all of them, matched by file and headline', () => {
  const articles = [
    { id: 'a1', file: A.file, headline: '上海市总推进职工工间休息室建设' },
    { id: 'b1', file: B.file, headline: '吴忠市总推行 能级工资集体协商' },
  ] as Article[];
  const [list, off] = normaliseQuestions([
    { id: 'n053', type: 'list', question: '？', gold: [B, A], facts: ['吴忠', '上海'], split: 'tune' },
    { id: 'q87', type: 'unanswerable', question: '？', gold: null },
  ]);
  assert.equal(goldArticleId(list, articles), 'b1');
  assert.deepEqual(goldArticleIds(list, articles), ['b1', 'a1']);
  assert.equal(goldArticleId(off, articles), undefined);
  assert.deepEqual(goldArticleIds(off, articles), []);
  assert.throws(() => goldArticleIds({ ...list, golds: [{ file: 'zzz.txt', headline: '没有' }] }, articles), /n053: gold article "没有" \(zzz\.txt\) is not in the index/);
});

test('the question file: everything seen while tuning is tune; half of the latest fresh set, by type, is the untouched holdout', () => {
  const questions = loadQuestions();
  const byPrefix = (prefix: string) => questions.filter((q) => new RegExp(`^${prefix}\\d+$`).test(q.id));
  const [first, later, fresh, third, fourth, fifthA, fifthB] = ['q', 'n', 'f', 't', 'u', 'v', 'w'].map(byPrefix);
  const fifth = [...fifthA, ...fifthB];
  assert.equal(first.length, 110);
  assert.equal(later.length, 112);
  // Each held-back set was measured once, then looked at: from then on it counts as tuned on.
  assert.ok([...first, ...later, ...fresh, ...third, ...fourth].every((q) => q.split === 'tune'));
  // The fifth set (two writers who never saw the code) is split half and half within each type.
  assert.equal(fifth.length, 128);
  for (const type of new Set(fifth.map((q) => q.type))) {
    const of = fifth.filter((q) => q.type === type);
    assert.equal(of.filter((q) => q.split === 'holdout').length, of.length / 2, type);
  }
  assert.equal(questions.filter((q) => q.split === 'holdout').length, 64);
  for (const set of [later, fresh, third, fourth, fifth]) {
    assert.deepEqual(new Set(set.map((q) => q.type).filter((t) => t !== 'unanswerable')), new Set(['detail', 'nearmiss', 'list', 'summary', 'colloquial', 'whosaid', 'switch']));
    assert.ok(set.filter((q) => q.type === 'nearmiss').every((q) => q.notReported?.length === 1));
    assert.ok(set.filter((q) => q.type === 'switch').every((q) => q.history?.length));
  }
});
