// The state store in PostgreSQL (tables of migrations 3 and 5), for replicas behind one bot token: a
// follow-up landing on another replica continues the conversation, rate limits count across
// replicas, an upload is confirmed once, and one reindex runs at a time. It behaves as the memory
// adapter does. Times come from the injected clock (as parameters, in ms), never the database's,
// so that replicas and tests with a fake clock agree on them.
import { createHash, randomBytes } from 'node:crypto';
import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';
import type { Answer, AnswerMode, Turn } from '../answer/types.ts';
import type { ConversationOptions } from '../bot/conversations.ts';
import { OperatorError } from '../errors.ts';
import type { ConversationMemory, FeedbackStore, FeedbackVote, PendingUpload, SharedNoticeLimiter, SharedRateLimiter, StateStore, Vote } from './port.ts';

export interface PostgresStateOptions {
  /** A pool the caller owns and has migrated (close() leaves it open). */
  pool: Pool;
  now?: () => number;
  conversation?: ConversationOptions;
}

/** The latest migration that made its tables (src/index/postgres/schema.ts): 5, bot_feedback. */
const STATE_SCHEMA_VERSION = 5;
const DAY_MS = 24 * 60 * 60_000;
const MAX_UPLOADS = 50;
/** Answers by message outlive their conversation: a reply to an old answer still finds it. */
const ANSWER_TTL_MS = 7 * DAY_MS;
/** A bucket idle this long is full again, as good as absent; a notice forgotten allows one more. */
const BUCKET_TTL_MS = 60 * 60_000;
const NOTICE_TTL_MS = DAY_MS;
/** Old rows are deleted at most this often per store, by whichever call comes along. */
const PRUNE_EVERY_MS = 10 * 60_000;
/** The 64-bit advisory lock keys used elsewhere (migrations, page writers): never a named lock's. */
const RESERVED_LOCKS = new Set([7_368_201_554n, 7_368_201_555n]);

