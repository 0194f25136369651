// The persisted index: hnswlib-node vectors (searched through LangChain's HNSWLib store), a BM25
// keyword index beside them, the pages' articles and chunks, and a manifest. Builds go into
// INDEX_DIR/builds/<id>; INDEX_DIR/current is a symlink swapped atomically, so a reader only ever
// sees a complete build.
//
// A reindex derives the new build from the live one when it can: pages whose content hash is
// unchanged are carried over as they are (their chunks' lines copied byte for byte, their
// keyword postings renumbered, their hnswlib points kept), and only the pages added, changed or
// removed are segmented, chunked, embedded and indexed. Removed chunks are marked deleted in
// hnswlib (a hole its labels skip); a full rebuild (`npm run reindex -- --full`, or when holes
// pass a quarter of the vectors) builds every structure afresh, without holes.
//
// Files of a build (format 2):
//   manifest.json   written last: a build without one is never loaded
//   layout.json     the pages in order, each with its line in a pages-*.jsonl; hnswlib's element count
//   pages-*.jsonl   one line per page: its articles and chunks (src/index/records.ts). A derived
//                   build hard-links the files of the build before and adds one for the pages it
//                   writes; they are never changed once written. Too many, or too many lines of
//                   pages since removed, and every line is copied into one new file instead.
//   keyword.bin     the BM25 postings (src/index/keyword.ts), read as one buffer
//   labels.bin      each chunk's hnswlib label, as Uint32 in chunk order
//   hnswlib.index   the vectors (hnswlib's own format)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { HNSWLib } from '@langchain/community/vectorstores/hnswlib';
import { SynchronousInMemoryDocstore } from '@langchain/community/stores/doc/in_memory';
import { Document } from '@langchain/core/documents';
import hnswlib from 'hnswlib-node';
import type { Config } from '../config.ts';
import { isPageNotice, readPages } from '../corpus/read.ts';
import { segmentPage } from '../corpus/segment.ts';
import type { Article, Page, PageWarning } from '../corpus/types.ts';
import { explainFolderError, OperatorError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { CHUNKER_VERSION, chunkArticles, type Chunk } from './chunk.ts';
import { EmbeddingUnavailableError, type TextEmbedder } from './embeddings.ts';
import { KeywordIndex, type AddedDoc, type KeywordMode } from './keyword.ts';
import type { PageRecord } from './port.ts';
import { BLOCK_BYTES, blockReader, decodePage, encodePage } from './records.ts';

const { HierarchicalNSW } = hnswlib;
type Hnsw = InstanceType<typeof HierarchicalNSW>;
export const INDEX_FORMAT = 2;
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
  /** How this build was made: every structure afresh, or derived from the previous build by
   * writing only the pages that changed (absent in older builds). */
  derived?: { from: string; added: number; replaced: number; removed: number };
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
  /** The hnswlib label of each chunk, by position in `chunks`, when they are not the positions
   * themselves (a build derived from an earlier one). See labelOf. */
  labels?: Uint32Array;
}

/** The hnswlib label of the chunk at `position` in snapshot.chunks. */
export function labelOf(snapshot: Pick<IndexSnapshot, 'labels'>, position: number): number {
  return snapshot.labels ? snapshot.labels[position] : position;
}

export class IndexMissingError extends OperatorError {}
export class IndexInvalidError extends OperatorError {}
export class ReindexBusyError extends OperatorError {}

export const currentLink = (indexDir: string) => path.join(indexDir, 'current');
const buildsDir = (indexDir: string) => path.join(indexDir, 'builds');
const lockFile = (indexDir: string) => path.join(indexDir, 'reindex.lock');

const FILES = { manifest: 'manifest.json', layout: 'layout.json', keyword: 'keyword.bin', labels: 'labels.bin', vectors: 'hnswlib.index' } as const;

/** layout.json: where each page's line is, in chunk order. */
interface BuildLayout {
  format: 2;
  /** The files holding the pages' lines, each with its size in bytes. */
  segments: [string, number][];
  /** [file, byte offset, byte length (without the line break), articles, chunks, segment] per page. */
  pages: [string, number, number, number, number, number][];
  /** hnswlib elements, deleted ones included (every label is below it); 0 without vectors. */
  elements: number;
}
// ---------------------------------------------------------------------------------------------
// Loading

/** Loads the live build. Given the snapshot loaded before, a build derived from it shares the
 * articles and chunks of the pages it carried over instead of reading them again. */
export async function loadIndex(indexDir: string, embedder: TextEmbedder | undefined, efSearch: number, previous?: IndexSnapshot): Promise<IndexSnapshot> {
  try {
    return await loadIndexOnce(indexDir, embedder, efSearch, previous);
  } catch (error) {
    // A reindex may have swapped and pruned the build while we read it: read the new one.
    if (error instanceof IndexInvalidError && /ENOENT/.test(error.message)) return loadIndexOnce(indexDir, embedder, efSearch, previous);
    throw error;
  }
}

/** The build INDEX_DIR/current points at, or IndexMissingError (or the folder's error). */
async function currentDir(indexDir: string): Promise<string> {
  try {
    return path.resolve(indexDir, await readlink(currentLink(indexDir)));
  } catch (error) {
    const explained = explainFolderError(error, { INDEX_DIR: { dir: path.resolve(indexDir), need: 'read' } });
    if (explained !== error) throw explained;
    throw new IndexMissingError(`No index in INDEX_DIR=${indexDir} yet. Build it with \`npm run reindex\`.`);
  }
}

const damaged = (dir: string, name: string, error: unknown) =>
  new IndexInvalidError(`The index in ${dir} is damaged (${name}: ${(error as Error).message.split('\n')[0]}). ${REBUILD}`);

async function readJson<T>(dir: string, name: string): Promise<T> {
  try {
    return JSON.parse(await readFile(path.join(dir, name), 'utf8')) as T;
  } catch (error) {
    throw damaged(dir, name, error);
  }
}

/** The manifest, checked against this version and the configured model. */
async function readManifest(dir: string, embedder: TextEmbedder | undefined): Promise<IndexManifest> {
  const manifest = await readJson<IndexManifest>(dir, FILES.manifest);
  if (manifest.format !== INDEX_FORMAT) {
    throw new IndexInvalidError(`The index in ${dir} has format ${manifest.format}; this version reads format ${INDEX_FORMAT}. ${REBUILD}`);
  }
  if (manifest.embedding && embedder && manifest.embedding.model !== embedder.modelId) {
    throw new IndexInvalidError(
      `The index in ${dir} was built with the embedding model ${manifest.embedding.model} (dimension ${manifest.embedding.dimension}), but this configuration uses ${embedder.modelId}. ${REBUILD}`,
    );
  }
  return manifest;
}

async function readLayout(dir: string): Promise<BuildLayout> {
  const layout = await readJson<BuildLayout>(dir, FILES.layout);
  if (layout?.format !== 2 || !Array.isArray(layout.pages) || !Array.isArray(layout.segments) || !Number.isInteger(layout.elements)) {
    throw damaged(dir, FILES.layout, new Error('unknown layout'));
  }
  return layout;
}

