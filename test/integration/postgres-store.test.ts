// needs: postgres
// The PostgreSQL adapter of the storage port against a real PostgreSQL 15 with pgvector: BM25 in
// SQL equal to KeywordIndex's, exact nearest neighbours, one snapshot per view while pages are
// replaced, statistics that stay equal to a recount, and a connection failure that says the fix.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, test } from 'node:test';
import pg from 'pg';
import type { Article } from '../../src/corpus/types.ts';
import { OperatorError } from '../../src/errors.ts';
import { chunkArticle, type Chunk } from '../../src/index/chunk.ts';
import { KeywordIndex, tokenize, type KeywordMode } from '../../src/index/keyword.ts';
import type { IndexView, PageRecord } from '../../src/index/port.ts';
import { PostgresChunkStore } from '../../src/index/postgres/store.ts';
import { freshDatabaseUrl } from '../helpers/postgres.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups) await cleanup();
});

const IDENTITY = { model: 'test-model', dimension: 8 };
const MODE: KeywordMode = 'both';

/** A fresh database for one test: the store on it, and a pool to inspect it. `indexesOnly`
 * keeps the planner off sequential scans, as on a large table (the HNSW and GIN paths). */
async function freshStore(options: { efSearch?: number; indexesOnly?: boolean; keywordCandidateBudget?: number; keywordCandidateLimit?: number } = {}): Promise<{ store: PostgresChunkStore; db: pg.Pool; url: string }> {
  const url = await freshDatabaseUrl(options.indexesOnly ? { enable_seqscan: 'off' } : {});
  const store = await PostgresChunkStore.open({ url, identity: IDENTITY, keywordMode: MODE, ...options });
  const db = new pg.Pool({ connectionString: url, max: 2 });
  cleanups.push(() => store.close(), () => db.end());
  return { store, db, url };
}

function article(file: string, n: number, headline: string, text: string, extra: Partial<Article> = {}): Article {
  return { id: `${file}#${n}`, file, headline, kind: 'news', paragraphs: [{ text, start: 0, end: text.length }], text, start: 0, end: text.length, ...extra };
}

/** Deterministic unit vectors (a small LCG), so a failure repeats. */
let seed = 42;
function unitVector(): number[] {
  const v = Array.from({ length: 8 }, () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31 - 0.5;
  });
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

function page(file: string, articles: Article[], withVectors = true): PageRecord {
  const chunks = articles.flatMap((a) => chunkArticle(a, { size: 40, overlap: 0 }));
  return { file, contentHash: `hash-${randomBytes(4).toString('hex')}`, articles, chunks, vectors: withVectors ? chunks.map(unitVector) : undefined };
}

const PAGE_A = () =>
  page('a.txt', [
    article('a.txt', 1, '邓州早餐店凌晨开门', '邓州市的早餐店凌晨四点开门。胡辣汤和油条是当地人最爱的早餐。店主王师傅说，每天要卖出三百碗胡辣汤，周末还要多准备一百碗。'),
    article('a.txt', 2, '上海新建户外职工休息室', '上海街头新建了二十个户外职工休息室。快递员和外卖员可以在这里喝水、充电、休息。工会负责人表示，明年还将新增五十个休息室。'),
  ]);
const PAGE_B = () =>
  page('b.txt', [
    article('b.txt', 1, '深圳举办务工者诗歌大赛', '深圳举办外来务工者诗歌大赛。来自全国各地的工人写下了三千多首诗歌。获奖作品将结集出版，诗歌大赛明年继续举办。'),
    article('b.txt', 2, '钦州港吞吐量创新高', '钦州港集装箱吞吐量创新高。码头工人三班倒，保障货物准时装船。港口负责人说，今年吞吐量增长了百分之十五。', { kicker: '一线见闻' }),
  ]);
const PAGE_C = () =>
  page('c.txt', [
    article('c.txt', 1, '杭州命名十家劳模创新工作室', '杭州市总工会命名了十家劳模创新工作室。工作室由全国劳动模范领衔，带动职工开展技术创新。', { summary: '阅读提示：劳模工作室带动职工技术创新。' }),
    article('c.txt', 2, '休息室里充电', '图为快递员在户外职工休息室里给手机充电。', { kind: 'photo' }),
  ]);

