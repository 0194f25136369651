// The PostgreSQL adapter of the storage port (src/index/port.ts): pgvector's HNSW index for dense
// search, BM25 in SQL over each chunk's term ids and counts (chunk_terms; tokenised in Node, as
// the local index does) with the statistics kept exact by the writers (term_df, corpus_stats:
// migrations 2 and 4). A view is one REPEATABLE READ transaction on its own connection: every
// query of an answer sees one snapshot.
import pg from 'pg';
import type { Pool, PoolClient } from 'pg';
import type { Article } from '../../corpus/types.ts';
import { OperatorError } from '../../errors.ts';
import type { Chunk } from '../chunk.ts';
import { tokenize, type KeywordMode } from '../keyword.ts';
import type { ChunkStore, IndexView, KeywordScorer, PageRecord, ScoredId, StoreStatus } from '../port.ts';
import { migrate, type StoreIdentity } from './schema.ts';

export interface PostgresStoreOptions {
  /** A connection string (DATABASE_URL); the store owns the pool it opens. */
  url?: string;
  /** Or a pool the caller owns (close() leaves it open). */
  pool?: Pool;
  identity: StoreIdentity;
  keywordMode: KeywordMode;
  /** HNSW candidate list size per dense query (recall against speed); pgvector's default is 40.
   * Raised to k for a deeper search (pgvector returns at most ef_search rows), capped at 1000. */
  efSearch?: number;
  /** Keyword search first scores only the chunks holding the question's rarest terms, up to about
   * this many postings, and widens (×4) only when the common terms could still change the top k, */
  keywordCandidateBudget?: number;
  /** … up to this many postings: past it, the top k of the chunks scored so far (not proven exact).
   * Also the most chunks one search scores, which binds only when even the rarest term is in more. */
  keywordCandidateLimit?: number;
}

/** pgvector's limit for hnsw.ef_search. */
const MAX_EF_SEARCH = 1000;
/** Serialises page writers: term_df and corpus_stats are read-modify-write. Not MIGRATION_LOCK. */
const WRITE_LOCK = 7_368_201_555;
/** Postings scored in keyword search's first round, and at most (keywordCandidateBudget, …Limit). */
const DEFAULT_CANDIDATE_BUDGET = 4_000;
const DEFAULT_CANDIDATE_LIMIT = 4_000;
const K1 = 1.2;
const B = 0.75;

export class PostgresChunkStore implements ChunkStore {
  readonly backend = 'postgres' as const;

  private constructor(
    private readonly pool: Pool,
    private readonly ownsPool: boolean,
    private readonly target: string,
    private readonly identity: StoreIdentity,
    private readonly keywordMode: KeywordMode,
    private readonly efSearch: number,
    private readonly candidates: CandidateBudget,
  ) {}

  static async open(options: PostgresStoreOptions): Promise<PostgresChunkStore> {
    const efSearch = Math.min(options.efSearch ?? 64, MAX_EF_SEARCH);
    if (!Number.isInteger(efSearch) || efSearch < 1) throw new Error(`efSearch must be a positive integer, not ${options.efSearch}`);
    if (!options.pool && !options.url) throw new Error('PostgresChunkStore.open needs a url or a pool');
    const pool = options.pool ?? new pg.Pool({ connectionString: options.url, connectionTimeoutMillis: 10_000 });
    // An idle connection the server dropped must not crash the process: the next query reconnects.
    if (!options.pool) pool.on('error', () => {});
    const target = describeTarget(options.url, pool);
    try {
      await migrate(pool, options.identity).catch((error) => {
        throw explainDatabaseError(error, target);
      });
    } catch (error) {
      if (!options.pool) await pool.end().catch(() => {});
      throw error;
    }
    const candidates = { first: options.keywordCandidateBudget ?? DEFAULT_CANDIDATE_BUDGET, limit: options.keywordCandidateLimit ?? DEFAULT_CANDIDATE_LIMIT };
    return new PostgresChunkStore(pool, !options.pool, target, options.identity, options.keywordMode, efSearch, candidates);
  }

