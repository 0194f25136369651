// The benchmark's synthetic corpus (src/eval/synthetic.ts): deterministic, cut between articles,
// names rare as the corpus grows while topic words recur, and a streaming exact top k that equals
// the one over arrays.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Article } from '../../src/corpus/types.ts';
import { chunkArticle, type Chunk } from '../../src/index/chunk.ts';
import { ExactTopK, exactTopK, paginate, replicate, seedNames, syntheticChunks } from '../../src/eval/synthetic.ts';

const article = (id: string, headline: string, text: string): Article => ({ id, file: 'seed.txt', headline, text, kind: 'news' }) as Article;
const SEEDS = [
  article('s#1', '邓州市总工会为环卫工人送早餐', '邓州市总工会为环卫工人免费提供爱心早餐，2000名环卫工人受益。主席许明云说，活动将持续。'),
  article('s#2', '青岛惠工商城上线', '青岛“惠工商城”服务平台上线，试运行3个月成交额度1500万元，覆盖职工1.5万人。'),
  article('s#3', '钦州组建协商指导员队伍', '钦州市总工会组建一支由15名专职集体协商指导员组成的队伍，职工工资稳步增长。'),
];
const chunks: Chunk[] = SEEDS.flatMap((a) => chunkArticle(a, { size: 60, overlap: 10 }));
const vectors = chunks.map((_, i) => [1, i, 2, 0.5].map((x) => x / Math.hypot(1, i, 2, 0.5)));

test('copies are deterministic, keep the seed names once in 500 copies, and respell them otherwise', () => {
  const names = seedNames(chunks.map((c) => c.indexText));
  for (const name of ['邓州市', '钦州', '许明云']) assert.ok(names.has(name), `${name} is a name: ${[...names]}`);
  assert.ok(!names.has('职工'), 'a topic word is not a name');
  const size = chunks.length * 501;
  const a = replicate(chunks, vectors, size, names);
  const b = replicate(chunks, vectors, size, names);
  assert.deepEqual(a.chunks.slice(-5), b.chunks.slice(-5));
  assert.deepEqual(a.vectors.slice(-5), b.vectors.slice(-5));
  const withName = (name: string) => a.chunks.filter((c) => c.indexText.includes(name)).length;
  const seedCount = chunks.filter((c) => c.indexText.includes('许明云')).length;
  // Copies 0 and 500 keep the seed's spelling: the name stays as rare as in 2 of the 501 copies.
  assert.equal(withName('许明云'), seedCount * 2);
  assert.equal(withName('职工'), chunks.filter((c) => c.indexText.includes('职工')).length * 501);
  assert.notEqual(a.chunks[chunks.length].headline, chunks[0].headline, 'copy 1 respells the headline too');
  a.vectors.forEach((v) => assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-9));
});

test('pages are cut between articles, each page holding its chunks\' articles', () => {
  const names = seedNames(chunks.map((c) => c.indexText));
  const { chunks: copies, vectors: copyVectors } = replicate(chunks, vectors, chunks.length * 7, names);
  const pages = paginate(copies, copyVectors, new Map(SEEDS.map((s) => [s.id, s])), names, 5);
  assert.equal(pages.flatMap((p) => p.chunks).length, copies.length);
  const pageOf = new Map<string, string>();
  for (const page of pages) {
    assert.equal(page.vectors!.length, page.chunks.length);
    assert.deepEqual(new Set(page.articles.map((x) => x.id)), new Set(page.chunks.map((c) => c.articleId)));
    for (const chunk of page.chunks) {
      assert.equal(chunk.file, page.file);
      assert.equal(pageOf.get(chunk.articleId) ?? page.file, page.file, `${chunk.articleId} is split between pages`);
      pageOf.set(chunk.articleId, page.file);
    }
  }
});

test('the streaming exact top k equals brute force over all vectors', () => {
  const all = [...syntheticChunks(chunks, vectors, 300)].map((x) => x.vector);
  const queries = [vectors[0], [1, 0, 0, 0], [0, 1, 0, 0]];
  const brute = queries.map((q) =>
    all
      .map((v, i) => ({ i, dot: v.reduce((s, x, d) => s + x * q[d], 0) }))
      .sort((x, y) => y.dot - x.dot)
      .slice(0, 5),
  );
  const found = exactTopK(all, queries, 5);
  found.forEach((positions, n) => positions.forEach((p, r) => assert.ok(Math.abs(brute[n][r].dot - all[p].reduce((s, x, d) => s + x * queries[n][d], 0)) < 1e-6)));
  const streamed = new ExactTopK(queries, 5);
  all.forEach((v) => streamed.add(v));
  assert.deepEqual(streamed.positions(), found);
});