async function loadIndexOnce(indexDir: string, embedder: TextEmbedder | undefined, efSearch: number, previous?: IndexSnapshot): Promise<IndexSnapshot> {
  const dir = await currentDir(indexDir);
  const manifest = await readManifest(dir, embedder);
  const layout = await readLayout(dir);
  const carried = previous && manifest.derived?.from === previous.manifest.buildId ? carriedPages(previous, manifest) : undefined;
  const { articles, chunks } = await readRecords(dir, layout, carried);
  let keyword: KeywordIndex;
  try {
    keyword = KeywordIndex.fromBinary(await readFile(path.join(dir, FILES.keyword)));
  } catch (error) {
    throw damaged(dir, FILES.keyword, error);
  }
  if (chunks.length !== manifest.counts.chunks || keyword.size !== chunks.length || articles.length !== manifest.counts.articles) {
    throw new IndexInvalidError(`The index in ${dir} is damaged (its files disagree on the number of chunks). ${REBUILD}`);
  }
  let vectors: HNSWLib | undefined;
  let labels: Uint32Array | undefined;
  if (manifest.embedding && embedder) {
    labels = await readLabels(dir, chunks.length);
    const index = new HierarchicalNSW('cosine', manifest.embedding.dimension);
    try {
      await index.readIndex(path.join(dir, FILES.vectors));
    } catch (error) {
      throw damaged(dir, FILES.vectors, error);
    }
    const count = index.getCurrentCount();
    if (count !== layout.elements || index.getNumDimensions() !== manifest.embedding.dimension || !labelsValid(labels, count)) {
      throw new IndexInvalidError(`The index in ${dir} is damaged (${count} vectors for ${chunks.length} chunks). ${REBUILD}`);
    }
    if (labels.every((label, position) => label === position)) labels = undefined;
    // LangChain never sets ef, so hnswlib would search with ef = 10 and miss neighbours.
    index.setEf(Math.max(efSearch, 10));
    vectors = vectorStore(index, chunks, labels, embedder);
  }
  return { dir, manifest, chunks, articles, articlesById: new Map(articles.map((a) => [a.id, a])), keyword, vectors, labels };
}

async function readLabels(dir: string, count: number): Promise<Uint32Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path.join(dir, FILES.labels));
  } catch (error) {
    throw damaged(dir, FILES.labels, error);
  }
  if (bytes.length !== count * 4) throw damaged(dir, FILES.labels, new Error(`${bytes.length / 4} labels for ${count} chunks`));
  return new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

/** Every label below `elements` and none twice. */
function labelsValid(labels: Uint32Array, elements: number): boolean {
  const seen = new Uint8Array(elements);
  for (const label of labels) {
    if (label >= elements || seen[label]) return false;
    seen[label] = 1;
  }
  return true;
}

/** LangChain's HNSWLib store over our hnswlib index. Its docstore makes each hit's Document from
 * the chunk when asked, instead of holding a Document per chunk (a copy of every text). */
function vectorStore(index: Hnsw, chunks: Chunk[], labels: Uint32Array | undefined, embedder: TextEmbedder): HNSWLib {
  let positions: Int32Array | undefined;
  if (labels) {
    positions = new Int32Array(index.getCurrentCount()).fill(-1);
    labels.forEach((label, position) => (positions![label] = position));
  }
  const docstore = new ChunkDocstore((label) => chunks[positions ? positions[label] : label]);
  return new HNSWLib(embedder, { space: 'cosine', numDimensions: index.getNumDimensions(), index, docstore });
}

class ChunkDocstore extends SynchronousInMemoryDocstore {
  constructor(private readonly chunkAt: (label: number) => Chunk | undefined) {
    super();
  }

  override search(search: string): Document {
    const label = Number(search);
    const chunk = this.chunkAt(label);
    if (!chunk) throw new Error(`ID ${search} not found.`);
    return new Document({ pageContent: chunk.text, metadata: { label, chunkId: chunk.id, articleId: chunk.articleId } });
  }

  override add(): void {
    throw new Error('The index is read-only: documents come from its chunks.');
  }
}

/** The articles and chunks of each page of `previous` that `manifest` (a build derived from it)
 * carried over unchanged: their lines were copied byte for byte, so the decoded objects are the
 * same. Snapshots are immutable, so two may share them. */
function carriedPages(previous: IndexSnapshot, manifest: IndexManifest): Map<string, { articles: Article[]; chunks: Chunk[] }> {
  const byFile = new Map<string, { articles: Article[]; chunks: Chunk[] }>();
  const entry = (file: string) => {
    let found = byFile.get(file);
    if (!found) byFile.set(file, (found = { articles: [], chunks: [] }));
    return found;
  };
  for (const article of previous.articles) entry(article.file).articles.push(article);
  for (const chunk of previous.chunks) entry(chunk.file).chunks.push(chunk);
  const carried = new Map<string, { articles: Article[]; chunks: Chunk[] }>();
  for (const [file, page] of Object.entries(previous.manifest.pages)) {
    const now = manifest.pages[file];
    const found = byFile.get(file) ?? { articles: [], chunks: [] };
    if (now?.sha256 === page.sha256 && now.articles === found.articles.length && now.chunks === found.chunks.length) carried.set(file, found);
  }
  return carried;
}

/** Reads the pages' lines page by page (a block at a time, never a whole file as one string);
 * pages in `carried` are taken from there instead. */
async function readRecords(dir: string, layout: BuildLayout, carried?: Map<string, { articles: Article[]; chunks: Chunk[] }>): Promise<{ articles: Article[]; chunks: Chunk[] }> {
  const articles: Article[] = [];
  const chunks: Chunk[] = [];
  await withSegments(dir, layout, async (line) => {
    for (const entry of layout.pages) {
      const [name, , , articleCount, chunkCount] = entry;
      const reused = carried?.get(name);
      const page = reused ? { file: name, ...reused } : decodePage(await line(entry));
      if (page.file !== name || page.articles.length !== articleCount || page.chunks.length !== chunkCount) throw new Error(`the line of ${name} is not the one layout.json lists`);
      articles.push(...page.articles);
      chunks.push(...page.chunks);
    }
  });
  return { articles, chunks };
}

/** The lines of some pages of a build, parsed: what a derived build needs of the pages it replaces. */
async function readSomePages(dir: string, layout: BuildLayout, files: Set<string>): Promise<Map<string, { articles: Article[]; chunks: Chunk[] }>> {
  const found = new Map<string, { articles: Article[]; chunks: Chunk[] }>();
  if (!layout.pages.some(([file]) => files.has(file))) return found;
  await withSegments(dir, layout, async (line) => {
    for (const entry of layout.pages) if (files.has(entry[0])) found.set(entry[0], decodePage(await line(entry)));
  });
  return found;
}

