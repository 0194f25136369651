// The PostgreSQL backend's schema: versioned migrations, applied at start-up, each once, under an
// advisory lock (two replicas starting together do not race), in one transaction (a failed
// migration leaves nothing half-made). The database also records which embedding model and
// dimension its vectors come from: an index only answers queries embedded by its own model.
import type { Pool, PoolClient } from 'pg';
import { OperatorError } from '../../errors.ts';

export interface Migration {
  version: number;
  name: string;
  /** The statements; the vector column's dimension is the model's. */
  sql(dimension: number): string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'pages, chunks with vectors and keyword tokens',
    // Tokens are segmented in Node (jieba + bigrams, as the local index does: Postgres's own
    // parsers cannot segment Chinese) and searched through a GIN index; vectors through HNSW with
    // cosine distance. A page's chunks go with it (ON DELETE CASCADE): a page is replaced whole.
    sql: (dimension) => `
      CREATE EXTENSION IF NOT EXISTS vector;
      CREATE TABLE pages (
        file text PRIMARY KEY,
        content_hash text NOT NULL,
        indexed_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE chunks (
        id text PRIMARY KEY,
        file text NOT NULL REFERENCES pages (file) ON DELETE CASCADE,
        article_id text NOT NULL,
        position integer NOT NULL,
        headline text NOT NULL,
        text text NOT NULL,
        tokens text[] NOT NULL,
        embedding vector(${dimension})
      );
      CREATE INDEX chunks_file ON chunks (file);
      CREATE INDEX chunks_tokens ON chunks USING gin (tokens);
      CREATE INDEX chunks_embedding ON chunks USING hnsw (embedding vector_cosine_ops);`,
  },
  {
    version: 2,
    name: 'articles, whole chunks, exact BM25 statistics',
    // The store keeps term_df and corpus_stats in the same transaction as each page write, so a
    // query reads N, avgdl and df from one snapshot instead of counting 1M rows. token_count is
    // generated: it cannot drift from tokens. Existing rows are backfilled so the statistics
    // start exact; chunk fields v1 lacked get what chunkArticle would have given a plain article.
    sql: () => `
      CREATE TABLE articles (
        id text PRIMARY KEY,
        file text NOT NULL REFERENCES pages (file) ON DELETE CASCADE,
        position integer NOT NULL,
        data jsonb NOT NULL
      );
      CREATE INDEX articles_file ON articles (file);
      ALTER TABLE chunks
        ADD COLUMN kicker text,
        ADD COLUMN kind text NOT NULL DEFAULT 'news',
        ADD COLUMN index_text text,
        ADD COLUMN start_offset integer NOT NULL DEFAULT -1,
        ADD COLUMN end_offset integer NOT NULL DEFAULT -1,
        ADD COLUMN token_count integer GENERATED ALWAYS AS (cardinality(tokens)) STORED;
      UPDATE chunks SET index_text = headline || E'\\n' || text;
      ALTER TABLE chunks ALTER COLUMN index_text SET NOT NULL;
      CREATE TABLE term_df (term text PRIMARY KEY, df integer NOT NULL CHECK (df > 0));
      INSERT INTO term_df (term, df)
        SELECT term, count(*) FROM chunks, LATERAL (SELECT DISTINCT t AS term FROM unnest(chunks.tokens) t) u GROUP BY term;
      CREATE TABLE corpus_stats (
        id boolean PRIMARY KEY DEFAULT true CHECK (id),
        chunks bigint NOT NULL,
        tokens bigint NOT NULL,
        vectors bigint NOT NULL,
        -- Bumped by every write: with epoch (new for each database), the views' version.
        generation bigint NOT NULL DEFAULT 0,
        epoch uuid NOT NULL DEFAULT gen_random_uuid()
      );
      INSERT INTO corpus_stats (chunks, tokens, vectors)
        SELECT count(*), coalesce(sum(token_count), 0), count(embedding) FROM chunks;`,
  },
  {
    version: 3,
    name: 'bot state shared by replicas',
    // src/state/postgres.ts: conversations, answers by message, rate limits, notices, counters and
    // pending uploads, so that replicas behind one bot token share what one process kept in memory.
    // Uploads keep an identity column: insertion order decides which to drop, even at equal times.
    sql: () => `
      CREATE TABLE bot_conversations (key text PRIMARY KEY, turns jsonb NOT NULL, updated timestamptz NOT NULL);
      CREATE TABLE bot_answers (
        chat_id bigint NOT NULL,
        message_id bigint NOT NULL,
        answer jsonb NOT NULL,
        turns jsonb NOT NULL,
        created timestamptz NOT NULL,
        PRIMARY KEY (chat_id, message_id)
      );
      CREATE INDEX bot_answers_created ON bot_answers (created);
      CREATE TABLE bot_rate_buckets (name text NOT NULL, key text NOT NULL, tokens float8 NOT NULL, updated timestamptz NOT NULL, PRIMARY KEY (name, key));
      CREATE TABLE bot_notices (kind text NOT NULL, user_id bigint NOT NULL, last timestamptz NOT NULL, PRIMARY KEY (kind, user_id));
      CREATE TABLE bot_counters (name text PRIMARY KEY, value bigint NOT NULL);
      CREATE TABLE bot_uploads (
        id text PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        name text NOT NULL,
        bytes bytea NOT NULL,
        user_id bigint NOT NULL,
        created timestamptz NOT NULL
      );`,
  },
  {
    version: 4,
    name: 'keyword terms by number, one narrow row per chunk',
    // Keyword search scores each candidate on the question's terms. From chunks.tokens that meant
    // detoasting and unnesting ~440 strings a candidate; chunk_terms holds each chunk's distinct
    // terms as term_df ids with their counts, small enough to stay in the row uncompressed, and
    // intarray's idx() finds a term's position in C (array_position, through the generic equality
    // function, cost ~15× more). The GIN index moves to it. intarray ships with PostgreSQL (contrib)
    // and is trusted: CREATE privilege on the database suffices. It overloads && on int[] with an
    // operator this GIN index cannot serve, so queries name pg_catalog's.
    sql: () => `
      CREATE EXTENSION IF NOT EXISTS intarray;
      ALTER TABLE term_df ADD COLUMN id integer GENERATED ALWAYS AS IDENTITY;
      CREATE UNIQUE INDEX term_df_id ON term_df (id);
      CREATE TABLE chunk_terms (
        id text PRIMARY KEY REFERENCES chunks (id) ON DELETE CASCADE,
        len integer NOT NULL,
        terms integer[] NOT NULL,
        tfs smallint[] NOT NULL
      ) WITH (toast_tuple_target = 8160);
      ALTER TABLE chunk_terms ALTER COLUMN terms SET STORAGE MAIN, ALTER COLUMN tfs SET STORAGE MAIN;
      INSERT INTO chunk_terms (id, len, terms, tfs)
        SELECT c.id, c.token_count, array_agg(d.id ORDER BY d.id), array_agg(u.tf ORDER BY d.id)
        FROM chunks c, LATERAL (SELECT t, count(*)::smallint AS tf FROM unnest(c.tokens) t GROUP BY t) u JOIN term_df d ON d.term = u.t
        GROUP BY c.id, c.token_count;
      CREATE INDEX chunk_terms_terms ON chunk_terms USING gin (terms);
      DROP INDEX chunks_tokens;`,
  },
  {
    version: 5,
    name: 'votes on answers',
    // src/state/postgres.ts: the 👍 👎 under each answer, one per user per answer (a later press
    // replaces it), shared by replicas and exported by npm run feedback. Users and chats are
    // hashes; the answer is its chat hash and message id. Listed by time for /stats and the export.
    sql: () => `
      CREATE TABLE bot_feedback (
        answer_id text NOT NULL,
        user_hash text NOT NULL,
        chat_hash text NOT NULL,
        chat_type text NOT NULL,
        vote text NOT NULL CHECK (vote IN ('up', 'down')),
        time timestamptz NOT NULL,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        question text NOT NULL,
        answer text NOT NULL,
        citations jsonb NOT NULL,
        mode text NOT NULL,
        refused boolean NOT NULL,
        timings jsonb,
        PRIMARY KEY (answer_id, user_hash)
      );
      CREATE INDEX bot_feedback_time ON bot_feedback (time, seq);`,
  },
];