const QUERIES = ['邓州的早餐店几点开门？', '上海有多少个户外职工休息室', '深圳诗歌大赛', '钦州港吞吐量增长了多少', 'Dengzhou 胡辣汤', '快递员充电', '工会负责人', 'hello world'];

async function withView<T>(store: PostgresChunkStore, use: (view: IndexView) => Promise<T>): Promise<T> {
  const view = await store.view();
  try {
    return await use(view);
  } finally {
    await view.release();
  }
}

/** The view's keyword search equals KeywordIndex's over the same chunks, scores and order. */
async function assertKeywordEqual(view: IndexView, chunks: Chunk[]): Promise<void> {
  const index = KeywordIndex.build(chunks.map((c) => c.indexText), MODE);
  for (const query of QUERIES) {
    const expected = index.search(query, 100).map((hit) => ({ id: chunks[hit.doc].id, score: hit.score }));
    const actual = await view.keywordSearch(query, 100);
    assert.equal(actual.length, expected.length, query);
    const byId = new Map(expected.map((h) => [h.id, h.score]));
    for (const hit of actual) assert.ok(Math.abs(hit.score - byId.get(hit.id)!) < 1e-6, `${query}: ${hit.id} ${hit.score} vs ${byId.get(hit.id)}`);
    for (let i = 1; i < actual.length; i++) assert.ok(actual[i - 1].score >= actual[i].score, `${query}: ordered by score`);
    const top = await view.keywordSearch(query, 2);
    assert.deepEqual(top.map((h) => h.score.toFixed(9)), expected.slice(0, 2).map((h) => h.score.toFixed(9)), `${query}: top 2`);
  }
}

/** term_df and corpus_stats equal a recount from the chunks themselves. */
async function assertStatsExact(db: pg.Pool): Promise<void> {
  const recount = await db.query(
    'SELECT term, count(*)::int AS df FROM chunks, LATERAL (SELECT DISTINCT t AS term FROM unnest(tokens) t) u GROUP BY term ORDER BY term',
  );
  const stored = await db.query('SELECT term, df FROM term_df ORDER BY term');
  assert.deepEqual(stored.rows, recount.rows);
  const stats = await db.query('SELECT chunks::int, tokens::int, vectors::int FROM corpus_stats');
  const counted = await db.query('SELECT count(*)::int AS chunks, coalesce(sum(cardinality(tokens)), 0)::int AS tokens, count(embedding)::int AS vectors FROM chunks');
  assert.deepEqual(stats.rows, counted.rows);
}

test('keyword search equals KeywordIndex: same BM25 scores and order, by sequential scan and by the GIN index', { timeout: 30_000 }, async () => {
  for (const indexesOnly of [false, true]) {
    const { store } = await freshStore({ indexesOnly });
    const pages = [PAGE_A(), PAGE_B(), PAGE_C()];
    for (const p of pages) await store.upsertPage(p);
    await withView(store, (view) => assertKeywordEqual(view, pages.flatMap((p) => p.chunks)));
  }
});

test('keyword search that scores the rarest terms first still returns the exact top k', { timeout: 30_000 }, async () => {
  // A budget of one posting: the first round scores only the chunks holding the rarest term, and
  // every widening is decided by the upper bound of the terms left out.
  const { store } = await freshStore({ keywordCandidateBudget: 1, keywordCandidateLimit: Number.MAX_SAFE_INTEGER });
  const pages = [PAGE_A(), PAGE_B(), PAGE_C()];
  for (const p of pages) await store.upsertPage(p);
  const chunks = pages.flatMap((p) => p.chunks);
  const index = KeywordIndex.build(chunks.map((c) => c.indexText), MODE);
  await withView(store, async (view) => {
    await assertKeywordEqual(view, chunks);
    for (const query of [...QUERIES, '工人 工会 职工 休息室', '职工']) {
      for (const k of [1, 3]) {
        const expected = index.search(query, k).map((hit) => hit.score.toFixed(9));
        assert.deepEqual((await view.keywordSearch(query, k)).map((h) => h.score.toFixed(9)), expected, `${query} top ${k}`);
      }
    }
  });
});