/** Runs `fn` with a reader of pages' lines over the build's segment files, opened as needed and
 * checked against their recorded sizes; a problem is reported as damage naming the file. */
async function withSegments(dir: string, layout: BuildLayout, fn: (line: (entry: BuildLayout['pages'][number]) => Promise<string>) => Promise<void>): Promise<void> {
  const open_ = new Map<number, { handle: FileHandle; read: (offset: number, length: number) => Promise<string> }>();
  let current = FILES.layout as string;
  try {
    await fn(async ([, offset, length, , , segment]) => {
      const [name, size] = layout.segments[segment] ?? [];
      if (name === undefined || offset + length + 1 > size) throw new Error(`a page's line is outside segment ${segment}`);
      current = name;
      let reader = open_.get(segment);
      if (!reader) {
        const handle = await open(path.join(dir, name), 'r');
        reader = { handle, read: blockReader(handle) };
        open_.set(segment, reader);
        const actual = (await handle.stat()).size;
        if (actual !== size) throw new Error(`${actual} bytes, not the ${size} layout.json lists`);
      }
      return reader.read(offset, length);
    });
  } catch (error) {
    throw damaged(dir, current, error);
  } finally {
    for (const { handle } of open_.values()) await handle.close();
  }
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
  /** Build every structure afresh (compacting the holes removed pages leave), instead of deriving
   * the build from the live one. Unchanged chunks still keep their vectors. */
  full?: boolean;
}

export interface BuildSummary {
  manifest: IndexManifest;
  dir: string;
  seconds: number;
  denseNotice?: string;
  /** Pages added, replaced and removed since the previous build (all added without one). */
  changed: { added: number; replaced: number; removed: number };
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
function explainBuildError(error: unknown, { indexDir, corpusDir }: Pick<BuildOptions['config'], 'indexDir' | 'corpusDir'>): unknown {
  const explained = explainFolderError(error, { INDEX_DIR: { dir: indexDir, need: 'write' }, CORPUS_DIR: { dir: corpusDir, need: 'read' } });
  const e = error as NodeJS.ErrnoException;
  if (explained === error && e?.code === 'ENOENT' && e.path === corpusDir) {
    return new OperatorError(`CORPUS_DIR=${corpusDir} no longer exists (${e.syscall} ${e.path}: ENOENT). Put the pages back there, or point CORPUS_DIR at their folder, and reindex again.`);
  }
  return explained;
}

/** One page as a build writes it. `vectors[i]` undefined: keep the previous build's vector of
 * the same chunk id (a derived build), or none (keyword-only). */
interface BuildPage {
  file: string;
  sha256: string;
  articles: Article[];
  chunks: Chunk[];
  vectors?: (number[] | undefined)[];
}

interface BuildWrite {
  pages: IndexManifest['pages'];
  counts: IndexManifest['counts'];
  dimension: number;
}

/** Holds the lock and a staging folder for one build; commit() writes the manifest, renames the
 * folder into place and swaps `current`. */
async function withBuild<T extends { manifest: IndexManifest }>(
  indexDir: string,
  o: { logger?: Logger; requestedBy?: RequestedBy; corpusDir?: string },
  fn: (staging: string, buildId: string) => Promise<T>,
): Promise<T & { dir: string }> {
  await mkdir(buildsDir(indexDir), { recursive: true });
  const lock = await acquireLock(indexDir, o.requestedBy);
  if (lock.replaced) o.logger?.warn(interruptedMessage(indexDir, lock.replaced.holder));
  // Holding the lock, no other build is running: a .partial folder is a crashed build's leftover.
  await removeLeftoverPartials(indexDir, o.logger);
  const buildId = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..+/, '')}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  const staging = path.join(buildsDir(indexDir), `${buildId}.partial`);
  try {
    const result = await fn(staging, buildId);
    // The manifest goes last: a build without one is never loaded.
    await writeFileNamed(path.join(staging, FILES.manifest), JSON.stringify(result.manifest, null, 2));
    const finalDir = path.join(buildsDir(indexDir), buildId);
    await rename(staging, finalDir);
    const previousDir = await readlink(currentLink(indexDir)).then((target) => path.resolve(indexDir, target), () => undefined);
    await swapCurrent(indexDir, path.relative(indexDir, finalDir));
    // The new build is live: old builds left on disk are a warning, not a failed reindex.
    await pruneBuilds(indexDir, [finalDir, previousDir]).catch((error: unknown) =>
      o.logger?.warn(`Could not remove old builds from ${buildsDir(indexDir)} (the new index is live): ${(explainBuildError(error, { indexDir, corpusDir: o.corpusDir ?? '' }) as Error).message}`),
    );
    return { ...result, dir: finalDir };
  } finally {
    // Clean-up must not hide why the build failed (or fail one that succeeded): only logged.
    await rm(staging, { recursive: true, force: true }).catch((error: Error) => o.logger?.warn(`Could not remove ${staging}: ${error.message}. Remove it by hand.`));
    await lock.release().catch((error: Error) => o.logger?.warn(`Could not remove ${lockFile(indexDir)}: ${error.message}. Remove it by hand once no reindex is running.`));
  }
}

/** The live build, when the next one can be derived from it: same format, model, chunking,
 * keyword tokenisation and HNSW parameters, and holes below a quarter of the vectors. */
interface PreviousBuild {
  dir: string;
  manifest: IndexManifest;
  layout: BuildLayout;
}

/** Holes (vectors of removed chunks) beyond which a reindex rebuilds everything. */
const MAX_HOLE_SHARE = 0.25;
const MIN_HOLES_TO_COMPACT = 1000;

async function derivableFrom(
  indexDir: string,
  want: { embedding: string | null; chunking: { size: number; overlap: number }; keywordMode: KeywordMode; hnsw: { m: number; efConstruction: number } },
  logger?: Logger,
): Promise<PreviousBuild | undefined> {
  let previous: PreviousBuild;
  try {
    const dir = await currentDir(indexDir);
    previous = { dir, manifest: await readManifest(dir, undefined), layout: await readLayout(dir) };
  } catch {
    return undefined; // none, or unusable: a full build
  }
  const { manifest, layout } = previous;
  const reason =
    (manifest.embedding?.model ?? null) !== want.embedding
      ? 'the embedding model changed'
      : manifest.chunking.size !== want.chunking.size || manifest.chunking.overlap !== want.chunking.overlap || manifest.chunking.version !== CHUNKER_VERSION
        ? 'the chunking changed'
        : manifest.keyword.mode !== want.keywordMode
          ? 'the keyword tokenisation changed'
          : manifest.hnsw && (manifest.hnsw.m !== want.hnsw.m || manifest.hnsw.efConstruction !== want.hnsw.efConstruction)
            ? 'the HNSW parameters changed'
            : holes(manifest, layout) >= MIN_HOLES_TO_COMPACT && holes(manifest, layout) > layout.elements * MAX_HOLE_SHARE
              ? `${holes(manifest, layout)} of its ${layout.elements} vectors belong to removed chunks`
              : undefined;
  if (reason) {
    logger?.info(`Rebuilding the whole index: ${reason}.`);
    return undefined;
  }
  const problem = await truncatedFile(previous).catch((error: Error) => error.message);
  if (problem) {
    logger?.warn(`Rebuilding the whole index: the live build in ${previous.dir} is damaged (${problem}).`);
    return undefined;
  }
  return previous;
}

