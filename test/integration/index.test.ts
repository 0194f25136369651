// needs: model
// The index lifecycle on the seeds with the real model and real hnswlib.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, readlinkSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createEmbeddings, EmbeddingUnavailableError, LocalEmbeddings } from '../../src/index/embeddings.ts';
import { IndexService } from '../../src/index/service.ts';
import { buildIndex, currentLink, IndexInvalidError, IndexMissingError, loadIndex, ReindexBusyError, startedAfter } from '../../src/index/store.ts';
import { KEYWORD_ONLY_NOTICE, Retriever } from '../../src/retrieve/search.ts';
import { OperatorError } from '../../src/errors.ts';
import { testConfig } from '../helpers/config.ts';
import { seedCorpus } from '../helpers/corpus.ts';

const { root, corpusDir, indexDir } = seedCorpus();
const config = testConfig({ CORPUS_DIR: corpusDir, INDEX_DIR: indexDir });
const embedder = await createEmbeddings(config);
const first = await buildIndex({ config, embedder });

test('a build writes the manifest with model, chunking, page hashes, counts and version', () => {
  const { manifest } = first;
  assert.deepEqual(manifest.embedding, { model: 'Xenova/bge-small-zh-v1.5', dimension: 512 });
  assert.equal(manifest.counts.pages, 5);
  assert.equal(manifest.counts.articles, 49);
  assert.ok(manifest.counts.chunks >= 49);
  assert.equal(Object.keys(manifest.pages).length, 5);
  assert.match(Object.values(manifest.pages)[0].sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(manifest.chunking, { size: 300, overlap: 60, version: 2 });
  assert.ok(manifest.codeVersion && manifest.builtAt && manifest.buildSeconds > 0);
  assert.equal(manifest.counts.reusedVectors, 0);
});

test('hybrid search finds the right article, one passage per article, with a relevance score', async () => {
  const service = new IndexService(config, embedder);
  await service.reload();
  const retriever = new Retriever(() => service.current(), embedder);
  const result = await retriever.search('上海2023年建成了多少间职工工间休息室？', { k: 5 });
  assert.equal(result.mode, 'hybrid');
  assert.match(result.results[0].headline, /上海市总推进职工工间休息室建设/);
  assert.equal(new Set(result.results.map((r) => r.articleId)).size, result.results.length);
  assert.ok(result.results[0].score > 0.5);
  const traditional = await retriever.search('鄧州市有多少名環衛工人享受免費早餐？', { k: 3 });
  assert.equal(traditional.normalizedQuestion, '邓州市有多少名环卫工人享受免费早餐？');
  assert.match(traditional.results[0].headline, /邓州/);
  const unrelated = await retriever.search('杭州市总工会为外卖骑手建设了多少个爱心驿站？', { k: 3 });
  assert.ok(unrelated.results[0].score < 0.3, `unanswerable scored ${unrelated.results[0].score}`);
  assert.deepEqual(unrelated.results[0].missingEntities, ['杭州']);
});

test('a reindex reuses the vectors of unchanged pages and embeds only what changed', async () => {
  const again = await buildIndex({ config, embedder });
  assert.equal(again.manifest.counts.reusedVectors, again.manifest.counts.chunks);
  const page = path.join(corpusDir, '004_24b1aac8201e3df7.txt');
  writeFileSync(page, readFileSync(page, 'utf8').replace('成交额度 1500 万元', '成交额度 1600 万元'));
  const edited = await buildIndex({ config, embedder });
  const changed = edited.manifest.counts.chunks - edited.manifest.counts.reusedVectors;
  assert.ok(changed >= 1 && changed <= 3, `${changed} chunks re-embedded`);
  assert.notEqual(edited.manifest.pages['004_24b1aac8201e3df7.txt'].sha256, first.manifest.pages['004_24b1aac8201e3df7.txt'].sha256);
});

test('a reindex while searches run: no search fails and none sees a half-built index', async () => {
  const service = new IndexService(config, embedder);
  await service.reload();
  const retriever = new Retriever(() => service.current(), embedder);
  const before = service.current().manifest.buildId;
  // Each loop yields to I/O every turn (a turn that only awaits settled promises would starve
  // the reindex it is meant to race) and stops by a deadline whatever happens.
  const deadline = Date.now() + 60_000;
  let running = true;
  const go = () => running && Date.now() < deadline;
  let searches = 0;
  let diskLoads = 0;
  const failures: string[] = [];
  const searchLoop = (async () => {
    while (go()) {
      try {
        const result = await retriever.search('钦州市各级工会指导企业签订了多少份集体合同？', { k: 3 });
        if (!/四个一/.test(result.results[0]?.headline ?? '')) failures.push(`wrong top result: ${result.results[0]?.headline}`);
        searches++;
      } catch (error) {
        failures.push(String(error));
      }
      await new Promise((r) => setImmediate(r));
    }
  })();
  const loadLoop = (async () => {
    while (go()) {
      try {
        const snapshot = await loadIndex(indexDir, embedder, 64); // a fresh reader, straight from disk
        if (snapshot.chunks.length !== snapshot.manifest.counts.chunks) failures.push('inconsistent snapshot');
        diskLoads++;
      } catch (error) {
        failures.push(String(error));
      }
      await new Promise((r) => setImmediate(r));
    }
  })();
  const summary = await service.reindex();
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 20));
  running = false;
  await Promise.all([searchLoop, loadLoop]);
  assert.deepEqual(failures, []);
  assert.ok(searches > 0 && diskLoads > 0, `${searches} searches, ${diskLoads} loads`);
  assert.notEqual(service.current().manifest.buildId, before, 'the service swapped to the new build');
  assert.equal(service.current().manifest.buildId, summary.manifest.buildId);
});

