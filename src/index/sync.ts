// Page-by-page ingestion into any ChunkStore (src/index/port.ts): each page of CORPUS_DIR is
// compared with the store by the sha256 of its text; only new and changed pages are segmented,
// chunked, embedded and upserted (each in one step readers never see half of), and pages gone
// from CORPUS_DIR are deleted. Adding one page to a big index costs that page alone.
import { createHash } from 'node:crypto';
import { loadCorpus, type Article, type Corpus, type Page } from '../corpus/index.ts';
import { isPageNotice, readPage } from '../corpus/read.ts';
import { segmentPage } from '../corpus/segment.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { chunkArticles, type Chunk } from './chunk.ts';
import type { TextEmbedder } from './embeddings.ts';
import type { ChunkStore } from './port.ts';

export interface SyncReport {
  added: string[];
  replaced: string[];
  removed: string[];
  unchanged: number;
  /** Pages CORPUS_DIR holds but that could not be read: their stored version, if any, is kept. */
  skipped: { file: string; reason: string }[];
  /** Pages kept with a few undecodable bytes replaced by �. */
  garbled: number;
  chunksWritten: number;
  seconds: number;
}

export interface SyncOptions {
  config: Pick<Config, 'corpusDir' | 'maxPageBytes' | 'chunking'>;
  /** Absent: pages are stored without vectors (keyword search only). */
  embedder?: TextEmbedder;
  logger?: Logger;
  onPage?: (file: string, done: number, total: number) => void;
  /** Only these files of CORPUS_DIR (an admin's upload): nothing else is read or deleted. */
  only?: string[];
  /** Pages written again even if unchanged (stored without vectors, now that the model loads). */
  rewrite?: Set<string>;
}

export const pageHash = (text: string) => createHash('sha256').update(text).digest('hex');

export async function syncPages(store: ChunkStore, options: SyncOptions): Promise<SyncReport> {
  const started = performance.now();
  const { config, embedder, logger } = options;
  const corpus = options.only ? await loadPages(config, options.only) : await loadCorpus(config.corpusDir, { maxPageBytes: config.maxPageBytes });
  const stored = await store.pageHashes();
  const report: SyncReport = { added: [], replaced: [], removed: [], unchanged: 0, skipped: [], garbled: 0, chunksWritten: 0, seconds: 0 };
  const changed = corpus.pages.filter((page) => options.rewrite?.has(page.file) || stored.get(page.file) !== pageHash(page.text));
  report.unchanged = corpus.pages.length - changed.length;
  let done = 0;
  for (const group of embeddingGroups(changed, corpus, config.chunking)) {
    const vectors = embedder && group.texts.length ? await embedder.embedDocuments(group.texts) : undefined;
    for (const { page, articles, chunks, offset } of group.pages) {
      const pageVectors = vectors?.slice(offset, offset + chunks.length);
      await store.upsertPage({ file: page.file, contentHash: pageHash(page.text), articles, chunks, vectors: chunks.length ? pageVectors : undefined });
      (stored.has(page.file) ? report.replaced : report.added).push(page.file);
      report.chunksWritten += chunks.length;
      options.onPage?.(page.file, ++done, changed.length);
    }
  }
  // A page that is still there but unreadable keeps its stored version; one that is gone goes.
  const present = new Set([...corpus.pages.map((p) => p.file), ...corpus.warnings.map((w) => w.file)]);
  for (const file of stored.keys()) {
    if (present.has(file) || options.only) continue;
    await store.deletePage(file);
    report.removed.push(file);
  }
  report.skipped = corpus.warnings.filter((w) => !corpus.pages.some((p) => p.file === w.file)).map(({ file, reason }) => ({ file, reason }));
  report.garbled = corpus.warnings.filter(isPageNotice).length;
  for (const { file, reason } of report.skipped) logger?.warn(`Skipped page ${file}: ${reason}`);
  report.seconds = Number(((performance.now() - started) / 1000).toFixed(2));
  return report;
}

/** Chunks embedded in one call. The q8 model's vectors depend slightly on their batch (cosine
 * distance up to 0.0075 measured), so pages are embedded together, as a local build embeds the
 * corpus: a full ingest then stores exactly the local build's vectors. */
const EMBED_GROUP_CHUNKS = 4096;

interface PageChunks {
  page: Page;
  articles: Article[];
  chunks: Chunk[];
  /** Where this page's chunks start in its group's texts. */
  offset: number;
}

function* embeddingGroups(pages: Page[], corpus: Corpus, chunking: SyncOptions['config']['chunking']): Generator<{ pages: PageChunks[]; texts: string[] }> {
  const byFile = new Map<string, Article[]>();
  for (const article of corpus.articles) byFile.set(article.file, [...(byFile.get(article.file) ?? []), article]);
  let group: { pages: PageChunks[]; texts: string[] } = { pages: [], texts: [] };
  for (const page of pages) {
    const articles = byFile.get(page.file) ?? [];
    const chunks = chunkArticles(articles, chunking);
    if (group.texts.length && group.texts.length + chunks.length > EMBED_GROUP_CHUNKS) {
      yield group;
      group = { pages: [], texts: [] };
    }
    group.pages.push({ page, articles, chunks, offset: group.texts.length });
    group.texts.push(...chunks.map((c) => c.indexText));
  }
  if (group.pages.length) yield group;
}

/** loadCorpus for a few files: read and segment only these. */
async function loadPages(config: SyncOptions['config'], files: string[]): Promise<Corpus> {
  const corpus: Corpus = { pages: [], articles: [], warnings: [] };
  for (const file of files) {
    const page = await readPage(config.corpusDir, file, { maxPageBytes: config.maxPageBytes });
    if (!('text' in page)) {
      corpus.warnings.push(page);
      continue;
    }
    let articles;
    try {
      articles = segmentPage(page);
    } catch (error) {
      corpus.warnings.push({ file, reason: `could not be split into articles (${(error as Error).message})` });
      continue;
    }
    if (articles.length === 0) corpus.warnings.push({ file, reason: 'has no recognisable article' });
    corpus.pages.push(page);
    corpus.articles.push(...articles);
  }
  return corpus;
}
