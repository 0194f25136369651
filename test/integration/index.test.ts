// needs: model
// The index lifecycle on the seeds with the real model and real hnswlib.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createEmbeddings, EmbeddingUnavailableError, LocalEmbeddings } from '../../src/index/embeddings.ts';
import { localView } from '../../src/index/local.ts';
import { IndexService } from '../../src/index/service.ts';
import { acquireLock, buildIndex, currentLink, IndexInvalidError, IndexMissingError, loadIndex, recoverInterruptedBuild, ReindexBusyError, startedAfter, vectorFileComplete } from '../../src/index/store.ts';
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
  const retriever = new Retriever(() => service.view(), embedder);
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
  const retriever = new Retriever(() => service.view(), embedder);
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
  const pagesFile = readdirSync(dir).find((name) => /^pages-\w+\.jsonl$/.test(name))!;
  writeFileSync(path.join(dir, pagesFile), '{"broken": tr');
  await assert.rejects(loadIndex(damaged, embedder, 64), (e: unknown) => e instanceof IndexInvalidError && new RegExp(`${pagesFile}.*npm run reindex`, 's').test((e as Error).message));
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
  const retriever = new Retriever(async () => localView(snapshot), missing);
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

// ---------------------------------------------------------------------------------------------
// Reindex failures that are the operator's to fix name the folder (the bot's adminReason reads
// `INDEX_DIR=…` or `CORPUS_DIR=…` from the start of the message).

/** The folder an admin is told about, as the bot's adminReason extracts it. */
const namedFolder = (message: string) => /^(?:The disk holding )?([A-Z_]+=\S+)/.exec(message)?.[1];

/** A copy of the live index, to break without disturbing the other tests. */
function indexCopy(name: string): string {
  const copy = path.join(root, name);
  cpSync(indexDir, copy, { recursive: true, verbatimSymlinks: true });
  return copy;
}

const partials = (dir: string) => readdirSync(path.join(dir, 'builds')).filter((n) => n.endsWith('.partial'));

/** Builds into `dir`, sending `file` of the build being written to /dev/full (every write fails
 * with ENOSPC) just before the vectors are saved. */
function buildIntoFullDisk(dir: string, file: string) {
  return buildIndex({
    config: testConfig({ CORPUS_DIR: corpusDir, INDEX_DIR: dir }),
    embedder,
    onProgress: (p) => {
      if (p.phase === 'saving') symlinkSync('/dev/full', path.join(dir, 'builds', partials(dir)[0], file));
    },
  }).then(
    () => assert.fail('the build should have failed'),
    (error: unknown) => error,
  );
}

test('a full disk while the vectors or the manifest are written: DISK_FULL naming INDEX_DIR, and the live index stays', async () => {
  const own = indexCopy('full-disk');
  const live = liveBuild(own);
  const liveId = (await loadIndex(own, embedder, 64)).manifest.buildId;
  // hnswlib writes its file without checking the stream: the short file must be caught.
  for (const file of ['hnswlib.index', 'manifest.json']) {
    const error = await buildIntoFullDisk(own, file);
    assert.ok(error instanceof OperatorError && error.code === 'DISK_FULL', `${file}: ${String(error)}`);
    assert.match(error.message, new RegExp(`^The disk holding INDEX_DIR=${own} is full \\(.*${file}: ENOSPC\\)\\. Free some space there`));
    assert.equal(namedFolder(error.message), `INDEX_DIR=${own}`);
    assert.equal(liveBuild(own), live);
    assert.deepEqual(partials(own), []);
    assert.equal(existsSync(path.join(own, 'reindex.lock')), false, 'the lock is released');
  }
  assert.equal((await loadIndex(own, embedder, 64)).manifest.buildId, liveId);
});

test('the vector file check accepts what hnswlib writes and refuses a short or missing file', async () => {
  const file = path.join(indexDir, liveBuild(indexDir), 'hnswlib.index');
  // A derived build keeps the points of removed chunks (marked deleted): the file holds them all.
  const count = JSON.parse(readFileSync(path.join(indexDir, liveBuild(indexDir), 'layout.json'), 'utf8')).elements;
  assert.ok(count >= (await loadIndex(indexDir, undefined, 64)).manifest.counts.chunks);
  assert.equal(await vectorFileComplete(file, count), true);
  assert.equal(await vectorFileComplete(file, count + 1), false);
  const short = path.join(root, 'short.index');
  writeFileSync(short, readFileSync(file).subarray(0, -1));
  assert.equal(await vectorFileComplete(short, count), false);
  assert.equal(await vectorFileComplete(path.join(root, 'no-such.index'), count), false);
});