test('a second reindex while one runs is refused, and the lock is released afterwards', async () => {
  // The second build starts from inside the first one's progress callback, while the first holds
  // the lock: deterministic, however fast a build with reused vectors is.
  let second: Promise<unknown> | undefined;
  const first = await buildIndex({
    config,
    embedder,
    onProgress: (p) => {
      if (p.phase === 'indexing' && !second) second = buildIndex({ config, embedder }).then(() => 'built', (error: unknown) => error);
    },
  });
  assert.ok(first.manifest.buildId);
  const refused = await second;
  assert.ok(refused instanceof ReindexBusyError && /already running/.test(refused.message), String(refused));
  await buildIndex({ config, embedder }); // the lock is free again
});

test('a corrupted index gives a clear error naming the rebuild command, never wrong results', async () => {
  const damaged = path.join(root, 'damaged');
  cpSync(indexDir, damaged, { recursive: true, verbatimSymlinks: true });
  const dir = path.join(damaged, liveBuild(indexDir));
  truncateSync(path.join(dir, 'hnswlib.index'), 1000);
  await assert.rejects(loadIndex(damaged, embedder, 64), (e: unknown) => e instanceof IndexInvalidError && /damaged .*npm run reindex/s.test((e as Error).message));
  writeFileSync(path.join(dir, 'chunks.json'), '[{"broken": tr');
  await assert.rejects(loadIndex(damaged, embedder, 64), (e: unknown) => e instanceof IndexInvalidError && /chunks\.json.*npm run reindex/s.test((e as Error).message));
});

test('an index built with another model is refused with the rebuild command', async () => {
  const foreign = path.join(root, 'foreign');
  cpSync(indexDir, foreign, { recursive: true, verbatimSymlinks: true });
  const dir = path.join(foreign, liveBuild(indexDir));
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  manifest.embedding = { model: 'BAAI/bge-large-zh-v1.5', dimension: 1024 };
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  await assert.rejects(loadIndex(foreign, embedder, 64), (e: unknown) => e instanceof IndexInvalidError && /built with the embedding model BAAI\/bge-large-zh-v1\.5 \(dimension 1024\).*npm run reindex/s.test((e as Error).message));
});

test('no index yet says how to build one', async () => {
  const empty = path.join(root, 'no-index');
  mkdirSync(empty);
  await assert.rejects(loadIndex(empty, embedder, 64), (e: unknown) => e instanceof IndexMissingError && /npm run reindex/.test((e as Error).message));
});

test('a missing model path says where it looked and what to set, and search falls back to keywords, saying so', async () => {
  const missing = new LocalEmbeddings({ model: 'Xenova/bge-small-zh-v1.5', modelPath: path.join(root, 'no-models') });
  await assert.rejects(missing.load(), (e: unknown) => e instanceof EmbeddingUnavailableError && /EMBEDDING_MODEL_PATH=.*no-models has no complete Xenova\/bge-small-zh-v1\.5 \(missing .*model_quantized\.onnx\)\. Offline\? .*set EMBEDDING_MODEL_PATH/.test((e as Error).message));
  const snapshot = await loadIndex(indexDir, undefined, 64);
  snapshot.vectors = (await loadIndex(indexDir, embedder, 64)).vectors; // an index with vectors, a model that fails
  const retriever = new Retriever(() => snapshot, missing);
  const result = await retriever.search('邓州市的爱心早餐项目每年制作成本多少？', { k: 3 });
  assert.equal(result.mode, 'keyword');
  assert.equal(result.notice, KEYWORD_ONLY_NOTICE);
  assert.match(result.results[0].headline, /邓州/);
});

