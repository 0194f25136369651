// The persisted index: LangChain's HNSWLib store (hnswlib-node) for vectors, a BM25 keyword
// index beside it, and a manifest. Builds go into INDEX_DIR/builds/<id>; INDEX_DIR/current is a
// symlink swapped atomically, so a reader only ever sees a complete build.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { link, mkdir, open, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HNSWLib } from '@langchain/community/vectorstores/hnswlib';
import { Document } from '@langchain/core/documents';
import hnswlib from 'hnswlib-node';
import type { Config } from '../config.ts';
import { loadCorpus } from '../corpus/index.ts';
import { isPageNotice } from '../corpus/read.ts';
import type { Article, PageWarning } from '../corpus/types.ts';
import { explainFolderError, OperatorError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { CHUNKER_VERSION, chunkArticles, type Chunk } from './chunk.ts';
import { EmbeddingUnavailableError, type TextEmbedder } from './embeddings.ts';
import { KeywordIndex, type KeywordMode } from './keyword.ts';

const { HierarchicalNSW } = hnswlib;
export const INDEX_FORMAT = 1;
const REBUILD = 'Rebuild it with `npm run reindex`.';

export interface IndexManifest {
  format: number;
  buildId: string;
  codeVersion: string;
  builtAt: string;
  buildSeconds: number;
  /** null when the index was built without the embedding model: keyword retrieval only. */
  embedding: { model: string; dimension: number } | null;
  chunking: { size: number; overlap: number; version: number };
  /** The CORPUS_DIR it was built from (absent in builds before it was recorded). */
  corpusDir?: string;
  keyword: { mode: KeywordMode };
  hnsw: { space: 'cosine'; m: number; efConstruction: number } | null;
  pages: Record<string, { sha256: string; articles: number; chunks: number }>;
  counts: { pages: number; articles: number; chunks: number; reusedVectors: number };
  /** Pages skipped, each with the reason. */
  warnings: PageWarning[];
  /** Pages indexed despite a problem, e.g. a few invalid bytes replaced (absent in older builds). */
  notices?: PageWarning[];
}

/** One loaded, immutable build. Searches hold a reference, so a reload never disturbs them. */
export interface IndexSnapshot {
  dir: string;
  manifest: IndexManifest;
  chunks: Chunk[];
  articles: Article[];
  articlesById: Map<string, Article>;
  keyword: KeywordIndex;
  /** Absent for keyword-only builds. */
  vectors?: HNSWLib;
}

export class IndexMissingError extends OperatorError {}
export class IndexInvalidError extends OperatorError {}
export class ReindexBusyError extends OperatorError {}

export const currentLink = (indexDir: string) => path.join(indexDir, 'current');
const buildsDir = (indexDir: string) => path.join(indexDir, 'builds');
const lockFile = (indexDir: string) => path.join(indexDir, 'reindex.lock');

// ---------------------------------------------------------------------------------------------
// Loading

export async function loadIndex(indexDir: string, embedder: TextEmbedder | undefined, efSearch: number): Promise<IndexSnapshot> {
  try {
    return await loadIndexOnce(indexDir, embedder, efSearch);
  } catch (error) {
    // A reindex may have swapped and pruned the build while we read it: read the new one.
    if (error instanceof IndexInvalidError && /ENOENT/.test(error.message)) return loadIndexOnce(indexDir, embedder, efSearch);
    throw error;
  }
}

async function loadIndexOnce(indexDir: string, embedder: TextEmbedder | undefined, efSearch: number): Promise<IndexSnapshot> {
  let dir: string;
  try {
    dir = path.resolve(indexDir, await readlink(currentLink(indexDir)));
  } catch (error) {
    const explained = explainFolderError(error, { INDEX_DIR: { dir: path.resolve(indexDir), need: 'read' } });
    if (explained !== error) throw explained;
    throw new IndexMissingError(`No index in INDEX_DIR=${indexDir} yet. Build it with \`npm run reindex\`.`);
  }
  const read = async (name: string) => {
    try {
      return JSON.parse(await readFile(path.join(dir, name), 'utf8'));
    } catch (error) {
      throw new IndexInvalidError(`The index in ${dir} is damaged (${name}: ${(error as Error).message.split('\n')[0]}). ${REBUILD}`);
    }
  };
  const manifest = (await read('manifest.json')) as IndexManifest;
  if (manifest.format !== INDEX_FORMAT) {
    throw new IndexInvalidError(`The index in ${dir} has format ${manifest.format}; this version reads format ${INDEX_FORMAT}. ${REBUILD}`);
  }
  if (manifest.embedding && embedder && manifest.embedding.model !== embedder.modelId) {
    throw new IndexInvalidError(
      `The index in ${dir} was built with the embedding model ${manifest.embedding.model} (dimension ${manifest.embedding.dimension}), but this configuration uses ${embedder.modelId}. ${REBUILD}`,
    );
  }
  const chunks = (await read('chunks.json')) as Chunk[];
  const articles = (await read('articles.json')) as Article[];
  let keyword: KeywordIndex;
  try {
    keyword = KeywordIndex.fromJSON(await read('keyword.json'));
  } catch (error) {
    if (error instanceof IndexInvalidError) throw error;
    throw new IndexInvalidError(`The index in ${dir} is damaged (keyword.json: ${(error as Error).message}). ${REBUILD}`);
  }
  if (chunks.length !== manifest.counts.chunks || keyword.size !== chunks.length || articles.length !== manifest.counts.articles) {
    throw new IndexInvalidError(`The index in ${dir} is damaged (its files disagree on the number of chunks). ${REBUILD}`);
  }
  let vectors: HNSWLib | undefined;
  if (manifest.embedding && embedder) {
    try {
      vectors = await HNSWLib.load(dir, embedder);
    } catch (error) {
      throw new IndexInvalidError(`The index in ${dir} is damaged (hnswlib.index: ${(error as Error).message.split('\n')[0]}). ${REBUILD}`);
    }
    const count = vectors.index.getCurrentCount();
    if (count !== chunks.length || vectors.index.getNumDimensions() !== manifest.embedding.dimension) {
      throw new IndexInvalidError(`The index in ${dir} is damaged (${count} vectors for ${chunks.length} chunks). ${REBUILD}`);
    }
    // LangChain never sets ef, so hnswlib would search with ef = 10 and miss neighbours.
    vectors.index.setEf(Math.max(efSearch, 10));
  }
  return { dir, manifest, chunks, articles, articlesById: new Map(articles.map((a) => [a.id, a])), keyword, vectors };
}

// ---------------------------------------------------------------------------------------------
// Building

export interface BuildProgress {
  phase: 'reading' | 'embedding' | 'indexing' | 'saving' | 'done';
  done: number;
  total: number;
}

export interface BuildOptions {
  config: Pick<Config, 'corpusDir' | 'indexDir' | 'maxPageBytes' | 'chunking' | 'hnsw'>;
  embedder?: TextEmbedder;
  keywordMode?: KeywordMode;
  logger?: Logger;
  onProgress?: (progress: BuildProgress) => void;
  batchSize?: number;
  /** Recorded in the lock, so that a start-up after a crash can tell who asked for the build. */
  requestedBy?: RequestedBy;
}

export interface BuildSummary {
  manifest: IndexManifest;
  dir: string;
  seconds: number;
  denseNotice?: string;
}

/** Builds a new index beside the live one and swaps it in. One build at a time (a lock file).
 * A folder it cannot use is reported as the operator's to fix, naming the variable. */
export async function buildIndex(options: BuildOptions): Promise<BuildSummary> {
  try {
    return await buildIndexIn(options);
  } catch (error) {
    throw explainBuildError(error, options.config);
  }
}

/** A file-system error as the operator's to fix: INDEX_DIR=… or CORPUS_DIR=… first, so that the
 * bot can name the folder; anything else as it is. */
function explainBuildError(error: unknown, { indexDir, corpusDir }: BuildOptions['config']): unknown {
  const explained = explainFolderError(error, { INDEX_DIR: { dir: indexDir, need: 'write' }, CORPUS_DIR: { dir: corpusDir, need: 'read' } });
  const e = error as NodeJS.ErrnoException;
  if (explained === error && e?.code === 'ENOENT' && e.path === corpusDir) {
    return new OperatorError(`CORPUS_DIR=${corpusDir} no longer exists (${e.syscall} ${e.path}: ENOENT). Put the pages back there, or point CORPUS_DIR at their folder, and reindex again.`);
  }
  return explained;
}

async function buildIndexIn(options: BuildOptions): Promise<BuildSummary> {
  const { config, logger } = options;
  await mkdir(buildsDir(config.indexDir), { recursive: true });
  const lock = await acquireLock(config.indexDir, options.requestedBy);
  if (lock.replaced) logger?.warn(interruptedMessage(config.indexDir, lock.replaced.holder));
  // Holding the lock, no other build is running: a .partial folder is a crashed build's leftover.
  await removeLeftoverPartials(config.indexDir, logger);
  const started = performance.now();
  const buildId = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..+/, '')}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  const staging = path.join(buildsDir(config.indexDir), `${buildId}.partial`);
  try {
    options.onProgress?.({ phase: 'reading', done: 0, total: 1 });
    const corpus = await loadCorpus(config.corpusDir, { maxPageBytes: config.maxPageBytes });
    const notices = corpus.warnings.filter(isPageNotice);
    const skipped = corpus.warnings.filter((w) => !isPageNotice(w));
    for (const w of notices) logger?.warn(`${w.file}: ${w.reason}`);
    for (const w of skipped) logger?.warn(`Skipped page ${w.file}: ${w.reason}`);
    if (corpus.articles.length === 0) {
      const live = existsSync(currentLink(config.indexDir)) ? ' The live index was left as it was.' : '';
      throw new OperatorError(
        `CORPUS_DIR=${config.corpusDir} has no articles (${corpus.pages.length} readable pages, ${skipped.length} skipped). Add .txt or .md newspaper pages there and try again.${live}`,
      );
    }
    const chunks = chunkArticles(corpus.articles, config.chunking);
    if (chunks.length === 0) {
      throw new OperatorError(`CORPUS_DIR=${config.corpusDir} has headlines but no article text to index. Add complete .txt or .md newspaper pages there and try again.`);
    }
    const pages: IndexManifest['pages'] = {};
    for (const page of corpus.pages) {
      const sha256 = createHash('sha256').update(page.text).digest('hex');
      pages[page.file] = { sha256, articles: corpus.articles.filter((a) => a.file === page.file).length, chunks: chunks.filter((c) => c.file === page.file).length };
    }

    const previous = await loadPreviousForReuse(config, options.embedder);
    let vectors: number[][] | undefined;
    let reused = 0;
    let denseNotice: string | undefined;
    if (options.embedder) {
      try {
        ({ vectors, reused } = await embedChunks(chunks, options.embedder, previous, options));
      } catch (error) {
        if (!(error instanceof EmbeddingUnavailableError)) throw error;
        if (previous?.manifest.embedding) {
          throw new OperatorError(`${error.message}\nThe live index has vectors, so it was left as it was rather than replaced by a keyword-only one.`);
        }
        denseNotice = `${error.message}\nBuilt a keyword-only index: answers use keyword retrieval alone until the model is available and \`npm run reindex\` runs again.`;
        logger?.warn(denseNotice);
      }
    }

    options.onProgress?.({ phase: 'indexing', done: 0, total: chunks.length });
    await mkdir(staging, { recursive: true });
    const keywordMode = options.keywordMode ?? 'both';
    const keyword = KeywordIndex.build(chunks.map((c) => c.indexText), keywordMode);
    let dimension = 0;
    if (vectors && options.embedder) {
      dimension = vectors[0].length;
      const store = await buildVectorStore(vectors, chunks, options.embedder, config.hnsw);
      options.onProgress?.({ phase: 'saving', done: 0, total: 1 });
      await saveVectors(store, staging, config.hnsw.m);
    }
    const manifest: IndexManifest = {
      format: INDEX_FORMAT,
      buildId,
      codeVersion: codeVersion(),
      builtAt: new Date().toISOString(),
      buildSeconds: 0,
      embedding: vectors && options.embedder ? { model: options.embedder.modelId, dimension } : null,
      chunking: { size: config.chunking.size, overlap: config.chunking.overlap, version: CHUNKER_VERSION },
      corpusDir: config.corpusDir,
      keyword: { mode: keywordMode },
      hnsw: vectors ? { space: 'cosine', m: config.hnsw.m, efConstruction: config.hnsw.efConstruction } : null,
      pages,
      counts: { pages: corpus.pages.length, articles: corpus.articles.length, chunks: chunks.length, reusedVectors: reused },
      warnings: skipped.map(({ file, reason }) => ({ file, reason })),
      notices: notices.map(({ file, reason }) => ({ file, reason })),
    };
    await writeFileNamed(path.join(staging, 'chunks.json'), JSON.stringify(chunks));
    await writeFileNamed(path.join(staging, 'articles.json'), JSON.stringify(corpus.articles));
    await writeFileNamed(path.join(staging, 'keyword.json'), JSON.stringify(keyword));
    manifest.buildSeconds = Number(((performance.now() - started) / 1000).toFixed(2));
    // The manifest goes last: a build without one is never loaded.
    await writeFileNamed(path.join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2));

    const finalDir = path.join(buildsDir(config.indexDir), buildId);
    await rename(staging, finalDir);
    const previousDir = await readlink(currentLink(config.indexDir)).then((target) => path.resolve(config.indexDir, target), () => undefined);
    await swapCurrent(config.indexDir, path.relative(config.indexDir, finalDir));
    // The new build is live: old builds left on disk are a warning, not a failed reindex.
    await pruneBuilds(config.indexDir, [finalDir, previousDir]).catch((error: unknown) =>
      logger?.warn(`Could not remove old builds from ${buildsDir(config.indexDir)} (the new index is live): ${(explainBuildError(error, config) as Error).message}`),
    );
    options.onProgress?.({ phase: 'done', done: 1, total: 1 });
    return { manifest, dir: finalDir, seconds: manifest.buildSeconds, denseNotice };
  } finally {
    // Clean-up must not hide why the build failed (or fail one that succeeded): only logged.
    await rm(staging, { recursive: true, force: true }).catch((error: Error) => logger?.warn(`Could not remove ${staging}: ${error.message}. Remove it by hand.`));
    await lock.release().catch((error: Error) => logger?.warn(`Could not remove ${lockFile(config.indexDir)}: ${error.message}. Remove it by hand once no reindex is running.`));
  }
}

