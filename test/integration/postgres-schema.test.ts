// needs: postgres
// The PostgreSQL backend's migrations against a real PostgreSQL 15 with pgvector (a throwaway
// cluster that test/run.ts starts with scripts/postgres.sh): applied once, in order, under a lock
// that two starting replicas share, and refused for another embedding model.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import pg from 'pg';
import { OperatorError } from '../../src/errors.ts';
import { KeywordIndex, tokenize } from '../../src/index/keyword.ts';
import { MIGRATIONS, migrate, type Migration } from '../../src/index/postgres/schema.ts';
import { PostgresChunkStore } from '../../src/index/postgres/store.ts';
import { freshDatabaseUrl } from '../helpers/postgres.ts';

const pools: pg.Pool[] = [];
after(() => Promise.all(pools.map((p) => p.end())));

/** A fresh database for one test, and a pool on it. */
async function freshDatabase(): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: await freshDatabaseUrl(), max: 4 });
  pools.push(pool);
  return pool;
}

const BGE = { model: 'Xenova/bge-small-zh-v1.5', dimension: 3 };

test('migrations apply once and in order; a second start applies nothing', async () => {
  const pool = await freshDatabase();
  assert.deepEqual(await migrate(pool, BGE), MIGRATIONS.map((m) => m.version));
  assert.deepEqual(await migrate(pool, BGE), []);
  const { rows } = await pool.query('SELECT version FROM schema_migrations ORDER BY version');
  assert.deepEqual(rows.map((r) => r.version), MIGRATIONS.map((m) => m.version));
  const extension = await pool.query("SELECT extversion FROM pg_extension WHERE extname = 'vector'");
  assert.equal(extension.rowCount, 1);
  const state = await pool.query("SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'bot\\_%' ORDER BY table_name");
  assert.deepEqual(state.rows.map((r) => r.table_name), ['bot_answers', 'bot_conversations', 'bot_counters', 'bot_feedback', 'bot_notices', 'bot_rate_buckets', 'bot_uploads'], 'the bot state of migrations 3 and 5');
});

test('two replicas starting at once: each migration is applied by exactly one', async () => {
  const pool = await freshDatabase();
  const [a, b] = await Promise.all([migrate(pool, BGE), migrate(pool, BGE)]);
  assert.deepEqual([...a, ...b].sort(), MIGRATIONS.map((m) => m.version));
});

test('a failing migration leaves nothing behind, and the next start retries it', async () => {
  const pool = await freshDatabase();
  const broken: Migration = { version: Math.max(...MIGRATIONS.map((m) => m.version)) + 1, name: 'broken', sql: () => 'CREATE TABLE half_made (x int); SELECT no_such_function();' };
  await assert.rejects(migrate(pool, BGE, [...MIGRATIONS, broken]), /no_such_function/);
  const tables = await pool.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name IN ('chunks', 'half_made')");
  assert.equal(tables.rows[0].n, 0, 'rolled back whole, the earlier migrations included');
  assert.deepEqual(await migrate(pool, BGE), MIGRATIONS.map((m) => m.version));
});

test('a database of another model or dimension is refused with the fix', async () => {
  const pool = await freshDatabase();
  await migrate(pool, BGE);
  await assert.rejects(migrate(pool, { model: 'text-embedding-3-small', dimension: 3 }), (error: unknown) => {
    assert.ok(error instanceof OperatorError);
    assert.match(error.message, /holds an index of Xenova\/bge-small-zh-v1\.5 vectors \(3 dimensions\), but the embedding model is text-embedding-3-small \(3\)/);
    assert.match(error.message, /point DATABASE_URL at another database/);
    return true;
  });
  await assert.rejects(migrate(pool, { ...BGE, dimension: 4 }), /\(3 dimensions\).*\(4\)/);
});

