// needs: model
// A reindex of the local index derives the new build from the live one, writing only the pages
// added, replaced or removed (real model, real hnswlib): the same search results as a full
// rebuild of the same pages, untouched vectors never recomputed, holes compacted by a full
// rebuild, and a crash halfway through the writes leaving the old build live.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createEmbeddings, type TextEmbedder } from '../../src/index/embeddings.ts';
import { localView } from '../../src/index/local.ts';
import { IndexService } from '../../src/index/service.ts';
import { applyPageChanges, buildIndex, currentLink, loadIndex, recoverInterruptedBuild, saveBuild, type IndexSnapshot } from '../../src/index/store.ts';
import { testConfig } from '../helpers/config.ts';
import { seedCorpus } from '../helpers/corpus.ts';

const { root, corpusDir, indexDir } = seedCorpus();
const config = testConfig({ CORPUS_DIR: corpusDir, INDEX_DIR: indexDir });
const embedder = await createEmbeddings(config);

/** The embedder, recording every text it is asked to embed. */
function counting(): TextEmbedder & { texts: string[] } {
  const texts: string[] = [];
  return Object.assign(Object.create(embedder) as TextEmbedder, {
    texts,
    modelId: embedder.modelId,
    embedDocuments: async (batch: string[]) => (texts.push(...batch), embedder.embedDocuments(batch)),
    embedQuery: (q: string) => embedder.embedQuery(q),
  });
}

const QUESTIONS = ['上海2023年建成了多少间职工工间休息室？', '邓州市的爱心早餐项目每年制作成本多少？', '钦州市各级工会指导企业签订了多少份集体合同？', '惠工商城成交额度', '南阳环卫工人爱心早餐'];
const questionVectors = await Promise.all(QUESTIONS.map((q) => embedder.embedQuery(q)));

/** Dense and keyword top 10 of each question: [id, score] lists. */
async function results(snapshot: IndexSnapshot): Promise<[string, number][][]> {
  const view = localView(snapshot);
  const lists: [string, number][][] = [];
  for (const [i, q] of QUESTIONS.entries()) {
    lists.push((await view.denseSearch(questionVectors[i], 10)).map((h) => [h.id, h.score]));
    lists.push((await view.keywordSearch(q, 10)).map((h) => [h.id, h.score]));
  }
  return lists;
}

/** Same ids in the same order; keyword scores equal, cosine similarities within float32 rounding
 * (a full rebuild adds the reused vectors again, and hnswlib normalises them again). */
function assertSameResults(actual: [string, number][][], expected: [string, number][][], what: string): void {
  assert.deepEqual(actual.map((list) => list.map(([id]) => id)), expected.map((list) => list.map(([id]) => id)), what);
  actual.forEach((list, i) => list.forEach(([id, score], j) => assert.ok(Math.abs(score - expected[i][j][1]) < 1e-6, `${what}: ${id} scored ${score}, ${expected[i][j][1]} in a full rebuild`)));
}

const elements = (dir: string) => JSON.parse(readFileSync(path.join(dir, readlinkSync(currentLink(dir)), 'layout.json'), 'utf8')).elements as number;

/** The derived build in INDEX_DIR against a full rebuild of the same pages in a copy of it. */
async function assertLikeFullRebuild(what: string): Promise<IndexSnapshot> {
  const derived = await loadIndex(indexDir, embedder, 64);
  const copy = path.join(root, `full-${what.replace(/\W+/g, '-')}`);
  cpSync(indexDir, copy, { recursive: true, verbatimSymlinks: true });
  const full = await buildIndex({ config: testConfig({ CORPUS_DIR: corpusDir, INDEX_DIR: copy }), embedder, full: true });
  assert.equal(full.manifest.derived, undefined, 'a full rebuild');
  const rebuilt = await loadIndex(copy, embedder, 64);
  assertSameResults(await results(derived), await results(rebuilt), what);
  assert.deepEqual(derived.chunks, rebuilt.chunks, `${what}: chunks`);
  assert.deepEqual(derived.articles, rebuilt.articles, `${what}: articles`);
  assert.deepEqual(derived.manifest.pages, rebuilt.manifest.pages, `${what}: pages`);
  assert.deepEqual({ ...derived.manifest.counts, reusedVectors: 0 }, { ...rebuilt.manifest.counts, reusedVectors: 0 }, `${what}: counts`);
  // The full rebuild compacts: one point per chunk, labels are positions again.
  assert.equal(elements(copy), rebuilt.chunks.length);
  assert.equal(rebuilt.labels, undefined);
  rmSync(copy, { recursive: true, force: true });
  return derived;
}

