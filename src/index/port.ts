// The storage port: what retrieval and answers need from an index, keyed by chunk id (never by
// an array position or an hnswlib label), so that the vectors and keywords can live in this
// process (src/index/local.ts, hnswlib + an in-process BM25 index) or in PostgreSQL
// (src/index/postgres/store.ts, pgvector + BM25 in SQL over each chunk's term ids and counts).
//
// Reads go through an IndexView: one version of the index, taken once per answer and passed
// through it, so a page replaced meanwhile never mixes two versions in one answer.
import type { Article } from '../corpus/types.ts';
import type { Chunk } from './chunk.ts';
import type { KeywordMode } from './keyword.ts';

export interface ScoredId {
  id: string;
  /** Dense search: cosine similarity (1 − cosine distance). Keyword search: the BM25 score. */
  score: number;
}

/** Keyword statistics the answer stage scores text with: the IDF-weighted share of a query's
 * terms a text holds, and the query's ideal BM25 score (what keyword scores are divided by). */
export interface KeywordScorer {
  readonly mode: KeywordMode;
  coverage(query: string, text: string): number;
  idealScore(query: string, knownOnly?: boolean): number;
}

/** One version of the index, read-only. */
export interface IndexView {
  /** Changes whenever the content changes (a build id, a transaction snapshot). */
  readonly version: string;
  readonly chunkCount: number;
  /** False for keyword-only builds (no embedding model when it was built). */
  readonly hasVectors: boolean;
  denseSearch(vector: number[], k: number): Promise<ScoredId[]>;
  keywordSearch(query: string, k: number): Promise<ScoredId[]>;
  /** Unit vectors by chunk id; ids without a vector are absent. */
  vectors(ids: string[]): Promise<Map<string, number[]>>;
  chunks(ids: string[]): Promise<Map<string, Chunk>>;
  articles(ids: string[]): Promise<Map<string, Article>>;
  /** A scorer that knows the statistics of at least these queries' terms. */
  scorer(queries: string[]): Promise<KeywordScorer>;
  /** Frees what the view holds (a database transaction); a no-op for the local index. */
  release(): Promise<void>;
}

/** One page as the writer stores it: replaced whole, in one step that readers never see half of. */
export interface PageRecord {
  file: string;
  /** sha256 of the page's bytes: page-by-page ingestion skips pages whose hash is unchanged. */
  contentHash: string;
  articles: Article[];
  chunks: Chunk[];
  /** One unit vector per chunk, in order; absent for a keyword-only index. */
  vectors?: number[][];
}

export interface StoreStatus {
  backend: 'local' | 'postgres';
  pages: number;
  articles: number;
  chunks: number;
  embedding: { model: string; dimension: number } | null;
}

/** The writable store behind the views. */
export interface ChunkStore {
  readonly backend: StoreStatus['backend'];
  view(): Promise<IndexView>;
  upsertPage(page: PageRecord): Promise<void>;
  deletePage(file: string): Promise<void>;
  /** file → content hash of every stored page. */
  pageHashes(): Promise<Map<string, string>>;
  status(): Promise<StoreStatus>;
  close(): Promise<void>;
}
