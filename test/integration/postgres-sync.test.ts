// needs: model, postgres
// Page-by-page ingestion into PostgreSQL with the real model: only new and changed pages are
// embedded and written, pages gone from CORPUS_DIR are deleted, and a view answers from the
// result at once.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadCorpus } from '../../src/corpus/index.ts';
import { chunkArticles } from '../../src/index/chunk.ts';
import { createEmbeddings } from '../../src/index/embeddings.ts';
import { PostgresChunkStore } from '../../src/index/postgres/store.ts';
import { syncPages } from '../../src/index/sync.ts';
import { testConfig } from '../helpers/config.ts';
import { seedCorpus } from '../helpers/corpus.ts';
import { freshDatabaseUrl } from '../helpers/postgres.ts';

const { corpusDir, env } = seedCorpus();
const config = testConfig(env);
const embedder = await createEmbeddings(config);
const store = await PostgresChunkStore.open({ url: await freshDatabaseUrl(), identity: { model: embedder.modelId, dimension: 512 }, keywordMode: 'both' });
after(() => store.close());
const seeds = ['000_4b243fa835f211e8.txt', '001_de5b9526f34a1a69.txt', '002_ca5b28cd01bd8cb6.txt', '003_a2b4059f0f693792.txt', '004_24b1aac8201e3df7.txt'];

async function keywordTop(query: string): Promise<string> {
  const view = await store.view();
  try {
    const [hit] = await view.keywordSearch(query, 1);
    if (!hit) return '';
    return (await view.chunks([hit.id])).get(hit.id)!.indexText;
  } finally {
    await view.release();
  }
}

test('the first sync writes every page; a second writes nothing', { timeout: 120_000 }, async () => {
  const first = await syncPages(store, { config, embedder });
  assert.deepEqual(first.added.sort(), seeds);
  assert.deepEqual([first.replaced, first.removed, first.unchanged], [[], [], 0]);
  const status = await store.status();
  assert.deepEqual([status.pages, status.articles, status.chunks], [5, 49, first.chunksWritten]);
  assert.deepEqual(status.embedding, { model: embedder.modelId, dimension: 512 });
  const again = await syncPages(store, { config, embedder });
  assert.deepEqual([again.added, again.replaced, again.removed, again.unchanged, again.chunksWritten], [[], [], [], 5, 0]);
});

test('a full ingest stores the vectors a local build makes (the q8 model depends on its batch)', { timeout: 120_000 }, async () => {
  // A local build embeds the corpus's chunks in one call; page-by-page calls gave cosine
  // distances up to 0.0075, enough to reorder close passages.
  const chunks = chunkArticles((await loadCorpus(corpusDir, { maxPageBytes: config.maxPageBytes })).articles, config.chunking);
  const built = await embedder.embedDocuments(chunks.map((c) => c.indexText));
  const view = await store.view();
  try {
    const stored = await view.vectors(chunks.map((c) => c.id));
    assert.equal(stored.size, chunks.length);
    const worst = Math.max(...chunks.map((c, i) => 1 - stored.get(c.id)!.reduce((dot, v, j) => dot + v * built[i][j], 0)));
    assert.ok(worst < 1e-5, `cosine distance up to ${worst}`);
  } finally {
    await view.release();
  }
});

test('a changed page is replaced, a new one added, a removed one deleted; only they are written', { timeout: 120_000 }, async () => {
  const changed = path.join(corpusDir, seeds[0]);
  writeFileSync(changed, readFileSync(changed, 'utf8').replace('今年已建成 1400间', '今年已建成 1500间'));
  assert.notEqual(readFileSync(changed, 'utf8'), readFileSync(path.resolve('seeds', seeds[0]), 'utf8'));
  const before = await store.status();
  rmSync(path.join(corpusDir, seeds[4]));
  writeFileSync(path.join(corpusDir, '005_new.txt'), '本报讯（记者张三）昆仑市总工会近日为全市2300名快递员发放冬季防寒包，包括棉手套、护膝和保温杯。\n');
  const report = await syncPages(store, { config, embedder });
  assert.deepEqual([report.replaced, report.added, report.removed, report.unchanged], [[seeds[0]], ['005_new.txt'], [seeds[4]], 3]);
  const status = await store.status();
  assert.equal(status.pages, 5);
  assert.ok(report.chunksWritten < before.chunks / 2, `${report.chunksWritten} chunks written of ${before.chunks}`);
  assert.match(await keywordTop('上海 工间休息室 1500间'), /1500间/);
  assert.match(await keywordTop('昆仑市 快递员 防寒包'), /2300名快递员/);
  assert.equal((await store.pageHashes()).has(seeds[4]), false);
});

test('an unreadable page keeps its stored version and is reported', { timeout: 60_000 }, async () => {
  const file = path.join(corpusDir, '005_new.txt');
  writeFileSync(file, Buffer.from([0x00, 0xff, 0x00, 0xfe, 0x00, 0x00, 0x01, 0x02]));
  const report = await syncPages(store, { config, embedder });
  assert.deepEqual(report.removed, []);
  assert.equal(report.skipped[0]?.file, '005_new.txt');
  assert.ok((await store.pageHashes()).has('005_new.txt'));
  assert.match(await keywordTop('昆仑市 快递员 防寒包'), /2300名快递员/);
});