/** A ms time as a parameter of SQL: `${ts(3)}` is the third parameter. */
const ts = (n: number) => `to_timestamp($${n}::float8 / 1000)`;
/** A timestamptz column back in ms (exact: extract gives numeric). */
const ms = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8`;

class PostgresConversations implements ConversationMemory {
  constructor(
    private readonly pool: Pool,
    private readonly options: ConversationOptions,
    private readonly now: () => number,
    private readonly prune: (now: number) => Promise<void>,
  ) {}

  private query<R extends QueryResultRow>(sql: string, values: unknown[]): Promise<QueryResult<R>> {
    return this.pool.query<R>(sql, values);
  }

  async history(key: string): Promise<Turn[]> {
    const { rows } = await this.query<{ turns: Turn[] }>(`SELECT turns FROM bot_conversations WHERE key = $1 AND updated >= ${ts(2)}`, [key, this.now() - this.options.maxAgeMs]);
    return rows[0]?.turns ?? [];
  }

  async historyAt(chatId: number, messageId: number): Promise<Turn[] | undefined> {
    const { rows } = await this.query<{ turns: Turn[] }>('SELECT turns FROM bot_answers WHERE chat_id = $1 AND message_id = $2', [chatId, messageId]);
    return rows[0]?.turns;
  }

  async answerAt(chatId: number, messageId: number): Promise<Answer | undefined> {
    const { rows } = await this.query<{ answer: Answer }>('SELECT answer FROM bot_answers WHERE chat_id = $1 AND message_id = $2', [chatId, messageId]);
    return rows[0]?.answer;
  }

  /** One statement: the row lock of ON CONFLICT makes two replicas' turns both land, in order.
   * Without `base` the turn is appended to the stored (unexpired) history, trimmed in SQL. */
  async record(key: string, question: string, answer: Answer, chatId: number, messageIds: number[], base?: Turn[]): Promise<Turn[]> {
    const turn: Turn = { question: answer.rewrittenQuestion ?? question, answer: answer.text, articleIds: answer.citations.map((c) => c.articleId) };
    const now = this.now();
    const fresh = [...(base ?? []), turn].slice(-this.options.maxTurns);
    const { rows } = await this.query<{ turns: Turn[] }>(
      `INSERT INTO bot_conversations AS c (key, turns, updated) VALUES ($1, $2::jsonb, ${ts(3)})
       ON CONFLICT (key) DO UPDATE SET updated = excluded.updated, turns = CASE WHEN $4::boolean THEN excluded.turns ELSE (
         SELECT coalesce(jsonb_agg(e ORDER BY i), '[]'::jsonb) FROM (
           SELECT e, i, count(*) OVER () AS n
           FROM jsonb_array_elements(CASE WHEN c.updated >= ${ts(5)} THEN c.turns ELSE '[]'::jsonb END || excluded.turns) WITH ORDINALITY t (e, i)
         ) s WHERE i > n - $6) END
       RETURNING turns`,
      [key, JSON.stringify(fresh), now, base !== undefined, now - this.options.maxAgeMs, this.options.maxTurns],
    );
    const turns = rows[0].turns;
    await this.remember(chatId, messageIds, answer, turns);
    await this.prune(now);
    return turns;
  }

  async remember(chatId: number, messageIds: number[], answer: Answer, turns: Turn[]): Promise<void> {
    if (!messageIds.length) return;
    await this.query(
      `INSERT INTO bot_answers (chat_id, message_id, answer, turns, created) SELECT $1, m, $3::jsonb, $4::jsonb, ${ts(5)} FROM unnest($2::bigint[]) m
       ON CONFLICT (chat_id, message_id) DO UPDATE SET answer = excluded.answer, turns = excluded.turns, created = excluded.created`,
      [chatId, messageIds, JSON.stringify(answer), JSON.stringify(turns), this.now()],
    );
  }

  async reset(key: string): Promise<void> {
    await this.query('DELETE FROM bot_conversations WHERE key = $1', [key]);
  }
}

interface FeedbackRow {
  answer_id: string;
  user_hash: string;
  chat_hash: string;
  chat_type: FeedbackVote['chatType'];
  vote: Vote;
  time: number;
  question: string;
  answer: string;
  citations: FeedbackVote['citations'];
  mode: AnswerMode;
  refused: boolean;
  timings: FeedbackVote['timings'] | null;
}

const FEEDBACK_COLUMNS = `answer_id, user_hash, chat_hash, chat_type, vote, ${ms('time')} AS time, question, answer, citations, mode, refused, timings`;

function voteOf(row: FeedbackRow): FeedbackVote {
  const { answer_id: answerId, user_hash: userHash, chat_hash: chatHash, chat_type: chatType, timings, ...rest } = row;
  return { ...rest, time: Math.round(row.time), answerId, userHash, chatHash, chatType, ...(timings ? { timings } : {}) };
}

/** Votes in bot_feedback: the primary key (answer, user) makes a second press an update. */
class PostgresFeedback implements FeedbackStore {
  constructor(private readonly pool: Pool) {}

  /** The old vote is read in the same statement, from its snapshot (FOR UPDATE would skip the
   * row this statement updates). Two presses racing on two replicas may report a stale earlier
   * vote (only the toast's wording); the row keeps the later press either way. */
  async vote(v: FeedbackVote): Promise<Vote | undefined> {
    const { rows } = await this.pool.query<{ previous: Vote | null }>(
      `WITH old AS (SELECT vote FROM bot_feedback WHERE answer_id = $1 AND user_hash = $2)
       INSERT INTO bot_feedback (answer_id, user_hash, chat_hash, chat_type, vote, time, question, answer, citations, mode, refused, timings)
       VALUES ($1, $2, $3, $4, $5, ${ts(6)}, $7, $8, $9::jsonb, $10, $11, $12::jsonb)
       ON CONFLICT (answer_id, user_hash) DO UPDATE SET vote = excluded.vote, time = excluded.time, seq = DEFAULT
       RETURNING (SELECT vote FROM old) AS previous`,
      [v.answerId, v.userHash, v.chatHash, v.chatType, v.vote, v.time, v.question, v.answer, JSON.stringify(v.citations), v.mode, v.refused, v.timings ? JSON.stringify(v.timings) : null],
    );
    return rows[0]?.previous ?? undefined;
  }

  async counts(): Promise<Record<Vote, number>> {
    const { rows } = await this.pool.query<{ vote: Vote; n: string }>('SELECT vote, count(*) AS n FROM bot_feedback GROUP BY vote');
    const counts = { up: 0, down: 0 };
    for (const row of rows) counts[row.vote] = Number(row.n);
    return counts;
  }

  async recent(vote: Vote, limit: number): Promise<FeedbackVote[]> {
    const { rows } = await this.pool.query<FeedbackRow>(`SELECT ${FEEDBACK_COLUMNS} FROM bot_feedback WHERE vote = $1 ORDER BY time DESC, seq DESC LIMIT $2`, [vote, limit]);
    return rows.map(voteOf);
  }

  async all(): Promise<FeedbackVote[]> {
    const { rows } = await this.pool.query<FeedbackRow>(`SELECT ${FEEDBACK_COLUMNS} FROM bot_feedback ORDER BY time, seq`);
    return rows.map(voteOf);
  }
}

interface Bucket {
  key: string;
  tokens: number;
  updated: number;
}

/** TokenBucket.take on a stored bucket: refills, then takes a token or says how long to wait. */
function take(bucket: Bucket, capacity: number, now: number): number {
  const refillPerMs = capacity / 60_000;
  bucket.tokens = Math.min(capacity, bucket.tokens + (now - bucket.updated) * refillPerMs);
  bucket.updated = now;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return 0;
  }
  return Math.ceil((1 - bucket.tokens) / refillPerMs);
}

export class PostgresStateStore implements StateStore {
  readonly backend = 'postgres' as const;
  readonly conversations: ConversationMemory;
  readonly feedback: FeedbackStore;
  /** Lets go of each held lock's connection (once). */
  private readonly heldLocks = new Set<(error?: Error) => void>();
  private lastPrune = -Infinity;

  private constructor(
    private readonly pool: Pool,
    private readonly now: () => number,
    private readonly conversation: ConversationOptions,
  ) {
    this.conversations = new PostgresConversations(pool, conversation, now, (time) => this.prune(time));
    this.feedback = new PostgresFeedback(pool);
  }

  /** Opens the store on a pool whose database migrate() has brought to migration 5 or later. */
  static async open(options: PostgresStateOptions): Promise<PostgresStateStore> {
    const version = await schemaVersion(options.pool);
    if (version < STATE_SCHEMA_VERSION) {
      throw new OperatorError(
        `The database's schema is not migrated for the bot's state (schema version ${version}, needs ${STATE_SCHEMA_VERSION}): ` +
          'open the index store on it first (it migrates), or check that DATABASE_URL names the bot\'s database.',
      );
    }
    const conversation = options.conversation ?? { maxTurns: 5, maxAgeMs: 30 * 60_000, maxConversations: 5_000 };
    return new PostgresStateStore(options.pool, options.now ?? Date.now, conversation);
  }

  limiter(name: string, perMinute: number): SharedRateLimiter {
    return { check: (userId, chatId) => this.check(name, perMinute, userId, chatId) };
  }

  notices(windowMs = 60_000): SharedNoticeLimiter {
    return {
      allow: async (userId, kind) => {
        const now = this.now();
        // Inserted, or updated only when the last notice is a window old: one replica wins.
        const { rowCount } = await this.query(
          `INSERT INTO bot_notices AS n (kind, user_id, last) VALUES ($1, $2, ${ts(3)})
           ON CONFLICT (kind, user_id) DO UPDATE SET last = excluded.last WHERE n.last <= ${ts(4)}`,
          [kind, userId, now, now - windowMs],
        );
        return rowCount === 1;
      },
    };
  }

  async increment(counter: string, by = 1): Promise<number> {
    const { rows } = await this.query<{ value: string }>(
      'INSERT INTO bot_counters AS c (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = c.value + excluded.value RETURNING value',
      [counter, by],
    );
    return Number(rows[0].value);
  }

  async counter(counter: string): Promise<number> {
    const { rows } = await this.query<{ value: string }>('SELECT value FROM bot_counters WHERE name = $1', [counter]);
    return Number(rows[0]?.value ?? 0);
  }

  async putUpload(upload: PendingUpload): Promise<string> {
    const id = randomBytes(6).toString('hex');
    const now = this.now();
    await this.query(`INSERT INTO bot_uploads (id, name, bytes, user_id, created) VALUES ($1, $2, $3, $4, ${ts(5)})`, [id, upload.name, upload.bytes, upload.userId, now]);
    await this.query(`DELETE FROM bot_uploads WHERE created < ${ts(1)} OR seq <= (SELECT max(seq) FROM bot_uploads) - $2`, [now - DAY_MS, MAX_UPLOADS]);
    return id;
  }

  /** DELETE … RETURNING: of two replicas taking the same upload, one gets it. */
  async takeUpload(id: string, userId: number): Promise<PendingUpload | undefined> {
    const { rows } = await this.query<{ name: string; bytes: Buffer; user_id: string; fresh: boolean }>(
      `DELETE FROM bot_uploads WHERE id = $1 AND user_id = $2 RETURNING name, bytes, user_id, created >= ${ts(3)} AS fresh`,
      [id, userId, this.now() - DAY_MS],
    );
    const row = rows[0];
    return row?.fresh ? { name: row.name, bytes: row.bytes, userId: Number(row.user_id) } : undefined;
  }

  /** A session-level advisory lock on a connection of its own, held until released: a holder
   * that dies drops its connection, and the server frees the lock. */
  async tryLock(name: string): Promise<(() => Promise<void>) | undefined> {
    const key = lockKey(name);
    const client = await this.pool.connect();
    let released = false;
    const release = (error?: Error) => {
      if (released) return;
      released = true;
      this.heldLocks.delete(release);
      client.removeListener('error', release);
      client.release(error); // with an error the pool destroys the connection, and its lock
    };
    // A connection lost while held is let go at once; unheard, its 'error' would end the process.
    client.on('error', release);
    try {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [key]);
      if (!rows[0].locked) {
        release();
        return undefined;
      }
    } catch (error) {
      release(error as Error);
      throw error;
    }
    this.heldLocks.add(release);
    return async () => {
      if (released) return;
      const error = await client.query('SELECT pg_advisory_unlock($1)', [key]).then(
        () => undefined,
        (e: Error) => e,
      );
      release(error);
    };
  }

  async close(): Promise<void> {
    // Dropping the connection frees its locks; the pool is the caller's.
    for (const release of [...this.heldLocks]) release(new Error('state store closed'));
  }

  /** RateLimiter.check across replicas: both buckets locked (in key order: no deadlock) in one
   * transaction; a refused user leaves the chat's bucket as it was; a refused chat refunds. */
  private async check(name: string, perMinute: number, userId: number, chatId: number): Promise<number> {
    const now = this.now();
    const userKey = `u${userId}`;
    const chatKey = `c${chatId}`;
    const capacity = new Map([
      [userKey, perMinute],
      [chatKey, perMinute * 3],
    ]);
    const wait = await this.transaction(async (client) => {
      const keys = [...capacity.keys()].sort();
      await client.query(
        `INSERT INTO bot_rate_buckets (name, key, tokens, updated) SELECT $1, k, t, ${ts(4)} FROM unnest($2::text[], $3::float8[]) AS u (k, t) ORDER BY k ON CONFLICT DO NOTHING`,
        [name, keys, keys.map((k) => capacity.get(k)), now],
      );
      const { rows } = await client.query<Bucket>(
        `SELECT key, tokens, ${ms('updated')} AS updated FROM bot_rate_buckets WHERE name = $1 AND key = ANY($2::text[]) ORDER BY key FOR UPDATE`,
        [name, keys],
      );
      const user = rows.find((r) => r.key === userKey)!;
      const chat = rows.find((r) => r.key === chatKey)!;
      const userWait = take(user, perMinute, now);
      if (userWait > 0) {
        await this.saveBuckets(client, name, [user]);
        return userWait;
      }
      const chatWait = take(chat, perMinute * 3, now);
      if (chatWait > 0) user.tokens = Math.min(perMinute, user.tokens + 1);
      await this.saveBuckets(client, name, [user, chat]);
      return chatWait;
    });
    await this.prune(now);
    return wait;
  }

  private async saveBuckets(client: PoolClient, name: string, buckets: Bucket[]): Promise<void> {
    await client.query(
      `UPDATE bot_rate_buckets b SET tokens = u.tokens, updated = to_timestamp(u.updated / 1000)
       FROM unnest($2::text[], $3::float8[], $4::float8[]) AS u (key, tokens, updated) WHERE b.name = $1 AND b.key = u.key`,
      [name, buckets.map((b) => b.key), buckets.map((b) => b.tokens), buckets.map((b) => b.updated)],
    );
  }

  private async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const ignore = () => {}; // a lost connection fails the next query instead
    client.on('error', ignore);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw error;
    } finally {
      client.removeListener('error', ignore);
      client.release(broken);
    }
  }

  private query<R extends QueryResultRow>(sql: string, values?: unknown[]): Promise<QueryResult<R>> {
    return this.pool.query<R>(sql, values);
  }

  /** Deletes what has expired, at most every PRUNE_EVERY_MS, after a call's own work. A failure
   * only postpones it. */
  private async prune(now: number): Promise<void> {
    if (now - this.lastPrune < PRUNE_EVERY_MS && now >= this.lastPrune) return;
    this.lastPrune = now;
    await this.query(
      `WITH a AS (DELETE FROM bot_conversations WHERE updated < ${ts(1)}),
            b AS (DELETE FROM bot_answers WHERE created < ${ts(2)}),
            c AS (DELETE FROM bot_rate_buckets WHERE updated < ${ts(3)}),
            d AS (DELETE FROM bot_notices WHERE last < ${ts(4)})
       DELETE FROM bot_uploads WHERE created < ${ts(5)}`,
      [now - this.conversation.maxAgeMs, now - ANSWER_TTL_MS, now - BUCKET_TTL_MS, now - NOTICE_TTL_MS, now - DAY_MS],
    ).catch(() => {});
  }
}

/** The latest migration applied (0: none, not even the table that records them). */
async function schemaVersion(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ present: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS present");
  if (!rows[0].present) return 0;
  const latest = await pool.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
  return latest.rows[0].version ?? 0;
}

/** A named lock's 64-bit key: the first 8 bytes of the name's SHA-256, off the reserved keys. */
export function lockKey(name: string): bigint {
  const key = createHash('sha256').update(`newsbot-lock:${name}`).digest().readBigInt64BE(0);
  return RESERVED_LOCKS.has(key) ? key + 2n : key;
}
