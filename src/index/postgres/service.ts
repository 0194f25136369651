// The index in PostgreSQL (DATABASE_URL) as the bot and the CLI see it. Every replica reads the
// same tables, so there is nothing to reload: a view opened after a page is written sees it. A
// reindex writes only the pages whose content hash changed, under the state store's reindex
// lock, so that two replicas never ingest at once; nothing is written to INDEX_DIR.
import type { Pool } from 'pg';
import type { Config } from '../../config.ts';
import { listPageFiles } from '../../corpus/read.ts';
import { OperatorError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { sampleHeadlines, type IndexBackend, type IndexStatus, type ReindexSummary } from '../backend.ts';
import { EmbeddingUnavailableError, type TextEmbedder } from '../embeddings.ts';
import type { IndexView } from '../port.ts';
import { ReindexBusyError, type BuildProgress, type RecoveryReport } from '../store.ts';
import { syncPages, type SyncReport } from '../sync.ts';
import type { PostgresChunkStore } from './store.ts';

export type TryLock = (name: string) => Promise<(() => Promise<void>) | undefined>;

export interface PostgresIndexOptions {
  store: PostgresChunkStore;
  /** The pool the store reads from, for the status queries. */
  pool: Pool;
  config: Pick<Config, 'corpusDir' | 'maxPageBytes' | 'chunking'>;
  embedder?: TextEmbedder;
  logger?: Logger;
  /** The state store's cross-process lock (StateStore.tryLock). */
  tryLock: TryLock;
}

const REINDEX_LOCK = 'reindex';
/** A replica starting while another ingests waits for it, checking this often. */
const LOCK_POLL_MS = 500;
const LOCK_WAIT_MS = 120_000;

export class PostgresIndexService implements IndexBackend {
  readonly backend = 'postgres' as const;
  private running = false;

  constructor(private readonly options: PostgresIndexOptions) {}

  view(): Promise<IndexView> {
    return this.options.store.view();
  }

  async status(): Promise<IndexStatus> {
    const [status, extra] = await Promise.all([
      this.options.store.status(),
      this.options.pool.query<{ updated: Date | null; headlines: { file: string; kind: string; headline: string }[] | null }>(
        `SELECT (SELECT max(indexed_at) FROM pages) AS updated,
                (SELECT json_agg(a) FROM (SELECT file, data->>'kind' AS kind, data->>'headline' AS headline
                   FROM articles WHERE data->>'kind' <> 'photo' ORDER BY file, position LIMIT 60) a) AS headlines`,
      ),
    ]);
    const { updated, headlines } = extra.rows[0];
    const { backend, pages, articles, chunks, embedding } = status;
    return { backend, pages, articles, chunks, embedding, updatedAt: (updated ?? new Date(0)).toISOString(), sampleHeadlines: sampleHeadlines(headlines ?? []) };
  }

  get isReindexing(): boolean {
    return this.running;
  }

  /** At start: fills an empty database from CORPUS_DIR. A database that has pages is left alone:
   * the index is shared, and a process started with another (or an unmounted) CORPUS_DIR must not
   * rewrite it; updates are `npm run reindex` or /reindex. A replica that finds another one
   * filling the database waits for it, up to LOCK_WAIT_MS, then serves what is there. */
  async loadOrBuild(onProgress?: (p: BuildProgress) => void): Promise<void> {
    const release = await this.waitForLock();
    if (!release) return;
    try {
      if ((await this.options.store.status()).pages > 0) return;
      const summary = await this.sync(onProgress);
      const { added, replaced, removed } = summary.changed;
      if (added + replaced + removed) this.options.logger?.info(`Index in DATABASE_URL updated: ${added} pages added, ${replaced} replaced, ${removed} removed (${summary.seconds} s)`);
    } finally {
      await release();
    }
  }

  /** `full`: every page is written again (re-embedded), not only the changed ones, and pages gone
   * from CORPUS_DIR are deleted even when they are most of the index. */
  async reindex(onProgress?: (p: BuildProgress) => void, options: { full?: boolean } = {}): Promise<ReindexSummary> {
    return this.locked(async () => {
      if (!options.full) await this.refuseMassDeletion();
      return this.sync(onProgress, undefined, options.full);
    });
  }

  /** A CORPUS_DIR that lacks most stored pages is more likely the wrong folder (not mounted, a
   * laptop's seeds/) than a deliberate purge of the shared index. */
  private async refuseMassDeletion(): Promise<void> {
    const stored = [...(await this.options.store.pageHashes()).keys()];
    if (stored.length < 4) return;
    const present = new Set(await listPageFiles(this.options.config.corpusDir).catch(() => [] as string[]));
    const missing = stored.filter((file) => !present.has(file)).length;
    if (missing * 2 > stored.length) {
      throw new OperatorError(
        `CORPUS_DIR=${this.options.config.corpusDir} lacks ${missing} of the ${stored.length} pages in DATABASE_URL; a reindex would delete them for every replica. ` +
          'Check that CORPUS_DIR is the shared folder (mounted), or run `npm run reindex -- --full` to delete them deliberately.',
        'CORPUS_MOSTLY_MISSING',
      );
    }
  }

  private async waitForLock(): Promise<(() => Promise<void>) | undefined> {
    const deadline = Date.now() + LOCK_WAIT_MS;
    let release = await this.options.tryLock(REINDEX_LOCK);
    if (!release) this.options.logger?.warn('Another process is writing the index in DATABASE_URL: waiting for it to finish');
    while (!release && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
      release = await this.options.tryLock(REINDEX_LOCK);
    }
    if (!release) this.options.logger?.warn(`Still waiting after ${LOCK_WAIT_MS / 1000} s: answering from the pages written so far.`);
    return release;
  }

  /** An admin's upload: only these pages are read, embedded and written. */
  async ingestPages(files: string[]): Promise<ReindexSummary> {
    return this.locked(() => this.sync(undefined, files));
  }

  watch(): () => void {
    return () => {};
  }

  /** Each page is written in its own transaction: a crash leaves whole pages, and the next
   * reindex writes what is missing. There is no build to clear. */
  async recoverInterrupted(): Promise<RecoveryReport> {
    return { interrupted: false, removedPartials: [] };
  }

  async close(): Promise<void> {
    await this.options.store.close();
  }

  private async locked(work: () => Promise<ReindexSummary>): Promise<ReindexSummary> {
    const release = await this.options.tryLock(REINDEX_LOCK);
    if (!release) throw new ReindexBusyError('A reindex is already running (in this or another replica). Wait for it to finish.');
    this.running = true;
    try {
      return await work();
    } finally {
      this.running = false;
      await release();
    }
  }

  private async sync(onProgress?: (p: BuildProgress) => void, only?: string[], full = false): Promise<ReindexSummary> {
    const { store, config, logger } = this.options;
    onProgress?.({ phase: 'reading', done: 0, total: 1 });
    // Without the model, pages are stored for keyword search; once it loads, they get vectors.
    const embedder = await this.usableEmbedder();
    const rewrite = full ? new Set((await store.pageHashes()).keys()) : embedder ? await this.pagesWithoutVectors() : undefined;
    const onPage = (_file: string, done: number, total: number) => onProgress?.({ phase: 'embedding', done, total });
    const report = await syncPages(store, { config, embedder, logger, only, rewrite, onPage });
    const status = await store.status();
    onProgress?.({ phase: 'done', done: 1, total: 1 });
    return { ...summarize(report, status), ...(embedder ? {} : { denseNotice: 'The embedding model is unavailable: pages were stored for keyword search only.' }) };
  }

  private async usableEmbedder(): Promise<TextEmbedder | undefined> {
    const { embedder, logger } = this.options;
    if (!embedder) return undefined;
    try {
      await embedder.embedQuery('测试');
      return embedder;
    } catch (error) {
      if (!(error instanceof EmbeddingUnavailableError)) throw error;
      logger?.warn(`${error.message} Pages are stored without vectors (keyword search only) until it loads.`);
      return undefined;
    }
  }

  private async pagesWithoutVectors(): Promise<Set<string>> {
    const { rows } = await this.options.pool.query<{ file: string }>('SELECT DISTINCT file FROM chunks WHERE embedding IS NULL');
    return new Set(rows.map((r) => r.file));
  }
}

function summarize(report: SyncReport, status: { pages: number; articles: number; chunks: number }): ReindexSummary {
  return {
    seconds: report.seconds,
    counts: { pages: status.pages, articles: status.articles, chunks: status.chunks },
    changed: { added: report.added.length, replaced: report.replaced.length, removed: report.removed.length },
    skippedPages: report.skipped.length,
    garbledPages: report.garbled,
  };
}