  async view(): Promise<IndexView> {
    const client = await this.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // The snapshot is exported so that a second connection can search the same version at the
      // same time (keyword search beside the dense one).
      const { rows } = await client.query<StatsRow>(
        "SELECT set_config('hnsw.ef_search', $1, true), chunks, tokens, vectors, generation, epoch, pg_export_snapshot() AS snapshot FROM corpus_stats",
        [String(this.efSearch)],
      );
      return new PostgresIndexView(client, () => this.sideConnection(rows[0].snapshot), this.keywordMode, this.efSearch, rows[0], this.candidates);
    } catch (error) {
      client.release(error as Error);
      throw explainDatabaseError(error, this.target);
    }
  }

  async upsertPage(page: PageRecord): Promise<void> {
    checkPage(page, this.identity.dimension);
    // Tokenised before the lock is taken: other writers wait only for the database work.
    const articles = JSON.stringify(page.articles);
    const chunks = JSON.stringify(chunkRows(page, this.keywordMode));
    await this.write(async (client) => {
      await client.query(REMOVE_CHUNKS, [page.file]);
      await client.query('DELETE FROM pages WHERE file = $1', [page.file]);
      await client.query('INSERT INTO pages (file, content_hash) VALUES ($1, $2)', [page.file, page.contentHash]);
      await client.query(INSERT_ARTICLES, [page.file, articles]);
      await client.query(INSERT_CHUNKS, [page.file, chunks]);
    });
  }

  async deletePage(file: string): Promise<void> {
    await this.write(async (client) => {
      await client.query(REMOVE_CHUNKS, [file]);
      await client.query('DELETE FROM pages WHERE file = $1', [file]);
    });
  }

  async pageHashes(): Promise<Map<string, string>> {
    const { rows } = await this.query<{ file: string; content_hash: string }>('SELECT file, content_hash FROM pages');
    return new Map(rows.map((r) => [r.file, r.content_hash]));
  }

  async status(): Promise<StoreStatus> {
    const { rows } = await this.query<{ pages: string; articles: string; chunks: string; vectors: string }>(
      'SELECT (SELECT count(*) FROM pages) AS pages, (SELECT count(*) FROM articles) AS articles, chunks, vectors FROM corpus_stats',
    );
    const row = rows[0];
    return {
      backend: this.backend,
      pages: Number(row.pages),
      articles: Number(row.articles),
      chunks: Number(row.chunks),
      embedding: Number(row.vectors) > 0 ? { ...this.identity } : null,
    };
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }

  /** Another connection in the view's snapshot, if the pool has one to spare right now (a view
   * never waits for one: it searches on its own connection instead). */
  private async sideConnection(snapshot: string): Promise<PoolClient | undefined> {
    const pool = this.pool;
    if (pool.idleCount === 0 && pool.totalCount >= (pool.options.max ?? 10)) return undefined;
    if (!/^[0-9A-F-]+$/i.test(snapshot)) throw new Error(`unexpected snapshot id ${snapshot}`);
    const client = await this.connect();
    try {
      // One round trip: SET TRANSACTION SNAPSHOT must be the transaction's first statement.
      await client.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '${snapshot}'`);
      return client;
    } catch (error) {
      client.release(error as Error);
      throw explainDatabaseError(error, this.target);
    }
  }

  private async connect(): Promise<PoolClient> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw explainDatabaseError(error, this.target);
    }
    // A connection lost while checked out (a server restart while a view is open) fails the next
    // query; its 'error' event, unheard, would end the process.
    if (!listened.has(client)) {
      client.on('error', () => {});
      listened.add(client);
    }
    return client;
  }

  private async query<R extends pg.QueryResultRow>(sql: string): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(sql).catch((error) => {
      throw explainDatabaseError(error, this.target);
    });
  }

  /** One transaction under the writers' lock: readers see the page before or after, never half. */
  private async write(work: (client: PoolClient) => Promise<void>): Promise<void> {
    const client = await this.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK]);
      await work(client);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw explainDatabaseError(error, this.target);
    } finally {
      client.release(broken);
    }
  }
}

const listened = new WeakSet<PoolClient>();

interface TermStats {
  id: number;
  df: number;
}

/** Keyword search's postings budget: the first round's, and the most it widens to. */
interface CandidateBudget {
  first: number;
  limit: number;
}

interface StatsRow {
  snapshot: string;
  chunks: string;
  tokens: string;
  vectors: string;
  generation: string;
  epoch: string;
}

// A page's chunks leave with their share of the statistics, in one statement: terms whose last
// chunk goes are deleted (df stays > 0), the others lowered.
const REMOVE_CHUNKS = `
  WITH gone AS (DELETE FROM chunks WHERE file = $1 RETURNING tokens, token_count, embedding IS NOT NULL AS has_vector),
  terms AS (SELECT term, count(*)::int AS n FROM gone, LATERAL (SELECT DISTINCT t AS term FROM unnest(gone.tokens) t) u GROUP BY term),
  dropped AS (DELETE FROM term_df d USING terms WHERE d.term = terms.term AND d.df <= terms.n),
  lowered AS (UPDATE term_df d SET df = d.df - terms.n FROM terms WHERE d.term = terms.term AND d.df > terms.n)
  UPDATE corpus_stats SET
    chunks = chunks - (SELECT count(*) FROM gone),
    tokens = tokens - (SELECT coalesce(sum(token_count), 0) FROM gone),
    vectors = vectors - (SELECT count(*) FROM gone WHERE has_vector),
    generation = generation + 1`;

const INSERT_ARTICLES = `
  INSERT INTO articles (id, file, position, data)
  SELECT a->>'id', $1, (n - 1)::int, a FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS x(a, n)`;

const INSERT_CHUNKS = `
  WITH added AS (
    INSERT INTO chunks (id, file, article_id, position, headline, text, kicker, kind, index_text, start_offset, end_offset, tokens, embedding)
    SELECT r.id, $1, r.article_id, r.position, r.headline, r.text, r.kicker, r.kind, r.index_text, r.start_offset, r.end_offset,
           ARRAY(SELECT jsonb_array_elements_text(r.tokens)), r.embedding::vector
    FROM jsonb_to_recordset($2::jsonb) AS r(id text, article_id text, position int, headline text, text text, kicker text, kind text,
         index_text text, start_offset int, end_offset int, tokens jsonb, embedding text)
    RETURNING id, tokens, token_count, embedding IS NOT NULL AS has_vector),
  counted AS (SELECT added.id, added.token_count AS len, u.term, u.tf FROM added, LATERAL (SELECT t AS term, count(*)::smallint AS tf FROM unnest(added.tokens) t GROUP BY t) u),
  terms AS (SELECT term, count(*)::int AS n FROM counted GROUP BY term),
  raised AS (INSERT INTO term_df (term, df) SELECT term, n FROM terms ON CONFLICT (term) DO UPDATE SET df = term_df.df + excluded.df RETURNING id, term),
  listed AS (
    INSERT INTO chunk_terms (id, len, terms, tfs)
    SELECT c.id, c.len, array_agg(r.id ORDER BY r.id), array_agg(c.tf ORDER BY r.id) FROM counted c JOIN raised r USING (term) GROUP BY c.id, c.len)
  UPDATE corpus_stats SET
    chunks = chunks + (SELECT count(*) FROM added),
    tokens = tokens + (SELECT coalesce(sum(token_count), 0) FROM added),
    vectors = vectors + (SELECT count(*) FROM added WHERE has_vector),
    generation = generation + 1`;

/** Mistakes of the caller (a bug, not the operator's): caught before they reach the database. */
function checkPage(page: PageRecord, dimension: number): void {
  const stray = [...page.articles, ...page.chunks].find((x) => x.file !== page.file);
  if (stray) throw new Error(`page ${page.file} holds ${stray.id} of ${stray.file}`);
  if (!page.vectors) return;
  if (page.vectors.length !== page.chunks.length) throw new Error(`page ${page.file}: ${page.vectors.length} vectors for ${page.chunks.length} chunks`);
  const wrong = page.vectors.find((v) => v.length !== dimension);
  if (wrong) throw new Error(`page ${page.file}: a vector of ${wrong.length} dimensions, the store's are ${dimension}`);
}

/** Rows for INSERT_CHUNKS: tf is the number of occurrences, so duplicate tokens are kept. */
function chunkRows(page: PageRecord, mode: KeywordMode) {
  return page.chunks.map((chunk, i) => ({
    id: chunk.id,
    article_id: chunk.articleId,
    position: chunk.ordinal,
    headline: chunk.headline,
    text: chunk.text,
    kicker: chunk.kicker ?? null,
    kind: chunk.kind,
    index_text: chunk.indexText,
    start_offset: chunk.start,
    end_offset: chunk.end,
    tokens: tokenize(chunk.indexText, mode),
    embedding: page.vectors ? `[${page.vectors[i].join(',')}]` : null,
  }));
}

interface ChunkRow {
  id: string;
  file: string;
  article_id: string;
  position: number;
  headline: string;
  text: string;
  kicker: string | null;
  kind: Chunk['kind'];
  index_text: string;
  start_offset: number;
  end_offset: number;
}

function toChunk(row: ChunkRow): Chunk {
  const chunk: Chunk = {
    id: row.id,
    articleId: row.article_id,
    file: row.file,
    headline: row.headline,
    kind: row.kind,
    ordinal: row.position,
    text: row.text,
    indexText: row.index_text,
    start: row.start_offset,
    end: row.end_offset,
  };
  if (row.kicker !== null) chunk.kicker = row.kicker;
  return chunk;
}

// BM25 exactly as KeywordIndex.search computes it: idf = ln(1 + (N − df + 0.5)/(df + 0.5)) (given,
// computed in Node as there), tf and length from chunk_terms, the same order of operations, the
// terms summed in the question's order. The GIN index on chunk_terms.terms finds the candidates
// ($6: chunks holding one of these terms; pg_catalog's && as intarray's cannot use the index);
// each is scored on all the question's terms ($1, $2), a term's count found by intarray's idx();
// at most $8 of them (the candidate limit).
const KEYWORD_SEARCH = `
  SELECT c.id, (
    SELECT sum(q.idf * c.tfs[x.i] * ($4::float8 + 1) / (c.tfs[x.i] + $4::float8 * (1 - $5::float8 + $5::float8 * c.len / $3::float8)))
    FROM unnest($1::int[], $2::float8[]) AS q(term, idf), LATERAL (SELECT idx(c.terms, q.term) AS i) x
    WHERE x.i > 0) AS score
  FROM (SELECT * FROM chunk_terms WHERE terms OPERATOR(pg_catalog.&&) $6::int[] LIMIT $8) c
  ORDER BY score DESC, c.id
  LIMIT $7`;

class PostgresIndexView implements IndexView {
  readonly version: string;
  readonly chunkCount: number;
  readonly hasVectors: boolean;
  private readonly tokenCount: number;
  private released = false;
  /** termStats' cache: null for a term the corpus lacks. */
  private readonly terms = new Map<string, TermStats | null>();

  constructor(
    private readonly client: PoolClient,
    private readonly sideConnection: () => Promise<PoolClient | undefined>,
    private readonly mode: KeywordMode,
    private efSearch: number,
    stats: StatsRow,
    private readonly candidates: CandidateBudget,
  ) {
    this.version = `pg:${stats.epoch}:${stats.generation}`;
    this.chunkCount = Number(stats.chunks);
    this.tokenCount = Number(stats.tokens);
    this.hasVectors = Number(stats.vectors) > 0;
  }

  async denseSearch(vector: number[], k: number): Promise<ScoredId[]> {
    if (!this.hasVectors || k <= 0) return [];
    // An HNSW scan yields at most ef_search rows: a deeper search widens it for this view.
    const ef = Math.min(k, MAX_EF_SEARCH);
    if (ef > this.efSearch) {
      await this.client.query("SELECT set_config('hnsw.ef_search', $1, true)", [String(ef)]);
      this.efSearch = ef;
    }
    // No WHERE clause, so the planner keeps the HNSW index; rows without a vector sort last.
    const { rows } = await this.client.query<{ id: string; score: number | null }>(
      'SELECT id, 1 - (embedding <=> $1::vector) AS score FROM chunks ORDER BY embedding <=> $1::vector LIMIT $2',
      [`[${vector.join(',')}]`, k],
    );
    return rows.filter((r): r is ScoredId => r.score !== null);
  }

  /** BM25 over every chunk, without scoring every chunk that holds a common term: the chunks
   * holding the rarest terms are scored first (on all terms); a chunk holding none of them scores
   * at most the other terms' upper bounds, idf × (k1 + 1) each, so when those sum below the k-th
   * score found, nothing else can enter the top k and the result is exact. Otherwise the
   * next-rarest terms join, until the candidates' postings pass the budget's limit: past it the
   * result is the best k of the chunks holding the rarer terms, each scored exactly (at a million
   * chunks, proving the order of chunks that share only common words costs seconds). A question
   * whose every term is common (even the rarest in more chunks than the limit) has only the first
   * `limit` chunks found holding its rarest term scored: in the benchmark's million chunks, where
   * a seed's words recur in ~7,400 copies, scoring them all tripled the keyword leg's p95 (README,
   * Storage at scale); such a question's words rank little by BM25, and the dense leg carries it. */
  async keywordSearch(query: string, k: number): Promise<ScoredId[]> {
    const asked = [...new Set(tokenize(query, this.mode, true))];
    if (this.chunkCount === 0 || asked.length === 0 || k <= 0) return [];
    // On a second connection in the same snapshot, so that it runs beside a dense search.
    const side = await this.sideConnection();
    try {
      return await this.keywordSearchOn(side ?? this.client, asked, k);
    } finally {
      if (side) await side.query('COMMIT').then(() => side.release(), (error: Error) => side.release(error));
    }
  }

  private async keywordSearchOn(client: PoolClient, asked: string[], k: number): Promise<ScoredId[]> {
    const byTerm = await this.termStats(asked, client);
    const known = asked.flatMap((term) => byTerm.get(term) ?? []);
    if (known.length === 0) return [];
    const idf = (df: number) => Math.log(1 + (this.chunkCount - df + 0.5) / (df + 0.5));
    const rarest = [...known].sort((a, b) => a.df - b.df || a.id - b.id);
    const averageLength = this.tokenCount / this.chunkCount;
    const terms = [known.map((t) => t.id), known.map((t) => idf(t.df)), averageLength, K1, B];
    for (let budget = this.candidates.first; ; budget *= 4) {
      let postings = 0;
      const rare = rarest.filter((t, i) => (postings += t.df) <= budget || i === 0).length;
      const { rows: hits } = await client.query<ScoredId>(KEYWORD_SEARCH, [...terms, rarest.slice(0, rare).map((t) => t.id), k, this.candidates.limit]);
      const rest = rarest.slice(rare).reduce((sum, t) => sum + idf(t.df) * (K1 + 1), 0);
      const kth = hits.length >= k ? hits[k - 1].score : 0;
      if (rare === rarest.length || rest < kth || budget >= this.candidates.limit) return hits;
    }
  }

  /** In pgvector's binary form: the stored float4 values exactly, as hnswlib gives them locally,
   * and ~10× faster to decode than the text form (80 vectors of 512 dimensions: ~5 ms). */
  async vectors(ids: string[]): Promise<Map<string, number[]>> {
    const { rows } = await this.client.query<{ id: string; embedding: Buffer }>(
      'SELECT id, vector_send(embedding) AS embedding FROM chunks WHERE id = ANY($1::text[]) AND embedding IS NOT NULL',
      [ids],
    );
    return new Map(rows.map((r) => [r.id, decodeVector(r.embedding)]));
  }

  async chunks(ids: string[]): Promise<Map<string, Chunk>> {
    const { rows } = await this.client.query<ChunkRow>(
      'SELECT id, file, article_id, position, headline, text, kicker, kind, index_text, start_offset, end_offset FROM chunks WHERE id = ANY($1::text[])',
      [ids],
    );
    return new Map(rows.map((r) => [r.id, toChunk(r)]));
  }

  async articles(ids: string[]): Promise<Map<string, Article>> {
    const { rows } = await this.client.query<{ id: string; data: Article }>('SELECT id, data FROM articles WHERE id = ANY($1::text[])', [ids]);
    return new Map(rows.map((r) => [r.id, r.data]));
  }

  async scorer(queries: string[]): Promise<KeywordScorer> {
    const terms = [...new Set(queries.flatMap((q) => tokenize(q, this.mode, true)))];
    const stats = await this.termStats(terms);
    return new StatsScorer(this.mode, this.chunkCount, new Map([...stats].map(([term, t]) => [term, t.df])));
  }

  /** Each term's id and df, fetched once per view: the scorer and keyword search ask for the
   * same question's terms, and the snapshot cannot change under them. Unknown terms are absent. */
  private async termStats(terms: string[], client = this.client): Promise<Map<string, TermStats>> {
    const missing = terms.filter((t) => !this.terms.has(t));
    if (missing.length > 0) {
      const { rows } = await client.query<TermStats & { term: string }>('SELECT id, term, df FROM term_df WHERE term = ANY($1::text[])', [missing]);
      for (const term of missing) this.terms.set(term, null);
      for (const row of rows) this.terms.set(row.term, { id: row.id, df: row.df });
    }
    const found = new Map<string, TermStats>();
    for (const term of terms) {
      const t = this.terms.get(term);
      if (t) found.set(term, t);
    }
    return found;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      await this.client.query('COMMIT');
      this.client.release();
    } catch (error) {
      this.client.release(error as Error);
    }
  }
}

