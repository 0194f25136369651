// `npm run bench -- --backend local|postgres`: the storage layer alone, on synthetic corpora (the
// seed chunks and vectors replicated, src/eval/synthetic.ts) at each size. Per size: the build
// (local) or ingest (postgres), adding one page to the big index, and in a fresh child process
// that only opens the index (src/cli/bench-replica.ts) retrieval latency without the query
// embedding, HNSW recall against an exact search, and its memory.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Config } from '../config.ts';
import { OperatorError } from '../errors.ts';
import { ExactTopK, newPage, seedNames, syntheticChunks, syntheticPages } from '../eval/synthetic.ts';
import type { TextEmbedder } from '../index/embeddings.ts';
import type { PageRecord } from '../index/port.ts';
import { PostgresChunkStore } from '../index/postgres/store.ts';
import { applyPageChanges, labelOf, saveBuild, type IndexSnapshot } from '../index/store.ts';
import { runReplica, type ReplicaInput, type ReplicaResult } from './bench-replica.ts';

export interface StoreBenchOptions {
  backend: 'local' | 'postgres';
  sizes: number[];
  config: Config;
  embedder: TextEmbedder;
  /** The seed build: its chunks, vectors and articles are replicated. */
  seed: IndexSnapshot;
  questions: string[];
  queryVectors: number[][];
  /** postgres: an empty database to use instead of a throwaway cluster. */
  databaseUrl?: string;
  say: (line: string) => void;
}

const RECALL_QUERIES = 100;
/** The throwaway cluster's settings beyond scripts/postgres.sh's (fsync off): a server's usual
 * share of memory for its buffer cache, here 2 of 24 GB, rather than the default 128 MB. */
const SERVER_SETTINGS = '-c shared_buffers=2GB';
const SCRIPT = fileURLToPath(new URL('../../scripts/postgres.sh', import.meta.url));
const ms = (n: number) => `${n.toFixed(1)} ms`;
const seconds = (n: number) => `${(n / 1000).toFixed(1)} s`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);

async function time<T>(fn: () => Promise<T> | T): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

