// needs: model
// The storage port's local adapter over the seeds (real model, real hnswlib): everything is keyed
// by chunk id, and an answer takes one view of the index and passes it through.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Answerer } from '../../src/answer/answer.ts';
import { tokenize } from '../../src/index/keyword.ts';
import { localView } from '../../src/index/local.ts';
import type { IndexView, KeywordScorer } from '../../src/index/port.ts';
import { Retriever } from '../../src/retrieve/search.ts';
import { seedServices } from '../helpers/services.ts';

const services = await seedServices();
const snapshot = services.index.current();

test('the local view speaks chunk ids: dense and keyword hits, vectors, chunks and articles', { timeout: 30_000 }, async () => {
  const view = localView(snapshot);
  assert.equal(view.version, snapshot.manifest.buildId);
  assert.equal(view.chunkCount, snapshot.chunks.length);
  const vector = await services.embedder.embedQuery('上海建成了多少间职工工间休息室？');
  const dense = await view.denseSearch(vector, 5);
  assert.equal(dense.length, 5);
  const chunks = await view.chunks(dense.map((h) => h.id));
  assert.equal(chunks.size, 5);
  assert.match(chunks.get(dense[0].id)!.headline, /上海/);
  // The similarity is the cosine of the stored vectors, and scores come best first.
  const vectors = await view.vectors(dense.map((h) => h.id));
  const cosine = vectors.get(dense[0].id)!.reduce((sum, x, i) => sum + x * vector[i], 0);
  assert.ok(Math.abs(cosine - dense[0].score) < 1e-4, `${cosine} vs ${dense[0].score}`);
  assert.ok(dense.every((h, i) => i === 0 || h.score <= dense[i - 1].score));
  const keyword = await view.keywordSearch('工间休息室', 3);
  assert.deepEqual(keyword.map((h) => h.score), snapshot.keyword.search('工间休息室', 3).map((h) => h.score));
  assert.ok(keyword.every((h) => snapshot.chunks.some((c) => c.id === h.id)));
  const articles = await view.articles([chunks.get(dense[0].id)!.articleId, 'no-such-article']);
  assert.equal(articles.size, 1);
  assert.equal((await view.vectors(['no-such-chunk'])).size, 0);
});

test('an answer takes one view, passes it to retrieval and releases it once', { timeout: 30_000 }, async () => {
  let taken = 0;
  let released = 0;
  const views = async (): Promise<IndexView> => {
    taken++;
    const view = localView(services.index.current());
    return { ...view, release: async () => void released++ };
  };
  // A retriever that would fail if it took a view of its own: the answer's view must reach it.
  const retriever = new Retriever(() => Promise.reject(new Error('retrieval took its own view')), services.embedder);
  const answerer = new Answerer({ retriever, views, embedder: services.embedder });
  const answer = await answerer.answer('上海2023年建成了多少间职工工间休息室？');
  assert.match(answer.text, /1400间/);
  assert.deepEqual([taken, released], [1, 1]);
  const refused = await answerer.answer('2024年欧洲杯足球赛的冠军是哪支球队？');
  assert.equal(refused.refused, true);
  assert.deepEqual([taken, released], [2, 2]);
});

/** The local view as a remote store would behave: no postings fast path, and a keyword scorer
 * that knows only the terms of the queries it was given (and throws on any other). */
function remoteLike(): IndexView {
  const { chunkCoverage: _postingsOnly, ...view } = localView(services.index.current());
  return {
    ...view,
    async scorer(queries: string[]): Promise<KeywordScorer> {
      const inner = await view.scorer(queries);
      const known = new Set(queries.flatMap((q) => tokenize(q, inner.mode, true)));
      const check = (query: string) => {
        const unknown = tokenize(query, inner.mode, true).filter((t) => !known.has(t));
        if (unknown.length) throw new Error(`the scorer was not given ${unknown.join(' ')} (query ${query})`);
      };
      return { mode: inner.mode, coverage: (q, text) => (check(q), inner.coverage(q, text)), idealScore: (q, knownOnly) => (check(q), inner.idealScore(q, knownOnly)) };
    },
  };
}

test('a store without the postings fast path, whose scorer knows only the terms it was given, answers as the local one does', { timeout: 60_000 }, async () => {
  const local = services.answerer();
  const remote = new Answerer({ retriever: services.retriever, views: async () => remoteLike(), embedder: services.embedder });
  const cases: [string, { question: string; articleIds?: string[] }[]][] = [
    ['呼和浩特市总工会累计投入了多少职工书屋建设资金？建成了几家全国职工书屋示范点？', []], // two asks
    ['中国职工保险互助会驰援积石山地震灾区那篇，主要讲了什么？', []], // a summary
    ['哪些地方在开展能级工资集体协商？', []], // a list
    ['Which union gave sanitation workers free breakfast?', []], // English
  ];
  const first = await local.answer('广西能级工资集体协商试点涉及多少家企业？');
  cases.push(['那吴忠呢？', [{ question: '广西能级工资集体协商试点涉及多少家企业？', articleIds: first.citations.map((c) => c.articleId) }]]);
  for (const [question, history] of cases) {
    const [a, b] = [await local.answer(question, history), await remote.answer(question, history)];
    assert.equal(b.text, a.text, question);
    assert.deepEqual(b.citations, a.citations, question);
  }
});

test('a failing answer still releases its view', { timeout: 30_000 }, async () => {
  let taken = 0;
  let released = 0;
  const views = async (): Promise<IndexView> => {
    taken++;
    return { ...localView(services.index.current()), release: async () => void released++ };
  };
  const broken = { modelId: 'broken', embedQuery: async () => Promise.reject(new TypeError('a bug in the embedder')), embedDocuments: async () => [] };
  const retriever = new Retriever(views, broken as never);
  const answerer = new Answerer({ retriever, views, embedder: services.embedder });
  await assert.rejects(answerer.answer('上海2023年建成了多少间职工工间休息室？'), /a bug in the embedder/);
  assert.deepEqual([taken, released], [1, 1]);
});