/** LangChain's save, checked. hnswlib writes its file through an unchecked C++ stream, so a full
 * disk or a denied write leaves a short or missing file and no error. Then the same number of
 * bytes is written with Node, whose error names the cause (ENOSPC, EACCES…); if that works, the
 * build still fails rather than swap in vectors that would not load. */
async function saveVectors(store: HNSWLib, dir: string, m: number): Promise<void> {
  await store.save(dir).catch((error: unknown) => Promise.reject(withPath(error, dir)));
  const file = path.join(dir, 'hnswlib.index');
  const count = store.index.getCurrentCount();
  if (await vectorFileComplete(file, count)) return;
  // hnswlib's layout: a 96-byte header, then per vector its level-0 links (2m + 1 integers), the
  // vector, its label and the size of its upper-level links; those links come on top.
  await writeFileNamed(file, Buffer.alloc(96 + count * (8 * m + 4 * store.index.getNumDimensions() + 16)));
  throw new Error(`hnswlib could not write ${file} completely, though a test write of its size worked. Try the reindex again.`);
}

/** writeFile whose error names the file: a write() that fails (ENOSPC, EDQUOT, EIO) reports no
 * path, and without one the error could not be traced to INDEX_DIR. */
async function writeFileNamed(file: string, data: string | Buffer): Promise<void> {
  await writeFile(file, data).catch((error: unknown) => Promise.reject(withPath(error, file)));
}

