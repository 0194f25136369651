// needs: postgres
// The PostgreSQL state store against a real PostgreSQL 15 (the throwaway cluster test/run.ts
// starts): the state-store contract with two stores on two pools (two replicas), a lock freed when
// its holder's connection dies, a rate limit exact under concurrency, and an unmigrated database
// refused with the fix.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import pg from 'pg';
import { OperatorError } from '../../src/errors.ts';
import { MIGRATIONS, migrate } from '../../src/index/postgres/schema.ts';
import { lockKey, PostgresStateStore } from '../../src/state/postgres.ts';
import { freshDatabaseUrl } from '../helpers/postgres.ts';
import { runNpm } from '../helpers/run.ts';
import { stateStoreContract, voteBy } from '../helpers/state-contract.ts';

const IDENTITY = { model: 'test', dimension: 4 };
const pools: pg.Pool[] = [];
after(() => Promise.all(pools.map((p) => p.end())));

function poolOn(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on('error', () => {}); // a terminated idle connection must not end the test process
  pools.push(pool);
  return pool;
}

/** Two replicas: a store on each of two pools on one fresh, migrated database. */
async function replicas(now: () => number = () => 1_700_000_000_000) {
  const url = await freshDatabaseUrl();
  const [poolA, poolB] = [poolOn(url), poolOn(url)];
  await migrate(poolA, IDENTITY);
  const [a, b] = await Promise.all([PostgresStateStore.open({ pool: poolA, now }), PostgresStateStore.open({ pool: poolB, now })]);
  const close = async () => {
    await Promise.all([a.close(), b.close()]);
    await Promise.all([poolA.end(), poolB.end()]);
    pools.splice(pools.indexOf(poolA), 1);
    pools.splice(pools.indexOf(poolB), 1);
  };
  return { a, b, poolA, poolB, close };
}

stateStoreContract('postgres', async (now) => {
  const { a, b, close } = await replicas(now);
  return { store: a, second: b, close };
}, { replicas: true });

test('a lock whose holder lost its connection is free again, and the holder carries on', async () => {
  const { a, b, poolB, close } = await replicas();
  try {
    const release = await a.tryLock('reindex');
    assert.ok(release);
    const { rows } = await poolB.query("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())");
    assert.equal(rows.length, 1);
    await poolB.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
    let other: (() => Promise<void>) | undefined;
    for (let i = 0; i < 50 && !other; i++) {
      other = await b.tryLock('reindex');
      if (!other) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(other, 'the lock was freed with the connection');
    await release(); // the lost holder's release is harmless
    assert.equal(await a.tryLock('reindex'), undefined, 'and did not free the new holder');
    await other();
    assert.equal(await a.counter('x'), 0, "the holder's pool still works");
  } finally {
    await close();
  }
});

test('20 checks at once over two replicas admit exactly 10 of a 10-per-minute allowance', async () => {
  const { a, b, close } = await replicas();
  try {
    const waits = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).limiter('questions', 10).check(1, 1)));
    assert.equal(waits.filter((w) => w === 0).length, 10);
    assert.ok(waits.filter((w) => w > 0).every((w) => w <= 6_000));
  } finally {
    await close();
  }
});

test('close() lets go of held locks without ending the pool', async () => {
  const { a, b, poolA, close } = await replicas();
  try {
    assert.ok(await a.tryLock('reindex'));
    await a.close();
    let other: (() => Promise<void>) | undefined;
    for (let i = 0; i < 50 && !other; i++) {
      other = await b.tryLock('reindex');
      if (!other) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(other);
    await other();
    assert.equal((await poolA.query('SELECT 1 AS one')).rows[0].one, 1);
  } finally {
    await close();
  }
});

test('a database not migrated to the state tables is refused with the fix', async () => {
  const url = await freshDatabaseUrl();
  const pool = poolOn(url);
  const refused = (error: unknown) => {
    assert.ok(error instanceof OperatorError);
    assert.match(error.message, /schema is not migrated/);
    return true;
  };
  await assert.rejects(PostgresStateStore.open({ pool }), refused);
  await migrate(pool, IDENTITY, MIGRATIONS.filter((m) => m.version < 3));
  await assert.rejects(PostgresStateStore.open({ pool }), refused);
  await migrate(pool, IDENTITY);
  assert.equal((await PostgresStateStore.open({ pool })).backend, 'postgres');
});

test("named locks' keys stay off the application's fixed advisory lock keys", () => {
  assert.equal(typeof lockKey('reindex'), 'bigint');
  assert.equal(lockKey('reindex'), lockKey('reindex'));
  assert.notEqual(lockKey('reindex'), lockKey('other'));
  for (const name of ['reindex', 'migrate', '']) assert.ok(![7_368_201_554n, 7_368_201_555n].includes(lockKey(name)));
});

test('expired rows are deleted now and then, by the calls that come along', async () => {
  let now = 1_700_000_000_000;
  const { a, poolA, close } = await replicas(() => now);
  try {
    const count = async (table: string) => (await poolA.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n as number;
    await a.conversations.record('1:0', '问题', { text: '回答', citations: [], refused: false, coverage: 'full', notReported: [], mode: 'extractive', timings: { totalMs: 0, retrieveMs: 0, generateMs: 0 } }, 1, [5]);
    await a.limiter('questions', 3).check(1, 1);
    await a.notices().allow(1, 'rate');
    await a.putUpload({ name: 'a.html', bytes: Buffer.from('a'), userId: 1 });
    await a.feedback.vote(voteBy('u1', 5, 'down', now));
    now += 8 * 24 * 60 * 60_000;
    await a.limiter('questions', 3).check(2, 2);
    assert.deepEqual([await count('bot_conversations'), await count('bot_answers'), await count('bot_notices'), await count('bot_uploads')], [0, 0, 0, 0]);
    assert.equal(await count('bot_rate_buckets'), 2, "only the new check's buckets are left");
    assert.equal(await count('bot_feedback'), 1, 'votes are kept: they feed the evaluation set');
  } finally {
    await close();
  }
});

test('npm run feedback -- --json exports the votes kept in DATABASE_URL', { timeout: 120_000 }, async () => {
  const url = await freshDatabaseUrl();
  const pool = poolOn(url);
  // The bot's model, as the tool opens the database with it (known dimension without the model).
  await migrate(pool, { model: 'Xenova/bge-small-zh-v1.5', dimension: 512 });
  const store = await PostgresStateStore.open({ pool });
  await store.feedback.vote(voteBy('u1', 1, 'up', 1_700_000_000_000));
  await store.feedback.vote(voteBy('u2', 1, 'down', 1_700_000_001_000, '杭州建了多少个驿站？'));
  const env = { DATABASE_URL: url, EMBEDDING_MODEL_PATH: process.env.EMBEDDING_MODEL_PATH };
  const { code, stdout, stderr } = await runNpm(['run', 'feedback', '--', '--json'], { env });
  assert.equal(code, 0, stderr);
  const lines = stdout.trim().split('\n').map((line) => JSON.parse(line));
  assert.deepEqual(lines.map((l) => [l.time, l.vote, l.question, l.userHash]), [
    ['2023-11-14T22:13:20.000Z', 'up', '问题1', 'u1'],
    ['2023-11-14T22:13:21.000Z', 'down', '杭州建了多少个驿站？', 'u2'],
  ]);
  assert.deepEqual(lines[0].citations, [{ articleId: 'a.txt#1', headline: '标题' }]);
});