/** What the stored vectors are: recorded by the first migration, checked at every start. */
export interface StoreIdentity {
  model: string;
  dimension: number;
}

/** Serialises migrations across processes; any fixed 64-bit number unique to this application. */
const MIGRATION_LOCK = 7_368_201_554;

/** Brings the database to the latest schema; returns the versions applied now (none if it was
 * already there). Refuses a database whose vectors come from another model or dimension. */
export async function migrate(pool: Pool, identity: StoreIdentity, migrations: Migration[] = MIGRATIONS): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
      CREATE TABLE IF NOT EXISTS store_identity (id boolean PRIMARY KEY DEFAULT true CHECK (id), model text NOT NULL, dimension integer NOT NULL)`);
    await checkIdentity(client, identity);
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const applied: number[] = [];
    for (const migration of migrations.filter((m) => !done.has(m.version)).sort((a, b) => a.version - b.version)) {
      await client.query(migration.sql(identity.dimension));
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      applied.push(migration.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

async function checkIdentity(client: PoolClient, identity: StoreIdentity): Promise<void> {
  const stored = (await client.query<StoreIdentity>('SELECT model, dimension FROM store_identity')).rows[0];
  if (!stored) {
    await client.query('INSERT INTO store_identity (model, dimension) VALUES ($1, $2)', [identity.model, identity.dimension]);
    return;
  }
  if (stored.model !== identity.model || stored.dimension !== identity.dimension) {
    throw new OperatorError(
      `DATABASE_URL holds an index of ${stored.model} vectors (${stored.dimension} dimensions), but the embedding model is ${identity.model} (${identity.dimension}): ` +
        'point DATABASE_URL at another database for this model, or set EMBEDDING_MODEL back.',
    );
  }
}