function withPath(error: unknown, file: string): unknown {
  const e = error as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && typeof e.path !== 'string') e.path = file;
  return error;
}

/** Walks hnswlib's file as its loader checks it: the header's count, then one link list per
 * vector after the level-0 block, ending exactly at the end of the file. */
export async function vectorFileComplete(file: string, count: number): Promise<boolean> {
  const size = await stat(file).then(
    (s) => (s.isFile() ? s.size : 0),
    (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? 0 : Promise.reject(error)),
  );
  if (size < 96) return false;
  const handle = await open(file, 'r');
  try {
    const header = Buffer.alloc(96);
    await handle.read(header, 0, 96, 0);
    const elements = Number(header.readBigUInt64LE(16));
    const level0 = 96 + elements * Number(header.readBigUInt64LE(24));
    if (elements !== count || level0 > size) return false;
    const links = Buffer.alloc(size - level0);
    await handle.read(links, 0, links.length, level0);
    let at = 0;
    for (let i = 0; i < count; i++) {
      if (at + 4 > links.length) return false;
      at += 4 + links.readUInt32LE(at);
    }
    return at === links.length;
  } finally {
    await handle.close();
  }
}

async function embedChunks(chunks: Chunk[], embedder: TextEmbedder, previous: IndexSnapshot | undefined, options: BuildOptions) {
  const known = new Map<string, number[]>();
  if (previous?.vectors) {
    previous.chunks.forEach((chunk, label) => known.set(chunk.id, previous.vectors!.index.getPoint(label)));
  }
  const vectors: number[][] = new Array(chunks.length);
  const missing: number[] = [];
  chunks.forEach((chunk, i) => {
    const vector = known.get(chunk.id);
    if (vector) vectors[i] = vector;
    else missing.push(i);
  });
  // Similar lengths together across the whole build (the embedder sorts only within a call).
  missing.sort((a, b) => chunks[a].indexText.length - chunks[b].indexText.length);
  const batch = options.batchSize ?? 32;
  options.onProgress?.({ phase: 'embedding', done: 0, total: missing.length });
  for (let i = 0; i < missing.length; i += batch) {
    const ids = missing.slice(i, i + batch);
    const embedded = await embedder.embedDocuments(ids.map((j) => chunks[j].indexText));
    ids.forEach((j, n) => (vectors[j] = embedded[n]));
    options.onProgress?.({ phase: 'embedding', done: Math.min(i + batch, missing.length), total: missing.length });
  }
  if (missing.length === 0 && chunks.length > 0) await embedder.embedQuery('检查'); // still proves the model loads
  return { vectors, reused: chunks.length - missing.length };
}