export async function benchStore(o: StoreBenchOptions): Promise<void> {
  if (o.databaseUrl) await checkEmpty(o.databaseUrl); // refused before anything is printed
  o.say('');
  if (o.backend === 'local') {
    o.say('## Storage: local backend (hnswlib + BM25 in the process), synthetic corpora');
    o.say('| chunks | pages | build: HNSW + keyword + save | add one page: a build derived from the live one (applyPageChanges) | build on disk | replica: load | retrieval p50 | p95 | dense leg p50 / p95 | keyword leg p50 / p95 | dense recall@10 | replica RSS: before opening / after the queries / peak |');
    o.say('|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const size of o.sizes) o.say(await benchLocal(o, size));
  } else {
    o.say('## Storage: PostgreSQL backend (pgvector HNSW + BM25 in SQL), synthetic corpora');
    o.say('| chunks | pages | ingest: upsertPage per page | add one page: one upsertPage | database on disk | largest tables with their indexes | replica: open | retrieval p50 | p95 | dense leg p50 / p95 | keyword leg p50 / p95 | dense recall@10 | replica RSS: before opening / after the queries / peak |');
    o.say('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    await benchPostgresSizes(o);
  }
  o.say('');
  for (const line of notes(o)) o.say(line);
}

function notes(o: StoreBenchOptions): string[] {
  const lines = [
    `Retrieval: hybrid Retriever.search(q, { k: 5, queryVector }) over ${o.questions.length} evaluation questions after a ${Math.min(10, o.questions.length)}-question warm-up, without the query embedding, in a fresh child process that only opens the index (HNSW ef = ${o.config.hnsw.efSearch}). Its RSS leaves out the embedding model a bot also loads.`,
    `Legs: view.denseSearch(vector, 40) and view.keywordSearch(question, 40) alone (the retriever's depth), each in its own view.`,
    `Dense recall@10: view.denseSearch(vector, 10) against an exact search over the synthetic vectors, ${Math.min(RECALL_QUERIES, o.queryVectors.length)} question vectors.`,
    'Corpus: the seed chunks copied with numbers shifted, a place inserted and their rare proper nouns respelled (one of 500 spellings per copy, src/eval/synthetic.ts), so that names stay rare as an archive grows while topic words recur; vectors are the seed vectors with noise.',
  ];
  if (o.backend === 'local') {
    lines.push('Add one page: applyPageChanges, as a reindex writes a new or changed page: a new build derived from the live one (hnswlib readIndex, addPoint, writeIndex; postings renumbered; unchanged page files hard-linked), swapped in atomically. A real reindex also reads and hashes every page of CORPUS_DIR first.');
  } else {
    lines.push(`PostgreSQL: a throwaway cluster (scripts/postgres.sh: fsync off) with ${SERVER_SETTINGS}, or the --database-url server as it is.`);
    lines.push('Keyword leg exactness: its top 40 for the first 50 questions against the same search without a candidate limit (exact BM25), rank by rank.');
    lines.push('Ingest: one upsertPage (one transaction) per page, in order, as a reindex writes them; ANALYZE afterwards (untimed: autovacuum does it soon after a real ingest).');
  }
  return lines;
}

/** The synthetic corpus of `size` chunks, page by page, and the exact top 10 of the recall
 * queries once every page has been taken (streamed: a million chunks do not fit in memory). */
function corpus(o: StoreBenchOptions, size: number): { pages: Generator<PageRecord>; exact: () => string[][] } {
  const seedVectors = o.seed.chunks.map((_, i) => o.seed.vectors!.index.getPoint(labelOf(o.seed, i)));
  const names = seedNames(o.seed.chunks.map((c) => c.indexText));
  const top = new ExactTopK(o.queryVectors.slice(0, RECALL_QUERIES), 10);
  const ids: string[] = [];
  function* chunks() {
    for (const item of syntheticChunks(o.seed.chunks, seedVectors, size, names)) {
      top.add(item.vector);
      ids.push(item.chunk.id);
      yield item;
    }
  }
  return { pages: syntheticPages(chunks(), o.seed.articlesById, names), exact: () => top.positions().map((positions) => positions.map((p) => ids[p])) };
}

function replicaInput(o: StoreBenchOptions, where: Pick<ReplicaInput, 'indexDir' | 'url'>): ReplicaInput {
  const identity = { model: o.embedder.modelId, dimension: o.queryVectors[0].length };
  return { backend: o.backend, ...where, identity, efSearch: o.config.hnsw.efSearch, questions: o.questions, queryVectors: o.queryVectors, recallQueries: RECALL_QUERIES };
}

function recall(found: string[][], exact: string[][]): number {
  let hits = 0;
  found.forEach((ids, i) => (hits += exact[i].filter((id) => ids.includes(id)).length));
  return hits / (exact.length * 10);
}

const replicaColumns = (r: ReplicaResult, exact: string[][]) => {
  const agreement = r.keywordAgreement ? ` (${pct(r.keywordAgreement.ranks)} of ranks, ${pct(r.keywordAgreement.questions)} of questions exact)` : '';
  return `${ms(r.openMs)} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.denseLeg[0])} / ${ms(r.denseLeg[1])} | ${ms(r.keywordLeg[0])} / ${ms(r.keywordLeg[1])}${agreement} | ${recall(r.dense, exact).toFixed(3)} | ${mb(r.baseRss)} / ${mb(r.rss)} / ${mb(r.peakRss)}`;
};
const pct = (x: number) => `${(x * 100).toFixed(0)}%`;

// ---------------------------------------------------------------------------------------------
// Local

async function benchLocal(o: StoreBenchOptions, size: number): Promise<string> {
  const synthetic = corpus(o, size);
  const pages = [...synthetic.pages];
  const exact = synthetic.exact();
  const indexDir = mkdtempSync(path.join(os.tmpdir(), 'newsbot-bench-store-'));
  try {
    progress(`local: building and saving ${size} chunks`);
    const options = { embedding: { model: o.embedder.modelId, dimension: o.queryVectors[0].length }, chunking: o.config.chunking, hnsw: o.config.hnsw };
    const [built, buildMs] = await time(() => saveBuild(indexDir, pages, options));
    const disk = await folderSize(built.dir);
    progress('local: measuring retrieval in a fresh process');
    const replica = await runReplica(replicaInput(o, { indexDir }));
    progress('local: adding one page (a build derived from the live one)');
    const added = newPage(pages[0]);
    const [, addMs] = await time(() => applyPageChanges(indexDir, { upserts: [added], deletes: [] }));
    return `| ${size} | ${pages.length} | ${seconds(buildMs)} | ${seconds(addMs)} (${added.chunks.length} chunks) | ${mb(disk)} | ${replicaColumns(replica, exact)} |`;
  } finally {
    rmSync(indexDir, { recursive: true, force: true });
  }
}

async function folderSize(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(path.join(dir, name))).size;
  return total;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/** Each size in a new database of a throwaway cluster, or in the given (empty) database. */
async function benchPostgresSizes(o: StoreBenchOptions): Promise<void> {
  const cluster = o.databaseUrl ? undefined : startCluster();
  // Interrupted, the finally below never runs: the cluster would be left running.
  const interrupted = (signal: NodeJS.Signals) => {
    cluster?.stop();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  if (cluster) for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, interrupted);
  try {
    for (const [i, size] of o.sizes.entries()) {
      const name = `bench_${i + 1}`;
      const url = cluster ? await createDatabase(cluster.url, name) : await checkEmpty(o.databaseUrl!);
      o.say(await benchPostgres(o, size, url, !cluster));
      if (cluster) await admin(cluster.url, `DROP DATABASE ${name}`);
    }
  } finally {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.off(signal, interrupted);
    cluster?.stop();
  }
}

async function benchPostgres(o: StoreBenchOptions, size: number, url: string, cleanUp: boolean): Promise<string> {
  const synthetic = corpus(o, size);
  const identity = { model: o.embedder.modelId, dimension: o.queryVectors[0].length };
  const store = await PostgresChunkStore.open({ url, identity, keywordMode: 'both', efSearch: o.config.hnsw.efSearch });
  const files: string[] = [];
  let added: PageRecord | undefined;
  try {
    const [, ingestMs] = await time(() => ingest(store, synthetic.pages, size, (page) => {
      files.push(page.file);
      added ??= newPage(page);
    }));
    const exact = synthetic.exact();
    await admin(url, 'ANALYZE');
    const sizes = await diskSizes(url);
    progress('postgres: measuring retrieval in a fresh process');
    const replica = await runReplica(replicaInput(o, { url }));
    const [, addMs] = await time(() => store.upsertPage(added!));
    return `| ${size} | ${files.length} | ${seconds(ingestMs)} | ${ms(addMs)} (${added!.chunks.length} chunks) | ${sizes} | ${replicaColumns(replica, exact)} |`;
  } finally {
    if (cleanUp) await removePages(store, added ? [...files, added.file] : files);
    await store.close();
  }
}

/** Upserts the pages as they are made; the time includes making them (~1% of it). */
async function ingest(store: PostgresChunkStore, pages: Iterable<PageRecord>, size: number, each: (page: PageRecord) => void): Promise<void> {
  const started = performance.now();
  let [chunks, reported] = [0, 0];
  for (const page of pages) {
    each(page);
    await store.upsertPage(page);
    chunks += page.chunks.length;
    if (chunks >= reported + size / 10) {
      reported = chunks;
      progress(`postgres: ingested ${chunks}/${size} chunks in ${seconds(performance.now() - started)}`);
    }
  }
}

/** The given database is left as found: empty. */
async function removePages(store: PostgresChunkStore, files: string[]): Promise<void> {
  progress(`postgres: deleting the ${files.length} synthetic pages from the given database`);
  for (const file of files) await store.deletePage(file);
}

/** "database | the three largest tables, each with its indexes; the chunks table's HNSW and GIN
 * indexes apart". Read from the catalogue: the keyword tables change as the search is tuned. */
async function diskSizes(url: string): Promise<string> {
  const { rows: db } = await admin<{ size: string }>(url, 'SELECT pg_database_size(current_database()) AS size');
  const { rows: tables } = await admin<{ name: string; size: string }>(
    url,
    `SELECT c.relname AS name, pg_total_relation_size(c.oid) AS size FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND n.nspname = current_schema() ORDER BY 2 DESC LIMIT 3`,
  );
  const { rows: indexes } = await admin<{ method: string; size: string }>(
    url,
    `SELECT a.amname AS method, sum(pg_relation_size(i.indexrelid)) AS size FROM pg_index i
     JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
     WHERE i.indrelid = 'chunks'::regclass AND a.amname IN ('hnsw', 'gin') GROUP BY a.amname`,
  );
  const of = (method: string) => mb(Number(indexes.find((r) => r.method === method)?.size ?? 0));
  const list = tables.map((t) => (t.name === 'chunks' ? `chunks ${mb(Number(t.size))} (HNSW ${of('hnsw')}, GIN ${of('gin')})` : `${t.name} ${mb(Number(t.size))}`));
  return `${mb(Number(db[0].size))} | ${list.join('; ')}`;
}

/** One statement on its own connection. */
async function admin<R extends pg.QueryResultRow = pg.QueryResultRow>(url: string, sql: string): Promise<pg.QueryResult<R>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query<R>(sql);
  } finally {
    await client.end();
  }
}