test('keyword search past its candidate limit returns the best chunks holding the rarest terms, each scored exactly', { timeout: 30_000 }, async () => {
  const { store, url } = await freshStore({ keywordCandidateBudget: 2, keywordCandidateLimit: 2 });
  const pages = [PAGE_A(), PAGE_B(), PAGE_C()];
  for (const p of pages) await store.upsertPage(p);
  const chunks = pages.flatMap((p) => p.chunks);
  const index = KeywordIndex.build(chunks.map((c) => c.indexText), MODE);
  const query = '工人 工会 职工 休息室';
  const exact = new Map(index.search(query, chunks.length).map((hit) => [chunks[hit.doc].id, hit.score]));
  const terms = [...new Set(tokenize(query, MODE, true))].filter((t) => chunks.some((c) => tokenize(c.indexText, MODE).includes(t)));
  const df = (t: string) => chunks.filter((c) => tokenize(c.indexText, MODE).includes(t)).length;
  const fewest = Math.min(...terms.map(df));
  const holdersOf = (t: string) => chunks.filter((c) => tokenize(c.indexText, MODE).includes(t)).map((c) => c.id).sort().join(' ');
  const rarest = new Set(terms.filter((t) => df(t) === fewest).map(holdersOf));
  assert.ok(fewest < exact.size, 'the query must match more chunks than hold its rarest term');
  assert.equal(fewest, 2, 'the limit (2) must cover the rarest term\'s chunks');
  await withView(store, async (view) => {
    const hits = await view.keywordSearch(query, chunks.length);
    // Only the chunks holding the rarest term were scored, not every chunk that matches.
    assert.ok(rarest.has(hits.map((h) => h.id).sort().join(' ')), `${hits.map((h) => h.id)} hold one rarest term`);
    for (const hit of hits) assert.equal(hit.score.toFixed(9), exact.get(hit.id)!.toFixed(9), hit.id);
    assert.deepEqual(hits.map((h) => h.score), [...hits.map((h) => h.score)].sort((a, b) => b - a));
  });
  // Even the rarest term's chunks are more than the limit: only that many of them are scored.
  const tighter = await PostgresChunkStore.open({ url, identity: IDENTITY, keywordMode: MODE, keywordCandidateBudget: 1, keywordCandidateLimit: 1 });
  cleanups.push(() => tighter.close());
  await withView(tighter, async (view) => {
    const hits = await view.keywordSearch(query, chunks.length);
    assert.equal(hits.length, 1);
    assert.ok([...rarest].some((holders) => holders.split(' ').includes(hits[0].id)), `${hits[0].id} holds a rarest term`);
    assert.equal(hits[0].score.toFixed(9), exact.get(hits[0].id)!.toFixed(9));
  });
});