/** Builds hnswlib with our M and efConstruction (LangChain's own initIndex uses the defaults),
 * then hands it to LangChain's HNSWLib store. */
export async function buildVectorStore(
  vectors: number[][],
  chunks: Chunk[],
  embedder: TextEmbedder,
  hnsw: { m: number; efConstruction: number; efSearch?: number },
  onProgress?: (done: number) => void,
): Promise<HNSWLib> {
  const dimension = vectors[0].length;
  const index = new HierarchicalNSW('cosine', dimension);
  index.initIndex(Math.max(vectors.length, 1), hnsw.m, hnsw.efConstruction, 100);
  vectors.forEach((vector, label) => {
    index.addPoint(vector, label);
    if (onProgress && label % 2000 === 0) onProgress(label);
  });
  if (hnsw.efSearch) index.setEf(hnsw.efSearch);
  const store = new HNSWLib(embedder, { space: 'cosine', numDimensions: dimension, index });
  const documents: Record<number, Document> = {};
  chunks.forEach((chunk, label) => {
    documents[label] = new Document({ pageContent: chunk.text, metadata: { label, chunkId: chunk.id, articleId: chunk.articleId } });
  });
  store.docstore.add(documents);
  return store;
}

async function loadPreviousForReuse(config: BuildOptions['config'], embedder?: TextEmbedder): Promise<IndexSnapshot | undefined> {
  try {
    const snapshot = await loadIndex(config.indexDir, embedder, 10);
    const same = snapshot.manifest.chunking;
    if (same.size !== config.chunking.size || same.overlap !== config.chunking.overlap || same.version !== CHUNKER_VERSION) {
      return { ...snapshot, vectors: undefined };
    }
    return snapshot;
  } catch {
    return undefined; // no usable previous build: embed everything
  }
}