const first = await buildIndex({ config, embedder });
const PAGE = '001_de5b9526f34a1a69.txt';
const NEW_PAGE = '001a_nanyang.txt';

test('adding one page writes only that page, embeds only its chunks, and searches as a full rebuild does', { timeout: 120_000 }, async () => {
  const before = await loadIndex(indexDir, embedder, 64);
  const untouched = before.chunks.filter((_, i) => i % 7 === 0).map((c) => c.id);
  const vectorsBefore = await localView(before).vectors(untouched);
  writeFileSync(path.join(corpusDir, NEW_PAGE), readFileSync(path.join(corpusDir, PAGE), 'utf8').replaceAll('邓州', '南阳'));
  const recorder = counting();
  const summary = await buildIndex({ config, embedder: recorder });
  assert.deepEqual(summary.manifest.derived, { from: first.manifest.buildId, added: 1, replaced: 0, removed: 0 });
  assert.deepEqual(summary.changed, { added: 1, replaced: 0, removed: 0 });
  const after = await loadIndex(indexDir, embedder, 64);
  const added = after.chunks.filter((c) => c.file === NEW_PAGE);
  assert.ok(added.length > 5);
  // Only the new page's chunks were embedded, each once; the other vectors are the very same floats.
  assert.deepEqual([...recorder.texts].sort(), added.map((c) => c.indexText).sort());
  assert.equal(summary.manifest.counts.reusedVectors, after.chunks.length - added.length);
  assert.deepEqual(await localView(after).vectors(untouched), vectorsBefore);
  // Chunks stay in page order: the new page between 001 and 002, as a full build puts it.
  assert.deepEqual(after.chunks.map((c) => c.file), [...after.chunks.map((c) => c.file)].sort());
  const derived = await assertLikeFullRebuild('page added');
  assert.ok((await localView(derived).keywordSearch('南阳环卫工人爱心早餐', 1))[0].id.startsWith('001a_nanyang'));
});

test('replacing one page and removing another: only those pages change, and the results are a full rebuild\'s', { timeout: 120_000 }, async () => {
  const before = await loadIndex(indexDir, embedder, 64);
  const edited = '004_24b1aac8201e3df7.txt';
  writeFileSync(path.join(corpusDir, edited), readFileSync(path.join(corpusDir, edited), 'utf8').replace('成交额度 1500 万元', '成交额度 1600 万元'));
  const recorder = counting();
  const summary = await buildIndex({ config, embedder: recorder });
  assert.deepEqual(summary.changed, { added: 0, replaced: 1, removed: 0 });
  // One article of the page changed: its changed chunks alone are embedded again.
  assert.ok(recorder.texts.length >= 1 && recorder.texts.length <= 3, `${recorder.texts.length} chunks embedded`);
  const replaced = await assertLikeFullRebuild('page replaced');
  const editedArticle = replaced.chunks.find((c) => /成交额度\s*1600/.test(c.text))!.articleId;
  assert.deepEqual(recorder.texts.sort(), replaced.chunks.filter((c) => c.articleId === editedArticle).map((c) => c.indexText).sort(), 'the edited article alone');
  assert.ok(!replaced.chunks.some((c) => /成交额度\s*1500/.test(c.text)), 'the old text is gone');
  assert.ok(elements(indexDir) > replaced.chunks.length, 'the replaced chunks left holes');

  rmSync(path.join(corpusDir, NEW_PAGE));
  const removal = counting();
  const removed = await buildIndex({ config, embedder: removal });
  assert.deepEqual(removed.changed, { added: 0, replaced: 0, removed: 1 });
  assert.deepEqual(removal.texts, []);
  const after = await assertLikeFullRebuild('page removed');
  assert.ok(!after.chunks.some((c) => c.file === NEW_PAGE), 'the page is gone');
  assert.equal(after.chunks.length, before.chunks.length - before.chunks.filter((c) => c.file === NEW_PAGE).length);
  const dense = await localView(after).denseSearch(questionVectors[4], after.chunks.length);
  assert.equal(dense.length, after.chunks.length, 'every chunk is found, none of the removed ones');
  assert.ok(!dense.some((h) => h.id.startsWith('001a_nanyang')), 'no removed chunk is found');
});