test('an empty corpus stops the build with a clear message and leaves the live index alone', async () => {
  const emptyCorpus = path.join(root, 'empty-corpus');
  mkdirSync(emptyCorpus);
  writeFileSync(path.join(emptyCorpus, 'blank.txt'), '');
  const emptyConfig = testConfig({ CORPUS_DIR: emptyCorpus, INDEX_DIR: indexDir });
  const live = liveBuild(indexDir);
  await assert.rejects(buildIndex({ config: emptyConfig, embedder }), (e: unknown) => e instanceof OperatorError && /has no articles.*Add \.txt or \.md newspaper pages there.*live index was left as it was/s.test((e as Error).message));
  assert.equal(liveBuild(indexDir), live);
});

/** builds/<id>, where INDEX_DIR/current points. */
function liveBuild(dir: string): string {
  return readlinkSync(currentLink(dir));
}

test('a starting process rebuilds an index that is damaged, or has no vectors though the model loads', async () => {
  const own = path.join(root, 'self-healing');
  const ownConfig = testConfig({ CORPUS_DIR: corpusDir, INDEX_DIR: own });
  await buildIndex({ config: ownConfig }); // no embedder: a keyword-only index
  const service = new IndexService(ownConfig, embedder);
  const healed = await service.loadOrBuild();
  assert.deepEqual(healed.manifest.embedding, { model: 'Xenova/bge-small-zh-v1.5', dimension: 512 });
  truncateSync(path.join(own, liveBuild(own), 'hnswlib.index'), 100);
  const rebuilt = await new IndexService(ownConfig, embedder).loadOrBuild();
  assert.notEqual(rebuilt.manifest.buildId, healed.manifest.buildId);
  assert.ok(rebuilt.vectors);
});

test('a lock left by a dead process that had our pid is taken over; a page of headlines only is refused', async () => {
  const own = path.join(root, 'stale-lock');
  mkdirSync(path.join(own, 'builds'), { recursive: true });
  writeFileSync(path.join(own, 'reindex.lock'), JSON.stringify({ pid: process.pid, startedAt: 'before a restart' }));
  const summary = await buildIndex({ config: testConfig({ CORPUS_DIR: corpusDir, INDEX_DIR: own }), embedder });
  assert.equal(summary.manifest.counts.pages, 5);
  const headlinesOnly = path.join(root, 'headlines-only');
  mkdirSync(headlinesOnly);
  writeFileSync(path.join(headlinesOnly, 'a.md'), '# 第一个标题\n# 第二个标题\n');
  await assert.rejects(
    buildIndex({ config: testConfig({ CORPUS_DIR: headlinesOnly, INDEX_DIR: path.join(root, 'headlines-index') }), embedder }),
    (e: unknown) => e instanceof OperatorError && /no articles|no article text/.test((e as Error).message),
  );
});

test('after a crash: a lock whose pid now belongs to a newer process is taken over, and .partial leftovers are removed', async () => {
  const own = path.join(root, 'crash-leftovers');
  mkdirSync(path.join(own, 'builds', '20240101T000000-123-abcd.partial'), { recursive: true });
  writeFileSync(path.join(own, 'builds', '20240101T000000-123-abcd.partial', 'vectors.bin'), 'half a build');
  // A live process that started after the lock was written only reuses the crashed build's pid.
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  try {
    await new Promise((resolve) => other.once('spawn', resolve));
    const writtenAt = new Date(Date.now() - 3_600_000).toISOString();
    assert.equal(startedAfter(other.pid!, writtenAt), true);
    assert.equal(startedAfter(other.pid!, new Date(Date.now() + 60_000).toISOString()), false);
    writeFileSync(path.join(own, 'reindex.lock'), JSON.stringify({ pid: other.pid, startedAt: writtenAt }));
    const summary = await buildIndex({ config: testConfig({ CORPUS_DIR: corpusDir, INDEX_DIR: own }), embedder });
    assert.equal(summary.manifest.counts.pages, 5);
    assert.deepEqual(readdirSync(path.join(own, 'builds')).filter((n) => n.endsWith('.partial')), []);
    // …while a lock held by a process that started before it was written still blocks.
    writeFileSync(path.join(own, 'reindex.lock'), JSON.stringify({ pid: other.pid, startedAt: new Date().toISOString() }));
    await assert.rejects(buildIndex({ config: testConfig({ CORPUS_DIR: corpusDir, INDEX_DIR: own }), embedder }), ReindexBusyError);
  } finally {
    other.kill();
  }
});

test('a running process picks up a build swapped in by another process', async () => {
  const service = new IndexService(config, embedder);
  const before = (await service.reload()).manifest.buildId;
  const stopWatching = service.watch(50);
  const summary = await buildIndex({ config, embedder }); // as `npm run reindex` would, elsewhere
  const deadline = Date.now() + 5000;
  while (service.current().manifest.buildId === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  stopWatching();
  assert.equal(service.current().manifest.buildId, summary.manifest.buildId);
});