async function swapCurrent(indexDir: string, target: string): Promise<void> {
  const temporary = `${currentLink(indexDir)}.${process.pid}.tmp`;
  await rm(temporary, { force: true });
  await symlink(target, temporary);
  await rename(temporary, currentLink(indexDir)); // atomic on POSIX file systems
}

/** Keeps the new build and the one that was live until now (a reader may still be loading it). */
async function pruneBuilds(indexDir: string, keep: (string | undefined)[]): Promise<void> {
  for (const name of await readdir(buildsDir(indexDir))) {
    const dir = path.join(buildsDir(indexDir), name);
    if (!name.endsWith('.partial') && !keep.includes(dir)) await rm(dir, { recursive: true, force: true });
  }
}

/** Removes builds/*.partial (never the build `current` points at) and says so; returns their names. */
async function removeLeftoverPartials(indexDir: string, logger?: Logger): Promise<string[]> {
  const live = await readlink(currentLink(indexDir)).then((target) => path.basename(target), () => undefined);
  const removed: string[] = [];
  for (const name of await listPartials(indexDir)) {
    if (name === live) continue;
    await rm(path.join(buildsDir(indexDir), name), { recursive: true, force: true });
    removed.push(name);
    logger?.warn(`Removed ${path.join(buildsDir(indexDir), name)}, left behind by a reindex that did not finish`);
  }
  return removed;
}