// Root may write anywhere: the child runs without the capabilities that bypass file permissions
// (setpriv), as test/e2e/operator-errors.test.ts does, so it meets them as a service user would.
const asRoot = process.getuid?.() === 0;
const unprivileged = asRoot ? ['setpriv', '--bounding-set', '-dac_override,-dac_read_search', '--', process.execPath] : [process.execPath];
const REINDEX_IN_CHILD = `
const { testConfig } = await import('./test/helpers/config.ts');
const { IndexService } = await import('./src/index/service.ts');
const service = new IndexService(testConfig({ CORPUS_DIR: process.env.CORPUS_DIR, INDEX_DIR: process.env.INDEX_DIR }), undefined);
const outcome = await service.reindex().then(() => ({ ok: true }), (e) => ({ name: e.name, code: e.code, message: e.message }));
process.stdout.write(JSON.stringify(outcome));`;

/** IndexService.reindex (keyword-only) in an unprivileged child; what it threw. */
function reindexUnprivileged(env: { CORPUS_DIR: string; INDEX_DIR: string }): Promise<{ ok?: true; name?: string; code?: string; message?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(unprivileged[0], [...unprivileged.slice(1), '--import', 'tsx', '--input-type=module', '-e', REINDEX_IN_CHILD], {
      env: { ...process.env, ...env, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new Error(`no outcome from the child: ${stdout}${stderr}`));
      }
    });
  });
}

test('a reindex meeting a folder it may not use: FOLDER_NOT_WRITABLE / FOLDER_NOT_READABLE naming the variable', async () => {
  const lockedBuilds = indexCopy('locked-builds'); // the lock can be taken, the build folder not made
  const lockedIndex = indexCopy('locked-index'); // not even the lock
  const writable = indexCopy('corpus-locked-index');
  const lockedCorpus = path.join(root, 'locked-corpus');
  cpSync(corpusDir, lockedCorpus, { recursive: true });
  const pages = readdirSync(lockedCorpus).map((name) => path.join(lockedCorpus, name));
  chmodSync(path.join(lockedBuilds, 'builds'), 0o555);
  chmodSync(lockedIndex, 0o555);
  for (const page of pages) chmodSync(page, 0o000);
  try {
    const [builds, index, corpus] = await Promise.all([
      reindexUnprivileged({ CORPUS_DIR: corpusDir, INDEX_DIR: lockedBuilds }),
      reindexUnprivileged({ CORPUS_DIR: corpusDir, INDEX_DIR: lockedIndex }),
      reindexUnprivileged({ CORPUS_DIR: lockedCorpus, INDEX_DIR: writable }),
    ]);
    for (const [outcome, dir] of [[builds, lockedBuilds], [index, lockedIndex]] as const) {
      assert.equal(outcome.code, 'FOLDER_NOT_WRITABLE', JSON.stringify(outcome));
      assert.equal(outcome.name, 'OperatorError');
      assert.match(outcome.message!, new RegExp(`^INDEX_DIR=${dir} is not writable by the user running the bot \\(.*EACCES\\)\\. Give that user write permission`));
      assert.equal(namedFolder(outcome.message!), `INDEX_DIR=${dir}`);
      assert.equal(liveBuild(dir), liveBuild(indexDir));
    }
    assert.equal(existsSync(path.join(lockedBuilds, 'reindex.lock')), false, 'the lock is released');
    assert.equal(corpus.code, 'FOLDER_NOT_READABLE', JSON.stringify(corpus));
    assert.match(corpus.message!, new RegExp(`^CORPUS_DIR=${lockedCorpus} is not readable by the user running the bot \\(.*EACCES\\)\\. Give that user read permission`));
    assert.equal(liveBuild(writable), liveBuild(indexDir));
  } finally {
    chmodSync(path.join(lockedBuilds, 'builds'), 0o755);
    chmodSync(lockedIndex, 0o755);
    for (const page of pages) chmodSync(page, 0o644);
  }
});

// ---------------------------------------------------------------------------------------------
// Start-up after a crash