/** Cheap checks that the files a derived build copies are whole (a cut-short file would be
 * carried over): their sizes against layout.json and their headers. */
async function truncatedFile({ dir, manifest, layout }: PreviousBuild): Promise<string | undefined> {
  const size = (name: string) => stat(path.join(dir, name)).then((s) => s.size);
  for (const [name, bytes] of layout.segments) if ((await size(name)) !== bytes) return `${name} has the wrong size`;
  const handle = await open(path.join(dir, FILES.keyword), 'r');
  try {
    const header = Buffer.alloc(32);
    await handle.read(header, 0, 32, 0);
    const [docs, terms, postings, names] = [3, 4, 5, 6].map((i) => header.readUInt32LE(i * 4));
    if (docs !== manifest.counts.chunks || (await handle.stat()).size !== 32 + 4 * (docs + terms + 1 + postings) + names) return `${FILES.keyword} has the wrong size`;
  } finally {
    await handle.close();
  }
  if (!manifest.embedding) return undefined;
  if ((await size(FILES.labels)) !== manifest.counts.chunks * 4) return `${FILES.labels} has the wrong size`;
  if (!(await vectorFileComplete(path.join(dir, FILES.vectors), layout.elements))) return `${FILES.vectors} is incomplete`;
  return undefined;
}

const holes = (manifest: IndexManifest, layout: BuildLayout) => (manifest.embedding ? layout.elements - manifest.counts.chunks : 0);

/** The previous build's files could not be read while deriving the next one from it. */
class PreviousBuildUnusable extends Error {}