test('the schema serves what the backend needs: cosine nearest neighbours, token matches, a page deleted with its chunks', async () => {
  const pool = await freshDatabase();
  await migrate(pool, BGE);
  await pool.query("INSERT INTO pages (file, content_hash) VALUES ('a.txt', 'h1'), ('b.txt', 'h2')");
  const chunk = (id: string, file: string, tokens: string[], vector: number[]) =>
    pool.query('INSERT INTO chunks (id, file, article_id, position, headline, text, index_text, tokens, embedding) VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $8)', [id, file, `${file}#1`, '标题', '正文', '标题\n正文', tokens, `[${vector.join(',')}]`]);
  await chunk('a1', 'a.txt', ['邓州', '早餐'], [1, 0, 0]);
  await chunk('a2', 'a.txt', ['上海', '休息室'], [0, 1, 0]);
  await chunk('b1', 'b.txt', ['深圳', '诗歌'], [0.1, 0.1, 1]);
  const nearest = await pool.query("SELECT id, 1 - (embedding <=> '[0.9,0.1,0]') AS similarity FROM chunks ORDER BY embedding <=> '[0.9,0.1,0]' LIMIT 2");
  assert.deepEqual(nearest.rows.map((r) => r.id), ['a1', 'a2']);
  assert.ok(nearest.rows[0].similarity > 0.99);
  const matched = await pool.query("SELECT id FROM chunks WHERE tokens && ARRAY['诗歌', '不存在']");
  assert.deepEqual(matched.rows.map((r) => r.id), ['b1']);
  await pool.query("DELETE FROM pages WHERE file = 'a.txt'");
  assert.deepEqual((await pool.query('SELECT id FROM chunks')).rows.map((r) => r.id), ['b1']);
});

test('migration 4 lists the terms of chunks written before it, and keyword search over them equals KeywordIndex', { timeout: 30_000 }, async () => {
  const pool = await freshDatabase();
  await migrate(pool, BGE, MIGRATIONS.filter((m) => m.version <= 3));
  const texts = ['标题一\n邓州早餐店的早餐，早餐很香', '标题二\n上海职工休息室建成', '标题三\n深圳职工诗歌朗诵会'];
  await pool.query("INSERT INTO pages (file, content_hash) VALUES ('a.txt', 'h')");
  for (const [i, text] of texts.entries()) {
    await pool.query("INSERT INTO chunks (id, file, article_id, position, headline, text, index_text, tokens) VALUES ($1, 'a.txt', 'a.txt#1', $2, '', $3, $3, $4)", [`c${i}`, i, text, tokenize(text, 'both')]);
  }
  // What the version 3 writer kept beside the chunks.
  await pool.query('INSERT INTO term_df (term, df) SELECT term, count(*) FROM chunks, LATERAL (SELECT DISTINCT t AS term FROM unnest(tokens) t) u GROUP BY term');
  await pool.query('UPDATE corpus_stats SET chunks = 3, tokens = (SELECT sum(token_count) FROM chunks)');
  assert.deepEqual(await migrate(pool, BGE), MIGRATIONS.map((m) => m.version).filter((v) => v >= 4), 'migration 4 and those after it');
  const { rows } = await pool.query<{ id: string; len: number; n: number }>('SELECT id, len, cardinality(terms) AS n FROM chunk_terms ORDER BY id');
  assert.deepEqual(rows.map((r) => [r.id, r.len, r.n]), texts.map((t, i) => [`c${i}`, tokenize(t, 'both').length, new Set(tokenize(t, 'both')).size]));
  const store = await PostgresChunkStore.open({ pool, identity: BGE, keywordMode: 'both' });
  const view = await store.view();
  try {
    const index = KeywordIndex.build(texts, 'both');
    for (const query of ['早餐', '职工休息室', '深圳诗歌']) {
      const expected = index.search(query, 3).map((hit) => [`c${hit.doc}`, hit.score.toFixed(9)]);
      assert.deepEqual((await view.keywordSearch(query, 3)).map((h) => [h.id, h.score.toFixed(9)]), expected, query);
    }
  } finally {
    await view.release();
  }
});