async function listPartials(indexDir: string): Promise<string[]> {
  try {
    return (await readdir(buildsDir(indexDir))).filter((name) => name.endsWith('.partial'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return []; // no builds yet: nothing left over
    throw error;
  }
}

/** Who asked for a build: a small JSON object, opaque here (the bot records the admin's chat and
 * progress message, to tell them after a restart that their reindex was interrupted). */
export type RequestedBy = Record<string, unknown>;

/** The content of INDEX_DIR/reindex.lock. */
export interface LockInfo {
  pid: number;
  startedAt: string;
  requestedBy?: RequestedBy;
}

export interface HeldLock {
  release(): Promise<void>;
  /** Set when the lock of a build whose process is gone was taken over; `holder` is what that
   * lock said (absent if it could not be read). */
  replaced?: { holder?: LockInfo };
}

/** Lock files this process holds. */
const heldLocks = new Set<string>();

/** Takes INDEX_DIR/reindex.lock, or throws ReindexBusyError while a live process holds it. A lock
 * left by a process that is gone is taken over (and reported in `replaced`). */
export async function acquireLock(indexDir: string, requestedBy?: RequestedBy): Promise<HeldLock> {
  const file = lockFile(indexDir);
  // Written whole under a private name, then linked into place: link() fails if the lock exists,
  // and a reader never sees a half-written lock.
  const mine = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  const info: LockInfo = { pid: process.pid, startedAt: new Date().toISOString(), ...(requestedBy ? { requestedBy } : {}) };
  await writeFileNamed(mine, JSON.stringify(info));
  let replaced: HeldLock['replaced'];
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await link(mine, file);
        heldLocks.add(file);
        const release = async () => {
          heldLocks.delete(file);
          await rm(file, { force: true });
        };
        return { release, replaced };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = readLock(file);
        if (holder && lockIsLive(file, holder)) {
          throw new ReindexBusyError(`A reindex is already running (pid ${holder.pid}, started ${holder.startedAt}). Wait for it to finish.`);
        }
        replaced = { holder };
        await rm(file, { force: true }); // left behind by a process that died: take it over
      }
    }
    throw new ReindexBusyError('Could not take the reindex lock. Try again.');
  } finally {
    await rm(mine, { force: true });
  }
}

/** Whether the process that wrote the lock still runs. Our own pid holds it only if this process
 * took it; otherwise the file outlived a process that had our pid (a container restarted after a
 * crash). Another live pid that started after the lock was written only reuses a dead one's. */
function lockIsLive(file: string, holder: LockInfo): boolean {
  if (holder.pid === process.pid) return heldLocks.has(file);
  return isAlive(holder.pid) && !startedAfter(holder.pid, holder.startedAt);
}

