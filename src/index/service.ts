// Holds the live index for a running process. A reindex builds beside it; reload() swaps the
// reference, so searches in flight finish on the snapshot they started with.
import { readlink } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.ts';
import { listPageFiles } from '../corpus/read.ts';
import { explainFolderError, isOperatorError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { sampleHeadlines, type IndexBackend, type IndexStatus, type ReindexSummary } from './backend.ts';
import { EmbeddingUnavailableError, type TextEmbedder } from './embeddings.ts';
import { localView } from './local.ts';
import type { IndexView } from './port.ts';
import {
  buildIndex,
  currentLink,
  IndexInvalidError,
  IndexMissingError,
  loadIndex,
  recoverInterruptedBuild,
  ReindexBusyError,
  type BuildProgress,
  type BuildSummary,
  type IndexManifest,
  type IndexSnapshot,
  type RecoveryReport,
  type RequestedBy,
} from './store.ts';

export class IndexService implements IndexBackend {
  readonly backend = 'local' as const;
  private snapshot?: IndexSnapshot;
  private building?: Promise<BuildSummary>;
  private recovery?: Promise<RecoveryReport>;

  constructor(
    private readonly config: Config,
    private readonly embedder: TextEmbedder | undefined,
    private readonly logger?: Logger,
  ) {}

  /** The live snapshot; throws IndexMissingError before the first load. */
  current(): IndexSnapshot {
    if (!this.snapshot) throw new IndexMissingError(`No index loaded from INDEX_DIR=${this.config.indexDir}. Build it with \`npm run reindex\`.`);
    return this.snapshot;
  }

  /** The live index through the storage port (src/index/port.ts). */
  async view(): Promise<IndexView> {
    return localView(this.current());
  }

  async status(): Promise<IndexStatus> {
    const { manifest, articles } = this.current();
    return {
      backend: 'local',
      ...manifest.counts,
      embedding: manifest.embedding,
      updatedAt: manifest.builtAt,
      codeVersion: manifest.codeVersion,
      sampleHeadlines: sampleHeadlines(articles),
    };
  }

  async close(): Promise<void> {}

  get isReindexing(): boolean {
    return this.building !== undefined;
  }

  /** Checks INDEX_DIR/current every `intervalMs` and reloads when another process (npm run
   * reindex) has swapped in a new build. Returns the function that stops watching. */
  watch(intervalMs: number): () => void {
    const timer = setInterval(async () => {
      if (this.building || !this.snapshot) return;
      try {
        const target = path.resolve(this.config.indexDir, await readlink(currentLink(this.config.indexDir)));
        if (target !== this.snapshot.dir) await this.reload();
      } catch (error) {
        this.logger?.warn(`Could not reload the index (keeping the current one): ${(error as Error).message}`);
      }
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Loads the build that INDEX_DIR/current points at, if it is not the live one already. */
  async reload(): Promise<IndexSnapshot> {
    const next = await loadIndex(this.config.indexDir, this.embedder, this.config.hnsw.efSearch, this.snapshot);
    if (next.manifest.buildId !== this.snapshot?.manifest.buildId) {
      this.snapshot = next;
      this.logger?.info(`Index ${next.manifest.buildId} loaded: ${next.manifest.counts.articles} articles, ${next.manifest.counts.chunks} chunks`);
    }
    return this.snapshot!;
  }

  /** Loads the index for a starting process. The index is derived data, so one that is missing,
   * damaged, built with another model, or built without the model that now loads is rebuilt
   * from CORPUS_DIR, saying why. */
  async loadOrBuild(onProgress?: (p: BuildProgress) => void): Promise<IndexSnapshot> {
    await this.recoverInterrupted();
    let full = false; // a damaged index is rebuilt afresh, not derived from
    try {
      const snapshot = await this.reload();
      const stale = await this.staleReason(snapshot.manifest);
      if (stale) this.logger?.warn(`${stale}: rebuilding it, so that no answer comes from pages that are not there.`);
      else if (snapshot.manifest.embedding || !this.embedder || !(await modelLoads(this.embedder))) return snapshot;
      else this.logger?.warn(`The index in ${this.config.indexDir} has no vectors (it was built without the embedding model, which now loads): rebuilding it.`);
    } catch (error) {
      if (error instanceof IndexMissingError) this.logger?.info('No index yet: building it from CORPUS_DIR');
      else if (error instanceof IndexInvalidError) {
        this.logger?.warn(`${error.message.replace(/ Rebuild it with .*$/, '')} Rebuilding it from CORPUS_DIR now.`);
        full = true;
      } else throw error;
    }
    await this.reindex(onProgress, { full });
    return this.snapshot ?? this.reload();
  }

  /** Why the live index no longer matches CORPUS_DIR (another folder, pages added or removed),
   * or undefined when it does. Edited pages are caught by the next reindex, not here. */
  private async staleReason(manifest: IndexManifest): Promise<string | undefined> {
    const { corpusDir, indexDir } = this.config;
    if (manifest.corpusDir !== corpusDir) {
      return `The index in ${indexDir} was built from ${manifest.corpusDir ? `CORPUS_DIR=${manifest.corpusDir}` : 'a folder it did not record'}, but CORPUS_DIR is now ${corpusDir}`;
    }
    let files: string[];
    try {
      files = await listPageFiles(corpusDir);
    } catch (error) {
      throw explainFolderError(error, { CORPUS_DIR: { dir: corpusDir, need: 'read' } });
    }
    const indexed = new Set([...Object.keys(manifest.pages), ...manifest.warnings.map((w) => w.file)]);
    const added = files.filter((f) => !indexed.has(f)).length;
    const removed = [...indexed].filter((f) => !files.includes(f)).length;
    if (added || removed) return `CORPUS_DIR=${corpusDir} has ${added} pages added and ${removed} removed since the index in ${indexDir} was built`;
    return undefined;
  }

  /** Clears what a reindex that crashed left in INDEX_DIR and says whether one was interrupted,
   * and who asked for it (see recoverInterruptedBuild). Done once per service, by the first call
   * (loadOrBuild makes one); later calls return the same report, so the bot learns of the
   * interruption whichever runs first. A folder it cannot clean is logged, not fatal: the live
   * index can still be served, and the next reindex says what to fix. */
  recoverInterrupted(): Promise<RecoveryReport> {
    this.recovery ??= recoverInterruptedBuild(this.config.indexDir, this.logger).catch((error: unknown) => {
      if (!isOperatorError(error) && typeof (error as NodeJS.ErrnoException)?.code !== 'string') throw error; // a bug
      this.logger?.warn(`Could not clear what an interrupted reindex left behind: ${(error as Error).message}`);
      return { interrupted: false, removedPartials: [] };
    });
    return this.recovery;
  }

  /** An admin's upload, answered from at once: a reindex derived from the live build, which
   * writes only what changed (the upload, and anything else changed in CORPUS_DIR meanwhile):
   * seconds even at 100k chunks. Skipped pages are counted among these files only. */
  async ingestPages(files: string[]): Promise<ReindexSummary> {
    const summary = await this.reindex();
    return { ...summarize(summary), skippedPages: summary.manifest.warnings.filter((w) => files.includes(w.file)).length };
  }

  /** Brings the index up to date with CORPUS_DIR while searches keep using the old snapshot,
   * then swaps: a build derived from the live one that writes only the pages added, changed or
   * removed, or with `full` every structure afresh (see buildIndex). `requestedBy` is recorded in
   * the lock, for recoverInterrupted after a crash. */
  async reindex(onProgress?: (p: BuildProgress) => void, options: { requestedBy?: RequestedBy; full?: boolean } = {}): Promise<BuildSummary & ReindexSummary> {
    if (this.building) throw new ReindexBusyError('A reindex is already running in this process.');
    this.building = buildIndex({ config: this.config, embedder: this.embedder, logger: this.logger, onProgress, requestedBy: options.requestedBy, full: options.full });
    try {
      const summary = await this.building;
      // A process serving answers swaps to the new build; one that only reindexes (npm run
      // reindex) loads nothing.
      if (this.snapshot) await this.reload();
      return { ...summary, ...summarize(summary) };
    } finally {
      this.building = undefined;
    }
  }
}

/** A build as a reindex summary: the pages that changed since the previous build; unchanged
 * chunks keep their vectors. */
function summarize({ manifest, seconds, denseNotice, changed }: BuildSummary): ReindexSummary {
  const { pages, articles, chunks, reusedVectors } = manifest.counts;
  return {
    seconds,
    counts: { pages, articles, chunks },
    changed,
    reusedVectors,
    skippedPages: manifest.warnings.length,
    garbledPages: manifest.notices?.length ?? 0,
    denseNotice,
  };
}

async function modelLoads(embedder: TextEmbedder): Promise<boolean> {
  try {
    await embedder.embedQuery('测试');
    return true;
  } catch (error) {
    if (error instanceof EmbeddingUnavailableError) return false;
    throw error;
  }
}