/** KeywordIndex.coverage() and idealScore() from fetched document frequencies: a term not
 * fetched counts as df 0, as a term the corpus never uses does there. */
class StatsScorer implements KeywordScorer {
  constructor(
    readonly mode: KeywordMode,
    private readonly chunkCount: number,
    private readonly df: Map<string, number>,
  ) {}

  coverage(query: string, text: string): number {
    const present = new Set(tokenize(text, this.mode));
    let hit = 0;
    let total = 0;
    for (const term of new Set(tokenize(query, this.mode, true))) {
      const idf = this.idf(term);
      total += idf;
      if (present.has(term)) hit += idf;
    }
    return total > 0 ? hit / total : 0;
  }

  idealScore(query: string, knownOnly = false): number {
    const terms = [...new Set(tokenize(query, this.mode, true))].filter((t) => !knownOnly || (this.df.get(t) ?? 0) > 0);
    return terms.reduce((sum, term) => sum + this.idf(term), 0);
  }

  private idf(term: string): number {
    const n = Math.max(1, this.chunkCount);
    const df = this.df.get(term) ?? 0;
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  }
}

/** pgvector's vector_send: dimension (int16), an unused int16, then float4s, big-endian. */
function decodeVector(bytes: Buffer): number[] {
  const dimension = bytes.readUInt16BE(0);
  const vector = new Array<number>(dimension);
  for (let i = 0; i < dimension; i++) vector[i] = bytes.readFloatBE(4 + 4 * i);
  return vector;
}