function readLock(file: string): LockInfo | undefined {
  try {
    const lock = JSON.parse(readFileSync(file, 'utf8'));
    return Number.isInteger(lock?.pid) && typeof lock.startedAt === 'string' ? lock : undefined;
  } catch {
    return undefined;
  }
}

function interruptedMessage(indexDir: string, holder: LockInfo | undefined): string {
  const who = holder ? ` (pid ${holder.pid}, started ${holder.startedAt}${holder.requestedBy ? `, requested by ${JSON.stringify(holder.requestedBy)}` : ''})` : '';
  return `A reindex${who} did not finish: its process is gone. Removed its lock ${lockFile(indexDir)}; the live index was not touched.`;
}

export interface RecoveryReport {
  /** A reindex died while building (its lock was left behind, and is now removed). */
  interrupted: boolean;
  /** Who asked for the interrupted reindex, as it recorded (see RequestedBy). */
  requestedBy?: RequestedBy;
  /** A reindex that is running in another process right now: nothing was touched. */
  running?: LockInfo;
  /** The builds/*.partial folders removed. */
  removedPartials: string[];
}

/** For a starting process: clears what a crashed reindex left in INDEX_DIR (its lock and its
 * builds/*.partial folder) and reports whether one was interrupted. A lock held by a live process
 * leaves everything as it is; the live index and completed builds are never touched. Writes
 * nothing when there is nothing to clear (INDEX_DIR may be read-only for a bot that only serves). */
export async function recoverInterruptedBuild(indexDir: string, logger?: Logger): Promise<RecoveryReport> {
  try {
    return await recover(indexDir, logger);
  } catch (error) {
    throw explainFolderError(error, { INDEX_DIR: { dir: indexDir, need: 'write' } });
  }
}

async function recover(indexDir: string, logger?: Logger): Promise<RecoveryReport> {
  const report: RecoveryReport = { interrupted: false, removedPartials: [] };
  if (!existsSync(lockFile(indexDir)) && (await listPartials(indexDir)).length === 0) return report;
  // Under the lock, like a build: a reindex starting meanwhile cannot lose its folder to us.
  const lock = await acquireLock(indexDir).catch((error: unknown) => {
    if (error instanceof ReindexBusyError) return undefined;
    throw error;
  });
  if (!lock) {
    report.running = readLock(lockFile(indexDir));
    logger?.info(`A reindex is running (pid ${report.running?.pid ?? '?'}): left ${indexDir} as it is.`);
    return report;
  }
  try {
    if (lock.replaced) {
      report.interrupted = true;
      report.requestedBy = lock.replaced.holder?.requestedBy;
      logger?.warn(`${interruptedMessage(indexDir, lock.replaced.holder)} Run it again (\`npm run reindex\`, or /reindex in the bot) to index the current pages.`);
    }
    report.removedPartials = await removeLeftoverPartials(indexDir, logger);
  } finally {
    await lock.release();
  }
  return report;
}

/** Whether process `pid` started after `since`: then it only reuses the pid of the process that
 * wrote the lock (Linux: /proc; elsewhere unknown, so false). */
export function startedAfter(pid: number, since: string): boolean {
  try {
    // Field 22 of /proc/<pid>/stat is the start time in clock ticks after boot; the command name
    // (field 2) may hold spaces, so count from its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const bootSeconds = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(bootSeconds)) return false;
    const startedMs = (bootSeconds + ticks / CLOCK_TICKS) * 1000;
    return startedMs > Date.parse(since) + 2000; // tick and clock rounding
  } catch {
    return false;
  }
}

/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let cachedVersion: string | undefined;
function codeVersion(): string {
  if (cachedVersion) return cachedVersion;
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  let commit = '';
  try {
    if (existsSync(new URL('../../.git', import.meta.url))) {
      commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: new URL('../..', import.meta.url), stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    }
  } catch {
    // not a git checkout: the package version alone
  }
  cachedVersion = commit ? `${pkg.version}+${commit}` : pkg.version;
  return cachedVersion;
}