async function buildIndexIn(options: BuildOptions): Promise<BuildSummary> {
  const { config, logger } = options;
  const started = performance.now();
  const keywordMode = options.keywordMode ?? 'both';
  return withBuild(config.indexDir, { logger, requestedBy: options.requestedBy, corpusDir: config.corpusDir }, async (staging, buildId) => {
    options.onProgress?.({ phase: 'reading', done: 0, total: 1 });
    const read = await readPages(config.corpusDir, { maxPageBytes: config.maxPageBytes });
    const hashes = new Map(read.pages.map((page) => [page.file, sha256(page.text)]));
    const want = { embedding: options.embedder?.modelId ?? null, chunking: config.chunking, keywordMode, hnsw: config.hnsw };
    let previous = options.full ? undefined : await derivableFrom(config.indexDir, want, logger);
    const previousPages = previous?.manifest.pages ?? (await previousManifest(config.indexDir))?.pages ?? {};
    const changedFiles = new Set(read.pages.filter((page) => previousPages[page.file]?.sha256 !== hashes.get(page.file)).map((page) => page.file));
    const changed = {
      added: [...changedFiles].filter((file) => !previousPages[file]).length,
      replaced: [...changedFiles].filter((file) => previousPages[file]).length,
      removed: Object.keys(previousPages).filter((file) => !hashes.has(file)).length,
    };
    // Only the pages that changed are segmented and chunked when the build is derived.
    const segmented = new Map<string, { articles: Article[]; warning?: PageWarning }>();
    const segment = (page: Page) => {
      try {
        const articles = segmentPage(page);
        return { articles, warning: articles.length ? undefined : { file: page.file, reason: 'has no recognisable article' } };
      } catch (error) {
        return { articles: [], warning: { file: page.file, reason: `could not be split into articles (${(error as Error).message})` } };
      }
    };
    for (const page of read.pages) if (!previous || changedFiles.has(page.file)) segmented.set(page.file, segment(page));
    // An unchanged page keeps the warning its segmentation gave (the pages read are all listed).
    const carried = new Map((previous?.manifest.warnings ?? []).map((w) => [w.file, w]));
    const segmentWarnings = read.pages.flatMap((page) => {
      const warning = segmented.has(page.file) ? segmented.get(page.file)!.warning : carried.get(page.file);
      return warning ? [warning] : [];
    });
    const warnings = [...read.warnings, ...segmentWarnings];
    const notices = warnings.filter(isPageNotice);
    const skipped = warnings.filter((w) => !isPageNotice(w));
    for (const w of notices) logger?.warn(`${w.file}: ${w.reason}`);
    for (const w of skipped) logger?.warn(`Skipped page ${w.file}: ${w.reason}`);

    const pages: BuildPage[] = read.pages.map((page) => {
      const articles = segmented.get(page.file)?.articles;
      return { file: page.file, sha256: hashes.get(page.file)!, articles: articles ?? [], chunks: articles ? chunkArticles(articles, config.chunking) : [] };
    });
    const count = (key: 'articles' | 'chunks') =>
      pages.reduce((sum, page) => sum + (segmented.has(page.file) ? page[key].length : previousPages[page.file][key]), 0);
    if (count('articles') === 0) {
      const live = existsSync(currentLink(config.indexDir)) ? ' The live index was left as it was.' : '';
      throw new OperatorError(
        `CORPUS_DIR=${config.corpusDir} has no articles (${read.pages.length} readable pages, ${skipped.length} skipped). Add .txt or .md newspaper pages there and try again.${live}`,
      );
    }
    if (count('chunks') === 0) {
      throw new OperatorError(`CORPUS_DIR=${config.corpusDir} has headlines but no article text to index. Add complete .txt or .md newspaper pages there and try again.`);
    }
    const manifestBase = {
      format: INDEX_FORMAT,
      buildId,
      codeVersion: codeVersion(),
      builtAt: new Date().toISOString(),
      buildSeconds: 0,
      chunking: { size: config.chunking.size, overlap: config.chunking.overlap, version: CHUNKER_VERSION },
      corpusDir: config.corpusDir,
      keyword: { mode: keywordMode },
      warnings: skipped.map(({ file, reason }) => ({ file, reason })),
      notices: notices.map(({ file, reason }) => ({ file, reason })),
    };

    let denseNotice: string | undefined;
    let written: BuildWrite | undefined;
    if (previous) {
      const before = previous;
      const updates = pages.filter((page) => segmented.has(page.file));
      const removed = Object.keys(before.manifest.pages).filter((file) => !hashes.has(file));
      try {
        if (options.embedder && before.manifest.embedding) {
          const old = await readSomePages(before.dir, before.layout, new Set(updates.map((page) => page.file))).catch((error: unknown) => {
            throw new PreviousBuildUnusable((error as Error).message);
          });
          const keep = new Set([...old.values()].flatMap((page) => page.chunks.map((chunk) => chunk.id)));
          await embedPages(updates, (chunk) => keep.has(chunk.id), options.embedder, options, true).catch((error: unknown) => {
            if (!(error instanceof EmbeddingUnavailableError)) throw error;
            throw new OperatorError(`${error.message}\nThe live index has vectors, so it was left as it was rather than replaced by a keyword-only one.`);
          });
        }
        await mkdir(staging, { recursive: true });
        written = await writeDerived(before, staging, { updates, removed }, options.onProgress);
      } catch (error) {
        if (!(error instanceof PreviousBuildUnusable)) throw error;
        logger?.warn(`Could not derive the new build from ${before.dir} (${error.message}): rebuilding the whole index.`);
        await rm(staging, { recursive: true, force: true });
        previous = undefined;
        for (const page of read.pages) if (!segmented.has(page.file)) segmented.set(page.file, segment(page));
        for (const page of pages) {
          page.articles = segmented.get(page.file)!.articles;
          page.chunks = chunkArticles(page.articles, config.chunking);
        }
      }
    }
    if (!previous) {
      let withVectors = false;
      let reused = 0;
      if (options.embedder) {
        const reuse = await previousVectors(config.indexDir, options.embedder, config.chunking);
        try {
          const embedded = await embedPages(pages, (chunk) => reuse.has(chunk.id), options.embedder, options, false, reuse);
          reused = pages.reduce((sum, page) => sum + page.chunks.length, 0) - embedded;
          withVectors = true;
        } catch (error) {
          if (!(error instanceof EmbeddingUnavailableError)) throw error;
          if (reuse.hadVectors) {
            throw new OperatorError(`${error.message}\nThe live index has vectors, so it was left as it was rather than replaced by a keyword-only one.`);
          }
          denseNotice = `${error.message}\nBuilt a keyword-only index: answers use keyword retrieval alone until the model is available and \`npm run reindex\` runs again.`;
          logger?.warn(denseNotice);
          for (const page of pages) page.vectors = undefined;
        } finally {
          reuse.close();
        }
      }
      await mkdir(staging, { recursive: true });
      written = await writeFull(staging, pages, { keywordMode, hnsw: config.hnsw, vectors: withVectors, reused }, options.onProgress);
    }
    const manifest: IndexManifest = {
      ...manifestBase,
      embedding: written!.dimension && options.embedder ? { model: options.embedder.modelId, dimension: written!.dimension } : null,
      hnsw: written!.dimension ? { space: 'cosine', m: config.hnsw.m, efConstruction: config.hnsw.efConstruction } : null,
      pages: written!.pages,
      counts: written!.counts,
      ...(previous ? { derived: { from: previous.manifest.buildId, ...changed } } : {}),
    };
    manifest.buildSeconds = Number(((performance.now() - started) / 1000).toFixed(2));
    options.onProgress?.({ phase: 'done', done: 1, total: 1 });
    return { manifest, seconds: manifest.buildSeconds, denseNotice, changed };
  });
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function previousManifest(indexDir: string): Promise<IndexManifest | undefined> {
  try {
    const dir = await currentDir(indexDir);
    return JSON.parse(await readFile(path.join(dir, FILES.manifest), 'utf8')) as IndexManifest;
  } catch {
    return undefined;
  }
}

/** Embeds the chunks of these pages that `known` does not cover, similar lengths together across
 * all of them (the embedder sorts only within a call), and sets each page's vectors: the new ones,
 * `reuse`'s for the known chunks when given, else undefined (kept from the previous build). */
async function embedPages(
  pages: BuildPage[],
  known: (chunk: Chunk) => boolean,
  embedder: TextEmbedder,
  options: Pick<BuildOptions, 'onProgress' | 'batchSize'>,
  derived: boolean,
  reuse?: { get(id: string): number[] | undefined },
): Promise<number> {
  const missing: { page: BuildPage; i: number }[] = [];
  for (const page of pages) {
    page.vectors = page.chunks.map((chunk, i) => {
      if (known(chunk)) return reuse?.get(chunk.id);
      missing.push({ page, i });
      return undefined;
    });
  }
  const textOf = ({ page, i }: { page: BuildPage; i: number }) => page.chunks[i].indexText;
  missing.sort((a, b) => textOf(a).length - textOf(b).length);
  const batch = options.batchSize ?? 32;
  options.onProgress?.({ phase: 'embedding', done: 0, total: missing.length });
  for (let i = 0; i < missing.length; i += batch) {
    const group = missing.slice(i, i + batch);
    const embedded = await embedder.embedDocuments(group.map(textOf));
    group.forEach(({ page, i: at }, n) => (page.vectors![at] = embedded[n]));
    options.onProgress?.({ phase: 'embedding', done: Math.min(i + batch, missing.length), total: missing.length });
  }
  const total = pages.reduce((sum, page) => sum + page.chunks.length, 0);
  // Still proves the model loads, whether or not anything needed embedding.
  if (missing.length === 0 && (total > 0 || derived)) await embedder.embedQuery('检查');
  return missing.length;
}

/** Vectors of the previous build by chunk id, for a full build to reuse (same model and
 * chunking). Reads format 1 builds too, so that upgrading does not embed everything again. */
async function previousVectors(
  indexDir: string,
  embedder: TextEmbedder,
  chunking: { size: number; overlap: number },
): Promise<{ has(id: string): boolean; get(id: string): number[] | undefined; hadVectors: boolean; close(): void }> {
  const none = { has: () => false, get: () => undefined, hadVectors: false, close() {} };
  let dir: string;
  let manifest: IndexManifest;
  try {
    dir = await currentDir(indexDir);
    manifest = JSON.parse(await readFile(path.join(dir, FILES.manifest), 'utf8')) as IndexManifest;
  } catch {
    return none;
  }
  const hadVectors = manifest.embedding !== null && manifest.embedding?.model === embedder.modelId;
  const same = manifest.chunking?.size === chunking.size && manifest.chunking.overlap === chunking.overlap && manifest.chunking.version === CHUNKER_VERSION;
  if (!hadVectors || !same || (manifest.format !== 1 && manifest.format !== INDEX_FORMAT)) return { ...none, hadVectors };
  try {
    let ids: string[];
    let labels: Uint32Array | undefined;
    if (manifest.format === 1) {
      ids = (JSON.parse(await readFile(path.join(dir, 'chunks.json'), 'utf8')) as Chunk[]).map((chunk) => chunk.id);
    } else {
      const layout = await readLayout(dir);
      ids = (await readRecords(dir, layout)).chunks.map((chunk) => chunk.id);
      labels = await readLabels(dir, ids.length);
    }
    const index = new HierarchicalNSW('cosine', manifest.embedding!.dimension);
    await index.readIndex(path.join(dir, FILES.vectors));
    const at = new Map(ids.map((id, position) => [id, labels ? labels[position] : position]));
    let open = true;
    return {
      has: (id) => at.has(id),
      get: (id) => (open && at.has(id) ? index.getPoint(at.get(id)!) : undefined),
      hadVectors,
      close: () => void (open = false),
    };
  } catch {
    return { ...none, hadVectors }; // unreadable: embed everything
  }
}

/** Writes every structure of a build afresh: labels are positions, no holes. */
async function writeFull(
  staging: string,
  unsorted: BuildPage[],
  o: { keywordMode: KeywordMode; hnsw: { m: number; efConstruction: number }; vectors: boolean; reused: number },
  onProgress?: (progress: BuildProgress) => void,
): Promise<BuildWrite> {
  const pages = [...unsorted].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const chunks = pages.flatMap((page) => page.chunks);
  onProgress?.({ phase: 'indexing', done: 0, total: chunks.length });
  const keyword = KeywordIndex.build(chunks.map((c) => c.indexText), o.keywordMode);
  let dimension = 0;
  let elements = 0;
  if (o.vectors && chunks.length) {
    const vectors = pages.flatMap((page) => page.chunks.map((chunk, i) => page.vectors?.[i] ?? missingVector(chunk)));
    dimension = vectors[0].length;
    const index = hnswIndex(vectors, o.hnsw);
    elements = index.getCurrentCount();
    onProgress?.({ phase: 'saving', done: 0, total: 1 });
    await writeVectors(index, staging, o.hnsw.m);
    await writeParts(path.join(staging, FILES.labels), [u32(Uint32Array.from(chunks, (_, i) => i))]);
  } else {
    onProgress?.({ phase: 'saving', done: 0, total: 1 });
  }
  const records = await writeRecords(staging, pages.map((page) => ({ page })));
  await writeParts(path.join(staging, FILES.keyword), keyword.toBinary());
  await writeFileNamed(path.join(staging, FILES.layout), JSON.stringify({ format: 2, ...records, elements } satisfies BuildLayout));
  return summarizeWrite(pages, dimension, o.reused, o.vectors);
}

function missingVector(chunk: Chunk): never {
  throw new Error(`No vector for chunk ${chunk.id}`);
}

function summarizeWrite(pages: BuildPage[], dimension: number, reusedOrKept: number, vectors: boolean): BuildWrite {
  return {
    pages: Object.fromEntries(pages.map((page) => [page.file, { sha256: page.sha256, articles: page.articles.length, chunks: page.chunks.length }])),
    counts: {
      pages: pages.length,
      articles: pages.reduce((sum, page) => sum + page.articles.length, 0),
      chunks: pages.reduce((sum, page) => sum + page.chunks.length, 0),
      reusedVectors: vectors ? reusedOrKept : 0,
    },
    dimension,
  };
}

/** Builds hnswlib with our M and efConstruction, one point per vector, labels = positions. */
function hnswIndex(vectors: number[][], hnsw: { m: number; efConstruction: number }, onProgress?: (done: number) => void): Hnsw {
  const index = new HierarchicalNSW('cosine', vectors[0].length);
  index.initIndex(Math.max(vectors.length, 1), hnsw.m, hnsw.efConstruction, 100);
  vectors.forEach((vector, label) => {
    index.addPoint(vector, label);
    if (onProgress && label % 2000 === 0) onProgress(label);
  });
  return index;
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
  const index = hnswIndex(vectors, hnsw, onProgress);
  if (hnsw.efSearch) index.setEf(hnsw.efSearch);
  return vectorStore(index, chunks, undefined, embedder);
}

/** The next build from the previous one: unchanged pages carried over (their lines copied, their
 * postings renumbered, their points kept), `updates` written anew, `removed` dropped. A chunk of
 * an updated page whose id the page had before keeps its point. */
async function writeDerived(
  previous: PreviousBuild,
  staging: string,
  changes: { updates: BuildPage[]; removed: string[] },
  onProgress?: (progress: BuildProgress) => void,
): Promise<BuildWrite> {
  const { dir, manifest, layout } = previous;
  const fail = (error: unknown): never => {
    throw new PreviousBuildUnusable(`${(error as Error).message.split('\n')[0]}`);
  };
  const updates = new Map(changes.updates.map((page) => [page.file, page]));
  const removed = new Set(changes.removed.filter((file) => manifest.pages[file]));
  for (const file of removed) if (updates.has(file)) throw new Error(`${file} is both replaced and removed`);
  // Where each previous page's chunks were, by position.
  const before = new Map<string, { entry: BuildLayout['pages'][number]; chunkAt: number }>();
  let position = 0;
  for (const entry of layout.pages) {
    before.set(entry[0], { entry, chunkAt: position });
    position += entry[4];
  }
  if (position !== manifest.counts.chunks) fail(new Error('layout.json disagrees with the manifest'));
  const files = [...new Set([...layout.pages.map(([file]) => file).filter((file) => !removed.has(file)), ...updates.keys()])].sort();
  const withVectors = manifest.embedding !== null;
  const oldLabels = withVectors ? await readLabels(dir, position).catch(fail) : undefined;
  const oldPages = withVectors ? await readSomePages(dir, layout, new Set([...updates.keys()].filter((file) => before.has(file)))).catch(fail) : new Map();

  // New positions, labels and keyword documents.
  const total = files.reduce((sum, file) => sum + (updates.get(file)?.chunks.length ?? before.get(file)!.entry[4]), 0);
  const renumber = new Int32Array(position).fill(-1);
  const added: AddedDoc[] = [];
  const labels = new Uint32Array(total);
  const freed = new Set<number>();
  const points: { vector: number[]; label: number }[] = [];
  let nextLabel = layout.elements;
  let kept = 0;
  position = 0;
  for (const file of files) {
    const update = updates.get(file);
    const old = before.get(file);
    if (!update) {
      const count = old!.entry[4];
      for (let i = 0; i < count; i++) {
        renumber[old!.chunkAt + i] = position + i;
        if (oldLabels) labels[position + i] = oldLabels[old!.chunkAt + i];
      }
      kept += count;
      position += count;
      continue;
    }
    const oldLabelOf = new Map<string, number>();
    if (old && oldLabels) {
      oldPages.get(file)!.chunks.forEach((chunk: Chunk, i: number) => {
        oldLabelOf.set(chunk.id, oldLabels[old.chunkAt + i]);
        freed.add(oldLabels[old.chunkAt + i]);
      });
    }
    update.chunks.forEach((chunk, i) => {
      added.push({ doc: position, text: chunk.indexText });
      if (withVectors) {
        const label = oldLabelOf.get(chunk.id);
        if (label !== undefined && freed.delete(label)) {
          labels[position] = label;
          kept++;
        } else {
          const vector = update.vectors?.[i] ?? missingVector(chunk);
          labels[position] = nextLabel++;
          points.push({ vector, label: labels[position] });
        }
      }
      position++;
    });
  }
  for (const file of removed) {
    const old = before.get(file)!;
    if (oldLabels) for (let i = 0; i < old.entry[4]; i++) freed.add(oldLabels[old.chunkAt + i]);
  }

  onProgress?.({ phase: 'indexing', done: 0, total: added.length });
  onProgress?.({ phase: 'saving', done: 0, total: 1 });
  // The vectors (hnswlib reads and writes on libuv's threads) and the keyword index and pages
  // (in this thread) are read, changed and written side by side; each write names its file.
  const vectorsWritten = async () => {
    if (!withVectors) return;
    const index = new HierarchicalNSW('cosine', manifest.embedding!.dimension);
    await index.readIndex(path.join(dir, FILES.vectors)).catch(fail);
    if (index.getCurrentCount() !== layout.elements) fail(new Error(`${index.getCurrentCount()} vectors where layout.json says ${layout.elements}`));
    for (const label of freed) index.markDelete(label);
    if (nextLabel > index.getMaxElements()) index.resizeIndex(nextLabel);
    for (const { vector, label } of points) index.addPoint(vector, label);
    await writeVectors(index, staging, manifest.hnsw!.m);
    await writeParts(path.join(staging, FILES.labels), [u32(labels)]);
  };
  const restWritten = async () => {
    const keyword = KeywordIndex.fromBinary(await readFile(path.join(dir, FILES.keyword)).catch(fail)).withChanges(renumber, total, added);
    const records = await writeRecords(
      staging,
      files.map((file) => (updates.has(file) ? { page: updates.get(file)! } : { copy: before.get(file)!.entry })),
      { dir, layout },
    );
    await writeParts(path.join(staging, FILES.keyword), keyword.toBinary());
    return records;
  };
  const [vectors, rest] = await Promise.allSettled([vectorsWritten(), restWritten()]);
  if (vectors.status === 'rejected') throw vectors.reason;
  if (rest.status === 'rejected') throw rest.reason;
  const dimension = withVectors ? manifest.embedding!.dimension : 0;
  await writeFileNamed(path.join(staging, FILES.layout), JSON.stringify({ format: 2, ...rest.value, elements: withVectors ? nextLabel : 0 } satisfies BuildLayout));
  const manifestPages = Object.fromEntries(files.map((file) => {
    const update = updates.get(file);
    return [file, update ? { sha256: update.sha256, articles: update.articles.length, chunks: update.chunks.length } : manifest.pages[file]];
  }));
  const counts = {
    pages: files.length,
    articles: Object.values(manifestPages).reduce((sum, page) => sum + page.articles, 0),
    chunks: total,
    reusedVectors: withVectors ? kept : 0,
  };
  return { pages: manifestPages, counts, dimension };
}

/** Segments a derived build may hold before its lines are copied into one; and the share of
 * their bytes that may belong to pages since replaced or removed. */
const MAX_SEGMENTS = 8;
const MAX_DEAD_SHARE = 0.25;

/** Writes the pages' lines: each page encoded, or carried over from the previous build. Carried
 * lines stay in the previous build's segment files, hard-linked (never changed once written),
 * unless that would make too many segments or keep too many dead lines: then they are copied
 * byte for byte (consecutive lines in one piece) into the new segment, with the encoded ones. */
async function writeRecords(
  staging: string,
  items: ({ page: BuildPage } | { copy: BuildLayout['pages'][number] })[],
  previous?: { dir: string; layout: BuildLayout },
): Promise<Pick<BuildLayout, 'pages' | 'segments'>> {
  const name = `pages-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.jsonl`;
  const file = path.join(staging, name);
  const carried = items.flatMap((item) => ('copy' in item ? [item.copy] : []));
  const used = [...new Set(carried.map((entry) => entry[5]))];
  const liveBytes = carried.reduce((sum, entry) => sum + entry[2] + 1, 0);
  const usedBytes = used.reduce((sum, segment) => sum + previous!.layout.segments[segment][1], 0);
  const link_ = previous !== undefined && used.length + 1 <= MAX_SEGMENTS && usedBytes - liveBytes <= usedBytes * MAX_DEAD_SHARE;
  const segments: BuildLayout['segments'] = [];
  const linked = new Map<number, number>();
  if (link_) {
    for (const segment of used) {
      const [old, size] = previous.layout.segments[segment];
      const target = path.join(staging, old);
      await link(path.join(previous.dir, old), target).catch(() => copyFile(path.join(previous.dir, old), target));
      linked.set(segment, segments.length);
      segments.push([old, size]);
    }
  }
  const entries: BuildLayout['pages'] = [];
  const mine = segments.length;
  if (link_ && items.every((item) => 'copy' in item)) {
    for (const item of items) if ('copy' in item) entries.push([...item.copy.slice(0, 5), linked.get(item.copy[5])!] as BuildLayout['pages'][number]);
    return { pages: entries, segments };
  }
  const out = await open(file, 'w').catch((error: unknown) => Promise.reject(withPath(error, file)));
  const sources = new Map<number, FileHandle>();
  let at = 0;
  const write = async (data: Buffer) => {
    await out.write(data).catch((error: unknown) => Promise.reject(withPath(error, file)));
    at += data.length;
  };
  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pending.length) await write(Buffer.concat(pending));
      pending = [];
      pendingBytes = 0;
    };
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if ('page' in item) {
        const line = Buffer.from(`${encodePage(item.page.file, item.page.articles, item.page.chunks)}\n`, 'utf8');
        entries.push([item.page.file, at + pendingBytes, line.length - 1, item.page.articles.length, item.page.chunks.length, mine]);
        pending.push(line);
        pendingBytes += line.length;
        if (pendingBytes > BLOCK_BYTES) await flush();
        continue;
      }
      if (link_) {
        entries.push([...item.copy.slice(0, 5), linked.get(item.copy[5])!] as BuildLayout['pages'][number]);
        continue;
      }
      await flush();
      // A run of lines that follow each other in one file of the previous build: one copy.
      const run = (j: number) => (items[j] as { copy: BuildLayout['pages'][number] }).copy;
      let end = i;
      while (end + 1 < items.length && 'copy' in items[end + 1] && run(end + 1)[5] === run(end)[5] && run(end + 1)[1] === run(end)[1] + run(end)[2] + 1) end++;
      const first = item.copy[1];
      for (let j = i; j <= end; j++) {
        const [page, offset, length, articles, chunks] = run(j);
        entries.push([page, at + offset - first, length, articles, chunks, mine]);
      }
      const segment = item.copy[5];
      let source = sources.get(segment);
      if (!source) sources.set(segment, (source = await open(path.join(previous!.dir, previous!.layout.segments[segment][0]), 'r')));
      await copyRange(source, first, run(end)[1] + run(end)[2] + 1 - first, write);
      i = end;
    }
    await flush();
  } finally {
    for (const source of sources.values()) await source.close();
    await out.close();
  }
  segments.push([name, at]);
  return { pages: entries, segments };
}