test('a full rebuild compacts the holes, and a reindex with --full is one', { timeout: 120_000 }, async () => {
  const live = await loadIndex(indexDir, embedder, 64);
  assert.ok(live.labels && elements(indexDir) > live.chunks.length, 'holes to compact');
  const expected = await results(live);
  const summary = await buildIndex({ config, embedder, full: true });
  assert.equal(summary.manifest.derived, undefined);
  assert.equal(summary.manifest.counts.reusedVectors, summary.manifest.counts.chunks, 'every vector reused');
  const compacted = await loadIndex(indexDir, embedder, 64);
  assert.equal(elements(indexDir), compacted.chunks.length);
  assert.equal(compacted.labels, undefined);
  assertSameResults(await results(compacted), expected, 'compacted');
});

/** A reindex in a child process that is killed (SIGKILL) as it writes layout.json: after the
 * vectors, labels, pages and keyword files of the new build, before its manifest. */
const KILLED_MID_WRITE = `
const fs = await import('node:fs/promises');
const { syncBuiltinESMExports } = await import('node:module');
const writeFile = fs.default.writeFile;
fs.default.writeFile = async (file, ...rest) => {
  if (String(file).endsWith('layout.json')) process.kill(process.pid, 'SIGKILL');
  return writeFile(file, ...rest);
};
syncBuiltinESMExports();
const { testConfig } = await import('./test/helpers/config.ts');
const { createEmbeddings } = await import('./src/index/embeddings.ts');
const { IndexService } = await import('./src/index/service.ts');
const config = testConfig({ CORPUS_DIR: process.env.CORPUS_DIR, INDEX_DIR: process.env.INDEX_DIR });
await new IndexService(config, await createEmbeddings(config)).reindex();
process.stdout.write('finished');`;

test('a reindex killed while it writes the derived build leaves the old build live; the next one recovers', { timeout: 120_000 }, async () => {
  const live = readlinkSync(currentLink(indexDir));
  const liveId = (await loadIndex(indexDir, embedder, 64)).manifest.buildId;
  writeFileSync(path.join(corpusDir, NEW_PAGE), readFileSync(path.join(corpusDir, PAGE), 'utf8').replaceAll('邓州', '南阳'));
  const outcome = await new Promise<{ signal: NodeJS.Signals | null; stdout: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', KILLED_MID_WRITE], {
      env: { ...process.env, CORPUS_DIR: corpusDir, INDEX_DIR: indexDir, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      resolve({ signal, stdout });
    });
  });
  assert.deepEqual(outcome, { signal: 'SIGKILL', stdout: '' });
  const partials = readdirSync(path.join(indexDir, 'builds')).filter((n) => n.endsWith('.partial'));
  assert.equal(partials.length, 1);
  const written = readdirSync(path.join(indexDir, 'builds', partials[0])).map((name) => name.replace(/^pages-\w+\.jsonl$/, 'pages-*.jsonl'));
  // The pages' lines of the build before (hard-linked) and of the new page: everything but the
  // layout and the manifest.
  assert.deepEqual([...new Set(written)].sort(), ['hnswlib.index', 'keyword.bin', 'labels.bin', 'pages-*.jsonl'], 'killed halfway through the writes');
  assert.equal(written.length, 5, written.join(' '));
  // The old build is still the live one, whole, and a fresh reader loads it.
  assert.equal(readlinkSync(currentLink(indexDir)), live);
  const reader = await loadIndex(indexDir, embedder, 64);
  assert.equal(reader.manifest.buildId, liveId);
  assert.ok(!reader.chunks.some((c) => c.file === NEW_PAGE), 'the old build has no new page');
  // Start-up clears what the crash left; the next reindex derives from the old build.
  const report = await recoverInterruptedBuild(indexDir);
  assert.equal(report.interrupted, true);
  assert.deepEqual(report.removedPartials, partials);
  const summary = await buildIndex({ config, embedder });
  assert.deepEqual(summary.manifest.derived, { from: liveId, added: 1, replaced: 0, removed: 0 });
  assert.ok((await loadIndex(indexDir, embedder, 64)).chunks.some((c) => c.file === NEW_PAGE), 'the page is in the next build');
  assert.ok(!existsSync(path.join(indexDir, 'reindex.lock')));
});