test('dense search returns the exact nearest neighbours by cosine, also deeper than ef_search; chunks, articles and vectors by id', { timeout: 30_000 }, async () => {
  const { store } = await freshStore({ efSearch: 2, indexesOnly: true });
  const pages = [PAGE_A(), PAGE_B(), PAGE_C()];
  for (const p of pages) await store.upsertPage(p);
  const chunks = pages.flatMap((p) => p.chunks);
  const vectors = pages.flatMap((p) => p.vectors!);
  await withView(store, async (view) => {
    assert.equal(view.hasVectors, true);
    assert.equal(view.chunkCount, chunks.length);
    for (let i = 0; i < 5; i++) {
      const query = unitVector();
      const expected = chunks
        .map((c, j) => ({ id: c.id, score: vectors[j].reduce((sum, x, d) => sum + x * query[d], 0) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, 10);
      const actual = await view.denseSearch(query, 10);
      assert.deepEqual(actual.map((h) => h.id), expected.map((h) => h.id));
      actual.forEach((h, j) => assert.ok(Math.abs(h.score - expected[j].score) < 1e-5));
    }
    const ids = [chunks[0].id, chunks.at(-1)!.id, 'no-such-id'];
    const gotVectors = await view.vectors(ids);
    assert.deepEqual([...gotVectors.keys()].sort(), ids.slice(0, 2).sort());
    gotVectors.get(chunks[0].id)!.forEach((x, d) => assert.ok(Math.abs(x - vectors[0][d]) < 1e-6));
    const gotChunks = await view.chunks(ids);
    assert.deepEqual(gotChunks.get(chunks[0].id), chunks[0]);
    assert.deepEqual(gotChunks.get(chunks.at(-1)!.id), chunks.at(-1));
    assert.ok(chunks.some((c) => c.kicker) && chunks.some((c) => c.start === -1), 'the data covers kickers and summary chunks');
    for (const c of chunks) assert.deepEqual((await view.chunks([c.id])).get(c.id), c);
    const articles = pages.flatMap((p) => p.articles);
    const gotArticles = await view.articles([...articles.map((a) => a.id), 'no-such-id']);
    assert.equal(gotArticles.size, articles.length);
    for (const a of articles) assert.deepEqual(gotArticles.get(a.id), a);
  });
});

test('scorer: coverage and ideal scores equal KeywordIndex', { timeout: 30_000 }, async () => {
  const { store } = await freshStore();
  const pages = [PAGE_A(), PAGE_B(), PAGE_C()];
  for (const p of pages) await store.upsertPage(p);
  const chunks = pages.flatMap((p) => p.chunks);
  const index = KeywordIndex.build(chunks.map((c) => c.indexText), MODE);
  await withView(store, async (view) => {
    const scorer = await view.scorer(QUERIES);
    assert.equal(scorer.mode, MODE);
    const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);
    for (const query of QUERIES) {
      close(scorer.idealScore(query), index.idealScore(query), `ideal ${query}`);
      close(scorer.idealScore(query, true), index.idealScore(query, true), `ideal known ${query}`);
      for (const text of [...chunks.map((c) => c.text), '邓州胡辣汤', '无关的文字']) close(scorer.coverage(query, text), index.coverage(query, text), `coverage ${query} / ${text}`);
    }
    assert.ok(index.idealScore('hello 邓州', true) < index.idealScore('hello 邓州'), 'the data has an unknown term');
  });
});

test('a view keeps its snapshot while a page is replaced; statistics stay exact through concurrent writes and a delete', { timeout: 30_000 }, async () => {
  const { store, db } = await freshStore();
  const [a, b, c] = [PAGE_A(), PAGE_B(), PAGE_C()];
  for (const p of [a, b, c]) await store.upsertPage(p);
  const before = await store.view();
  try {
    const a2 = page('a.txt', [article('a.txt', 1, '邓州早餐店改在五点开门', '邓州市的早餐店改在五点开门。胡辣汤涨价一元，店主说原料成本上涨。')]);
    await store.upsertPage(a2);
    const oldChunks = [...a.chunks, ...b.chunks, ...c.chunks];
    const newChunks = [...a2.chunks, ...b.chunks, ...c.chunks];
    await assertKeywordEqual(before, oldChunks);
    assert.equal(before.chunkCount, oldChunks.length);
    assert.equal((await before.chunks(a.chunks.map((x) => x.id))).size, a.chunks.length, 'the old view still reads the old chunks');
    assert.equal((await before.articles(['a.txt#2'])).size, 1);
    const oldIndex = KeywordIndex.build(oldChunks.map((x) => x.indexText), MODE);
    assert.equal((await before.scorer(QUERIES)).idealScore(QUERIES[0]), oldIndex.idealScore(QUERIES[0]));
    await withView(store, async (now) => {
      assert.notEqual(now.version, before.version);
      assert.equal(now.chunkCount, newChunks.length);
      await assertKeywordEqual(now, newChunks);
      assert.equal((await now.chunks(a.chunks.map((x) => x.id))).size, 0, 'the new view sees none of the old chunks');
      assert.equal((await now.articles(['a.txt#2'])).size, 0);
      const newIndex = KeywordIndex.build(newChunks.map((x) => x.indexText), MODE);
      assert.equal((await now.scorer(QUERIES)).idealScore(QUERIES[0]), newIndex.idealScore(QUERIES[0]));
    });
  } finally {
    await before.release();
    await before.release(); // idempotent
  }
  await assertStatsExact(db);
  // Writers at once, two of them on the same page: the lock keeps term_df exact.
  await Promise.all([store.upsertPage(PAGE_A()), store.upsertPage(PAGE_B()), store.upsertPage(PAGE_B()), store.deletePage('c.txt')]);
  await assertStatsExact(db);
  await store.deletePage('b.txt');
  await assertStatsExact(db);
  await withView(store, async (view) => {
    const rest = PAGE_A().chunks;
    assert.equal(view.chunkCount, rest.length);
    await assertKeywordEqual(view, rest);
  });
});

test('keyword search runs on a second connection in the view\'s snapshot, or on the view\'s own when the pool has none to spare', { timeout: 30_000 }, async () => {
  const { store, url } = await freshStore();
  const [a, b] = [PAGE_A(), PAGE_B()];
  await store.upsertPage(a);
  const before = await store.view();
  try {
    await store.upsertPage(b); // committed after the view's snapshot
    await assertKeywordEqual(before, a.chunks);
  } finally {
    await before.release();
  }
  // A pool of one: the view holds it, and the search must not wait for another.
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const single = await PostgresChunkStore.open({ pool, identity: IDENTITY, keywordMode: MODE });
  cleanups.push(() => pool.end());
  await withView(single, (view) => assertKeywordEqual(view, [...a.chunks, ...b.chunks]));
  assert.equal(pool.totalCount, 1);
});

test('deletePage removes the articles and chunks; pageHashes and status follow; keyword-only pages have no embedding', { timeout: 30_000 }, async () => {
  const { store, db } = await freshStore();
  const [a, b] = [PAGE_A(), PAGE_B()];
  await store.upsertPage(a);
  await store.upsertPage(b);
  assert.deepEqual(await store.pageHashes(), new Map([['a.txt', a.contentHash], ['b.txt', b.contentHash]]));
  assert.deepEqual(await store.status(), { backend: 'postgres', pages: 2, articles: 4, chunks: a.chunks.length + b.chunks.length, embedding: IDENTITY });
  await store.deletePage('a.txt');
  await store.deletePage('no-such-page.txt');
  assert.deepEqual(await store.pageHashes(), new Map([['b.txt', b.contentHash]]));
  assert.deepEqual(await store.status(), { backend: 'postgres', pages: 1, articles: 2, chunks: b.chunks.length, embedding: IDENTITY });
  const left = await db.query("SELECT (SELECT count(*) FROM articles WHERE file = 'a.txt')::int AS articles, (SELECT count(*) FROM chunks WHERE file = 'a.txt')::int AS chunks");
  assert.deepEqual(left.rows[0], { articles: 0, chunks: 0 });
  await withView(store, async (view) => {
    assert.equal((await view.chunks(a.chunks.map((c) => c.id))).size, 0);
    assert.equal((await view.articles(a.articles.map((x) => x.id))).size, 0);
    assert.deepEqual(await view.keywordSearch('邓州胡辣汤', 10), []);
  });
  await store.deletePage('b.txt');
  await store.upsertPage(page('c.txt', PAGE_C().articles, false));
  assert.equal((await store.status()).embedding, null, 'no vectors: no embedding identity');
  await withView(store, async (view) => {
    assert.equal(view.hasVectors, false);
    assert.deepEqual(await view.denseSearch(unitVector(), 3), []);
    assert.equal((await view.keywordSearch('劳模工作室', 3)).length > 0, true);
  });
  await assertStatsExact(db);
});

test('an unreachable DATABASE_URL is an OperatorError with the fix, and no password', { timeout: 30_000 }, async () => {
  const port = await new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
  await assert.rejects(PostgresChunkStore.open({ url: `postgres://newsbot:s3cret@127.0.0.1:${port}/news`, identity: IDENTITY, keywordMode: MODE }), (error: unknown) => {
    assert.ok(error instanceof OperatorError);
    assert.equal(error.message, `Could not connect to PostgreSQL at DATABASE_URL=127.0.0.1:${port} (ECONNREFUSED): start it, or unset DATABASE_URL to use the local index.`);
    assert.doesNotMatch(error.message, /s3cret/);
    return true;
  });
});

test('a view whose connection is lost fails its queries, not the process; the store goes on', { timeout: 30_000 }, async () => {
  const { store, db } = await freshStore();
  await store.upsertPage(PAGE_A());
  const view = await store.view();
  await db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'");
  await new Promise((resolve) => setTimeout(resolve, 100));
  await assert.rejects(view.keywordSearch('邓州胡辣汤', 5));
  await view.release();
  await withView(store, async (again) => assert.ok((await again.keywordSearch('邓州胡辣汤', 5)).length > 0));
});