async function copyRange(source: FileHandle, start: number, length: number, write: (data: Buffer) => Promise<void>): Promise<void> {
  const buffer = Buffer.allocUnsafe(Math.min(BLOCK_BYTES, Math.max(length, 1)));
  for (let done = 0; done < length; ) {
    const { bytesRead } = await source.read(buffer, 0, Math.min(buffer.length, length - done), start + done);
    if (bytesRead === 0) throw new PreviousBuildUnusable('a pages file is shorter than layout.json says');
    await write(buffer.subarray(0, bytesRead));
    done += bytesRead;
  }
}

const u32 = (array: Uint32Array) => Buffer.from(array.buffer, array.byteOffset, array.byteLength);

/** Writes buffers one after another into a file (a large index never becomes one buffer). */
async function writeParts(file: string, parts: Buffer[]): Promise<void> {
  const handle = await open(file, 'w').catch((error: unknown) => Promise.reject(withPath(error, file)));
  try {
    for (const part of parts) await handle.write(part).catch((error: unknown) => Promise.reject(withPath(error, file)));
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Writing pages directly (the storage benchmark, and callers that already hold page records)

/** The options a build from page records needs: what buildIndex takes from the configuration. */
export interface SaveBuildOptions {
  /** The model the vectors come from; null for a keyword-only build (vectors ignored). */
  embedding: { model: string; dimension: number } | null;
  chunking: { size: number; overlap: number };
  hnsw: { m: number; efConstruction: number };
  keywordMode?: KeywordMode;
  corpusDir?: string;
  logger?: Logger;
  onProgress?: (progress: BuildProgress) => void;
  requestedBy?: RequestedBy;
}

/** A full build of these pages (each with a vector per chunk unless keyword-only) in INDEX_DIR,
 * swapped in as buildIndex does. */
export async function saveBuild(indexDir: string, records: PageRecord[], o: SaveBuildOptions): Promise<BuildSummary> {
  const started = performance.now();
  try {
    return await withBuild(indexDir, o, async (staging, buildId) => {
      const pages: BuildPage[] = records.map((r) => ({ file: r.file, sha256: r.contentHash, articles: r.articles, chunks: r.chunks, vectors: o.embedding ? r.vectors : undefined }));
      await mkdir(staging, { recursive: true });
      const chunks = pages.reduce((sum, page) => sum + page.chunks.length, 0);
      const written = await writeFull(staging, pages, { keywordMode: o.keywordMode ?? 'both', hnsw: o.hnsw, vectors: o.embedding !== null, reused: chunks }, o.onProgress);
      const manifest = recordsManifest(buildId, o, written, started);
      return { manifest, seconds: manifest.buildSeconds, changed: { added: records.length, replaced: 0, removed: 0 } };
    });
  } catch (error) {
    throw explainBuildError(error, { indexDir, corpusDir: o.corpusDir ?? '' });
  }
}

/** The page changes a derived build applies: pages added or replaced whole (by file), and files
 * removed. */
export interface PageChanges {
  upserts: PageRecord[];
  deletes: string[];
}

/** Derives a new build from the live one in INDEX_DIR, touching only these pages, and swaps it
 * in: what a reindex does when few pages changed. An upserted page needs a vector for each chunk
 * whose id that page did not have before (unless the index is keyword-only). The live build must
 * be of this format (IndexMissingError / IndexInvalidError otherwise: rebuild first). */
export async function applyPageChanges(
  indexDir: string,
  changes: PageChanges,
  o: { logger?: Logger; onProgress?: (progress: BuildProgress) => void; requestedBy?: RequestedBy } = {},
): Promise<BuildSummary> {
  const started = performance.now();
  try {
    return await withBuild(indexDir, o, async (staging, buildId) => {
      const dir = await currentDir(indexDir);
      const previous: PreviousBuild = { dir, manifest: await readManifest(dir, undefined), layout: await readLayout(dir) };
      const updates: BuildPage[] = changes.upserts.map((r) => ({ file: r.file, sha256: r.contentHash, articles: r.articles, chunks: r.chunks, vectors: r.vectors }));
      await mkdir(staging, { recursive: true });
      const written = await writeDerived(previous, staging, { updates, removed: changes.deletes }, o.onProgress).catch((error: unknown) => {
        throw error instanceof PreviousBuildUnusable ? damaged(dir, 'while deriving a build', error) : error;
      });
      const touched = new Set([...changes.upserts.map((r) => r.file), ...changes.deletes]);
      const changed = {
        added: changes.upserts.filter((r) => !previous.manifest.pages[r.file]).length,
        replaced: changes.upserts.filter((r) => previous.manifest.pages[r.file]).length,
        removed: changes.deletes.filter((file) => previous.manifest.pages[file]).length,
      };
      const manifest: IndexManifest = {
        ...previous.manifest,
        buildId,
        codeVersion: codeVersion(),
        builtAt: new Date().toISOString(),
        pages: written.pages,
        counts: written.counts,
        warnings: previous.manifest.warnings.filter((w) => !touched.has(w.file)),
        notices: previous.manifest.notices?.filter((w) => !touched.has(w.file)),
        derived: { from: previous.manifest.buildId, ...changed },
      };
      manifest.buildSeconds = Number(((performance.now() - started) / 1000).toFixed(2));
      o.onProgress?.({ phase: 'done', done: 1, total: 1 });
      return { manifest, seconds: manifest.buildSeconds, changed };
    });
  } catch (error) {
    throw explainBuildError(error, { indexDir, corpusDir: '' });
  }
}

function recordsManifest(buildId: string, o: SaveBuildOptions, written: BuildWrite, started: number): IndexManifest {
  const embedding = o.embedding && written.dimension ? o.embedding : null;
  return {
    format: INDEX_FORMAT,
    buildId,
    codeVersion: codeVersion(),
    builtAt: new Date().toISOString(),
    buildSeconds: Number(((performance.now() - started) / 1000).toFixed(2)),
    embedding,
    chunking: { size: o.chunking.size, overlap: o.chunking.overlap, version: CHUNKER_VERSION },
    ...(o.corpusDir ? { corpusDir: o.corpusDir } : {}),
    keyword: { mode: o.keywordMode ?? 'both' },
    hnsw: embedding ? { space: 'cosine', m: o.hnsw.m, efConstruction: o.hnsw.efConstruction } : null,
    pages: written.pages,
    counts: written.counts,
    warnings: [],
  };
}

/** hnswlib's writeIndex, checked. hnswlib writes its file through an unchecked C++ stream, so a
 * full disk or a denied write leaves a short or missing file and no error. Then the same number
 * of bytes is written with Node, whose error names the cause (ENOSPC, EACCES…); if that works,
 * the build still fails rather than swap in vectors that would not load. */
async function writeVectors(index: Hnsw, dir: string, m: number): Promise<void> {
  const file = path.join(dir, FILES.vectors);
  await index.writeIndex(file).catch((error: unknown) => Promise.reject(withPath(error, file)));
  const count = index.getCurrentCount();
  if (await vectorFileComplete(file, count)) return;
  // hnswlib's layout: a 96-byte header, then per vector its level-0 links (2m + 1 integers), the
  // vector, its label and the size of its upper-level links; those links come on top.
  await writeFileNamed(file, Buffer.alloc(96 + count * (8 * m + 4 * index.getNumDimensions() + 16)));
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