async function createDatabase(clusterUrl: string, name: string): Promise<string> {
  await admin(clusterUrl, `CREATE DATABASE ${name}`);
  const url = new URL(clusterUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Refuses a database that holds pages: the benchmark writes and deletes its own. */
async function checkEmpty(url: string): Promise<string> {
  const pages = await admin<{ n: string }>(url, 'SELECT count(*) AS n FROM pages').then(
    (r) => Number(r.rows[0].n),
    (error: { code?: string }) => (error.code === '42P01' ? 0 : Promise.reject(error)), // no schema yet: empty
  );
  if (pages > 0) throw new OperatorError(`The database at --database-url holds ${pages} page${pages === 1 ? '' : 's'}: give an empty database (the benchmark writes synthetic pages and deletes them afterwards).`);
  return url;
}

/** A throwaway cluster with pgvector under /tmp (scripts/postgres.sh), named with our pid. */
function startCluster(): { url: string; stop: () => void } {
  const dir = `/tmp/newsbot-bench-pg-${process.pid}`;
  const stop = () => execFileSync('bash', [SCRIPT, 'stop', dir], { stdio: 'ignore' });
  try {
    const env = { ...process.env, POSTGRES_OPTIONS: SERVER_SETTINGS };
    const url = execFileSync('bash', [SCRIPT, 'start', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env }).trim();
    return { url, stop };
  } catch {
    stop();
    throw new OperatorError(`Could not start a throwaway PostgreSQL with pgvector (bash scripts/postgres.sh start ${dir}). Install it with \`bash scripts/postgres.sh install\`, or give --database-url URL of an empty database.`);
  }
}