test('applyPageChanges and saveBuild: page records in, a derived build out, as the reindex writes it', { timeout: 120_000 }, async () => {
  const snapshot = await loadIndex(indexDir, embedder, 64);
  const own = path.join(root, 'records');
  const records = Object.keys(snapshot.manifest.pages).map((file) => {
    const positions = snapshot.chunks.flatMap((c, i) => (c.file === file ? [i] : []));
    return {
      file,
      contentHash: snapshot.manifest.pages[file].sha256,
      articles: snapshot.articles.filter((a) => a.file === file),
      chunks: positions.map((i) => snapshot.chunks[i]),
      vectors: positions.map((i) => snapshot.vectors!.index.getPoint(snapshot.labels ? snapshot.labels[i] : i)),
    };
  });
  const options = { embedding: snapshot.manifest.embedding, chunking: config.chunking, hnsw: config.hnsw };
  const [removedPage, ...kept] = records;
  await saveBuild(own, kept, options);
  const added = await applyPageChanges(own, { upserts: [removedPage], deletes: [] });
  assert.deepEqual(added.changed, { added: 1, replaced: 0, removed: 0 });
  const derived = await loadIndex(own, embedder, 64);
  assert.deepEqual(derived.chunks, snapshot.chunks);
  assert.deepEqual(derived.articles, snapshot.articles);
  assertSameResults(await results(derived), await results(snapshot), 'records');
  const removed = await applyPageChanges(own, { upserts: [], deletes: [removedPage.file] });
  assert.deepEqual(removed.changed, { added: 0, replaced: 0, removed: 1 });
  assert.equal((await loadIndex(own, embedder, 64)).chunks.length, snapshot.chunks.length - removedPage.chunks.length);
  // A page whose new chunks come without vectors is refused, and nothing changes.
  const liveBuild = readlinkSync(currentLink(own));
  await assert.rejects(applyPageChanges(own, { upserts: [{ ...removedPage, vectors: undefined }], deletes: [] }), /No vector for chunk/);
  assert.equal(readlinkSync(currentLink(own)), liveBuild);
  assert.deepEqual(readdirSync(path.join(own, 'builds')).filter((n) => n.endsWith('.partial')), []);
  // Carried pages stay in the files of the build before, hard-linked; once a quarter of those
  // bytes belong to pages since replaced, every line is copied into one new file.
  const layoutOf = (dir: string) => JSON.parse(readFileSync(path.join(dir, readlinkSync(currentLink(dir)), 'layout.json'), 'utf8'));
  const buildDir = (dir: string) => path.join(dir, readlinkSync(currentLink(dir)));
  const one = await applyPageChanges(own, { upserts: [removedPage], deletes: [] });
  const linked = layoutOf(own).segments as [string, number][];
  assert.equal(linked.length, 2);
  const previousDir = path.join(own, 'builds', one.manifest.derived!.from);
  assert.equal(statSync(path.join(buildDir(own), linked[0][0])).ino, statSync(path.join(previousDir, linked[0][0])).ino, 'hard-linked');
  const [a, b] = kept;
  await applyPageChanges(own, { upserts: [{ ...a }, { ...b }], deletes: [] });
  assert.equal(layoutOf(own).segments.length, 1, 'copied into one file');
  const compacted = await loadIndex(own, embedder, 64);
  assert.deepEqual(compacted.chunks, snapshot.chunks);
  assert.deepEqual(compacted.articles, snapshot.articles);
  assertSameResults(await results(compacted), await results(snapshot), 'records copied');
});

test('a running service reloads a derived build sharing the pages it carried over, and says what changed', { timeout: 120_000 }, async () => {
  const service = new IndexService(config, embedder);
  const before = await service.reload();
  const extra = '005_extra.txt';
  writeFileSync(path.join(corpusDir, extra), readFileSync(path.join(corpusDir, '003_a2b4059f0f693792.txt'), 'utf8').replaceAll('工会', '总工会'));
  const summary = await service.reindex();
  assert.deepEqual(summary.changed, { added: 1, replaced: 0, removed: 0 });
  const after = service.current();
  const fresh = await loadIndex(indexDir, embedder, 64);
  assert.deepEqual(after.chunks, fresh.chunks);
  assert.deepEqual(after.articles, fresh.articles);
  assertSameResults(await results(after), await results(fresh), 'reloaded');
  // The unchanged pages' chunks and articles are the very objects of the snapshot before.
  const unchanged = after.chunks.filter((c) => c.file !== extra);
  assert.ok(unchanged.length > 0 && unchanged.every((c) => before.chunks.includes(c)));
  assert.ok(after.articles.filter((a) => a.file !== extra).every((a) => before.articles.includes(a)));
  assert.ok(after.chunks.some((c) => c.file === extra) && !before.chunks.some((c) => c.file === extra));
  // A full rebuild is read afresh.
  const full = await service.reindex(undefined, { full: true });
  assert.equal(full.manifest.derived, undefined);
  assert.ok(!before.chunks.includes(service.current().chunks[0]));
  assert.deepEqual(service.current().chunks, fresh.chunks);
});