/** A pid that is certainly not running: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

test('at start, a reindex that died is reported with who asked for it, and its lock and .partial folder are removed', async () => {
  const own = indexCopy('interrupted');
  const ownConfig = testConfig({ CORPUS_DIR: corpusDir, INDEX_DIR: own });
  const requestedBy = { chatId: 42, messageId: 7 };
  writeFileSync(path.join(own, 'reindex.lock'), JSON.stringify({ pid: await deadPid(), startedAt: new Date().toISOString(), requestedBy }));
  mkdirSync(path.join(own, 'builds', '20250101T000000-99999-abcd.partial'));
  writeFileSync(path.join(own, 'builds', '20250101T000000-99999-abcd.partial', 'chunks.json'), '[{"half');
  const completed = readdirSync(path.join(own, 'builds')).filter((n) => !n.endsWith('.partial'));
  const logs: string[] = [];
  const logger = { debug() {}, info() {}, error() {}, warn: (m: string) => void logs.push(m) };
  const service = new IndexService(ownConfig, embedder, logger);
  const liveId = (await loadIndex(own, embedder, 64)).manifest.buildId;

  const snapshot = await service.loadOrBuild(); // the start path recovers first…
  assert.equal(snapshot.manifest.buildId, liveId, 'the live index still loads, not rebuilt');
  const report = await service.recoverInterrupted(); // …and the bot, asking after it, still learns
  assert.deepEqual(report, { interrupted: true, requestedBy, removedPartials: ['20250101T000000-99999-abcd.partial'] });
  assert.equal(existsSync(path.join(own, 'reindex.lock')), false);
  assert.deepEqual(readdirSync(path.join(own, 'builds')).sort(), completed.sort(), 'completed builds are kept');
  assert.match(logs.join('\n'), /A reindex \(pid \d+, started .*, requested by \{"chatId":42,"messageId":7\}\) did not finish: its process is gone\. Removed its lock .*reindex\.lock; the live index was not touched\. Run it again/);
  assert.match(logs.join('\n'), /Removed .*builds\/20250101T000000-99999-abcd\.partial, left behind by a reindex that did not finish/);

  // The next reindex runs, and records who asked for it while it does.
  let recorded: unknown;
  const summary = await service.reindex((p) => {
    if (p.phase === 'indexing') recorded ??= JSON.parse(readFileSync(path.join(own, 'reindex.lock'), 'utf8')).requestedBy;
  }, { requestedBy: { chatId: 42, messageId: 8 } });
  assert.deepEqual(recorded, { chatId: 42, messageId: 8 });
  assert.equal(service.current().manifest.buildId, summary.manifest.buildId);
  // Nothing left to clear: nothing is written (INDEX_DIR may be read-only for a serving bot).
  assert.deepEqual(await recoverInterruptedBuild(own), { interrupted: false, removedPartials: [] });
});

test('at start, a lock held by a live reindex (this process, or another started before it) leaves everything alone', async () => {
  const own = indexCopy('live-lock');
  const partial = path.join(own, 'builds', '20250101T000000-1-abcd.partial');
  mkdirSync(partial);
  const held = await acquireLock(own, { chatId: 1 });
  try {
    const report = await new IndexService(testConfig({ CORPUS_DIR: corpusDir, INDEX_DIR: own }), embedder).recoverInterrupted();
    assert.equal(report.interrupted, false);
    assert.deepEqual(report.removedPartials, []);
    assert.equal(report.running?.pid, process.pid);
    assert.deepEqual(report.running?.requestedBy, { chatId: 1 });
    assert.ok(existsSync(partial) && existsSync(path.join(own, 'reindex.lock')));
  } finally {
    await held.release();
  }
  // `npm run reindex` in another terminal: a live process that started before its lock was written.
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  try {
    await new Promise((resolve) => other.once('spawn', resolve));
    writeFileSync(path.join(own, 'reindex.lock'), JSON.stringify({ pid: other.pid, startedAt: new Date(Date.now() + 5000).toISOString() }));
    const report = await recoverInterruptedBuild(own);
    assert.deepEqual({ ...report, running: report.running?.pid }, { interrupted: false, removedPartials: [], running: other.pid });
    assert.ok(existsSync(partial) && existsSync(path.join(own, 'reindex.lock')));
    assert.equal(liveBuild(own), liveBuild(indexDir));
  } finally {
    other.kill();
  }
});

test('a page with one invalid byte is indexed, and the manifest and the log say what was replaced', async () => {
  const mixed = path.join(root, 'bad-byte-corpus');
  cpSync(corpusDir, mixed, { recursive: true });
  const page = readFileSync(path.join(corpusDir, '000_4b243fa835f211e8.txt'));
  const cut = page.indexOf(0x0a) + 1; // a character boundary
  writeFileSync(path.join(mixed, '005_one_bad_byte.txt'), Buffer.concat([page.subarray(0, cut), Buffer.from([0xff]), page.subarray(cut)]));
  const logs: string[] = [];
  const logger = { debug() {}, info() {}, error() {}, warn: (m: string) => void logs.push(m) };
  const { manifest } = await buildIndex({ config: testConfig({ CORPUS_DIR: mixed, INDEX_DIR: path.join(root, 'bad-byte-index') }), logger });
  assert.equal(manifest.counts.pages, 6);
  assert.ok(manifest.pages['005_one_bad_byte.txt'].articles > 0);
  assert.deepEqual(manifest.warnings, [], 'no page was skipped');
  const reason = '1 invalid UTF-8 byte sequence replaced with U+FFFD; the rest of the page is indexed. To recover those characters, save the page again as UTF-8 and reindex.';
  assert.deepEqual(manifest.notices, [{ file: '005_one_bad_byte.txt', reason }]);
  assert.deepEqual(logs, [`005_one_bad_byte.txt: ${reason}`]);
});