/** host:port/database, never the user or password. */
function describeTarget(given: string | undefined, pool: Pool): string {
  const url = given ?? pool.options.connectionString;
  try {
    if (url) {
      const parsed = new URL(url);
      return `${parsed.hostname || 'localhost'}:${parsed.port || 5432}`;
    }
  } catch {
    // not a URL (a key=value string): fall back to what the pool was given
  }
  const options = pool.options as { host?: string; port?: number };
  return `${options.host ?? 'localhost'}:${options.port ?? 5432}`;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);

/** The database errors an operator can fix, as OperatorErrors naming DATABASE_URL and the fix;
 * anything else is returned as it is. */
export function explainDatabaseError(error: unknown, target: string): unknown {
  if (error instanceof OperatorError) return error;
  const e = error as { code?: string; message?: string; errors?: { code?: string }[] };
  // Node reports a host with several addresses (localhost: ::1 and 127.0.0.1) as an AggregateError.
  const code = e?.code ?? e?.errors?.[0]?.code;
  const where = `PostgreSQL at DATABASE_URL=${target}`;
  if ((code && UNREACHABLE.has(code)) || /timeout expired|connection timeout/i.test(e?.message ?? '')) {
    return new OperatorError(`Could not connect to ${where} (${code ?? 'timed out'}): start it, or unset DATABASE_URL to use the local index.`);
  }
  if (code === '28P01' || code === '28000') return new OperatorError(`${where} refused the login (${e.message}): correct the user and password in DATABASE_URL.`);
  if (code === '3D000') return new OperatorError(`${where}: ${e.message}. Create it (createdb), or point DATABASE_URL at an existing database.`);
  if (code === '42501' && /extension/.test(e.message ?? '')) {
    const name = /extension "(\w+)"/.exec(e.message ?? '')?.[1] ?? 'vector';
    return new OperatorError(`${where}: ${e.message}. Run CREATE EXTENSION ${name} once as a superuser in that database, or give the DATABASE_URL user that right.`);
  }
  if (/extension "intarray"|intarray\.control/.test(e?.message ?? '')) {
    return new OperatorError(`${where} has no intarray (${e.message}): install PostgreSQL's contrib modules on that server (the postgresql-contrib package on some distributions), or unset DATABASE_URL to use the local index.`);
  }
  if (code === '58P01' || /extension "vector"/.test(e?.message ?? '')) {
    return new OperatorError(`${where} has no pgvector (${e.message}): install pgvector on that server (e.g. the postgresql-15-pgvector package), or unset DATABASE_URL to use the local index.`);
  }
  return error;
}
