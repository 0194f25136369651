// What the bot, the chat and the CLI need from "the index", whichever store holds it: views for
// answers (src/index/port.ts), a status for /help and /stats, and a way to bring it up to date
// with CORPUS_DIR. Two implementations, chosen in the composition root (src/app.ts):
// IndexService (INDEX_DIR: hnswlib + a BM25 keyword index) and PostgresIndexService (DATABASE_URL).
import type { IndexView, StoreStatus } from './port.ts';
import type { BuildProgress, RecoveryReport, RequestedBy } from './store.ts';

export interface IndexStatus {
  backend: StoreStatus['backend'];
  pages: number;
  articles: number;
  chunks: number;
  /** null: keyword retrieval only (built without the embedding model). */
  embedding: { model: string; dimension: number } | null;
  /** When the content last changed (a build, or the last page written), ISO 8601. */
  updatedAt: string;
  /** The code version that built it, when recorded (the local builds). */
  codeVersion?: string;
  /** The first headline of the first three pages: /help makes example questions of them. */
  sampleHeadlines: string[];
}

export interface ReindexSummary {
  seconds: number;
  counts: { pages: number; articles: number; chunks: number };
  /** Pages added, replaced or removed (by content hash) since the previous version. */
  changed: { added: number; replaced: number; removed: number };
  reusedVectors?: number;
  /** Pages that could not be read (their stored version, if any, is kept). */
  skippedPages: number;
  /** Pages where a few undecodable bytes were replaced by �. */
  garbledPages: number;
  /** Set when the embedding model was unavailable: only keywords were indexed. */
  denseNotice?: string;
}

export interface IndexBackend {
  readonly backend: StoreStatus['backend'];
  /** One version of the index, for one answer; release it when done. */
  view(): Promise<IndexView>;
  status(): Promise<IndexStatus>;
  /** At start: loads the index, or builds or updates it from CORPUS_DIR when missing or stale. */
  loadOrBuild(onProgress?: (p: BuildProgress) => void): Promise<unknown>;
  /** Brings the index up to date with CORPUS_DIR while answers keep being served. */
  reindex(onProgress?: (p: BuildProgress) => void, options?: { requestedBy?: RequestedBy; full?: boolean }): Promise<ReindexSummary>;
  /** Indexes these pages of CORPUS_DIR now (an admin's upload), or undefined when this backend
   * only takes whole reindexes. */
  ingestPages?(files: string[]): Promise<ReindexSummary>;
  readonly isReindexing: boolean;
  /** Picks up changes made by another process; returns the function that stops watching. */
  watch(intervalMs: number): () => void;
  /** Whether a reindex was cut short by a crash, and who asked for it. */
  recoverInterrupted(): Promise<RecoveryReport>;
  close(): Promise<void>;
}

/** The first headline (up to its first space) of the first three pages, skipping photo captions. */
export function sampleHeadlines(articles: Iterable<{ file: string; kind: string; headline: string }>): string[] {
  const byFile = new Map<string, string>();
  for (const article of articles) {
    if (article.kind !== 'photo' && !byFile.has(article.file)) byFile.set(article.file, article.headline.split(' ')[0]);
  }
  return [...byFile.values()].slice(0, 3);
}

/** What a reindex did, for the operator's terminal. */
export function describeReindex(summary: ReindexSummary): string {
  const { counts, changed } = summary;
  const pages = `${changed.added} pages added, ${changed.replaced} replaced, ${changed.removed} removed`;
  const detail = summary.reusedVectors !== undefined ? `${pages}; ${summary.reusedVectors} vectors reused from the previous build` : pages;
  return `Indexed ${counts.pages} pages, ${counts.articles} articles, ${counts.chunks} chunks in ${summary.seconds.toFixed(1)} s (${detail}, ${summary.skippedPages} pages skipped).`;
}
