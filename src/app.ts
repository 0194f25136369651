// The composition root: the one place where adapters are chosen from the config. The bot, the
// terminal chat, the CLI tools and the tests all build their services here.
//   DATABASE_URL unset: the index in INDEX_DIR (hnswlib + a BM25 keyword index), state in memory.
//   DATABASE_URL set:   index and state in PostgreSQL, shared by replicas; INDEX_DIR unused.
import path from 'node:path';
import pg from 'pg';
import { Answerer } from './answer/answer.ts';
import { createChatModel } from './answer/llm.ts';
import { loadConfig, type Config } from './config.ts';
import { OperatorError } from './errors.ts';
import type { IndexBackend } from './index/backend.ts';
import { createEmbeddings, EmbeddingUnavailableError, type TextEmbedder } from './index/embeddings.ts';
import { PostgresIndexService } from './index/postgres/service.ts';
import { explainDatabaseError, PostgresChunkStore } from './index/postgres/store.ts';
import type { StoreIdentity } from './index/postgres/schema.ts';
import { IndexService } from './index/service.ts';
import { createLogger, type Logger } from './log.ts';
import { installProxy } from './net/proxy.ts';
import { Retriever } from './retrieve/search.ts';
import { FEEDBACK_FILE } from './state/feedback-file.ts';
import { MemoryStateStore } from './state/memory.ts';
import type { StateStore } from './state/port.ts';
import { PostgresStateStore } from './state/postgres.ts';

export interface Services {
  config: Config;
  logger: Logger;
  embedder: TextEmbedder;
  index: IndexBackend;
  stateStore: StateStore;
  retriever: Retriever;
  answerer: Answerer;
  /** Closes the database connections (a no-op for the local backend). */
  close(): Promise<void>;
}

export async function createServices(config = loadConfig(), logger: Logger = createLogger(config.logLevel)): Promise<Services> {
  installProxy({ logger }); // HTTPS_PROXY etc. for fetch (LLM, embeddings, model download)
  const embedder = await createEmbeddings(config, logger);
  const { index, state, close } = config.databaseUrl ? await openPostgres(config, config.databaseUrl, embedder, logger) : openLocal(config, embedder, logger);
  const views = () => index.view();
  const retriever = new Retriever(views, embedder, logger);
  const llm = config.llm ? createChatModel(config.llm) : undefined;
  const answerer = new Answerer({ retriever, views, embedder, llm, logger, maxQuestionChars: config.maxQuestionChars, contextChars: config.answers.llmContextChars, maxListArticles: config.answers.listMaxArticles });
  return { config, logger, embedder, index, stateStore: state, retriever, answerer, close };
}

function openLocal(config: Config, embedder: TextEmbedder, logger: Logger) {
  // Votes on answers outlive a restart beside the builds (a reindex only touches builds/).
  const state = new MemoryStateStore({ feedbackFile: path.join(config.indexDir, FEEDBACK_FILE) });
  return { index: new IndexService(config, embedder, logger), state, close: async () => {} };
}

async function openPostgres(config: Config, url: string, embedder: TextEmbedder, logger: Logger) {
  const pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: 10_000, max: 20, allowExitOnIdle: true });
  // allowExitOnIdle: a CLI tool exits when done. An idle connection the server dropped must not
  // crash the process: the next query reconnects.
  pool.on('error', (error) => logger.warn(`A PostgreSQL connection was lost (reconnecting on next use): ${error.message}`));
  try {
    const identity = await storeIdentity(embedder, pool, url);
    const store = await PostgresChunkStore.open({ pool, identity, keywordMode: 'both', efSearch: config.hnsw.efSearch });
    const state = await PostgresStateStore.open({ pool });
    const index = new PostgresIndexService({ store, pool, config, embedder, logger, tryLock: (name) => state.tryLock(name) });
    const close = async () => {
      await state.close();
      await index.close();
      await pool.end();
    };
    return { index, state, close };
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
}

/** Dimensions of models whose vectors may be stored before the model has ever loaded here. */
const KNOWN_DIMENSIONS: Record<string, number> = { 'Xenova/bge-small-zh-v1.5': 512 };

/** The model and dimension the database's vectors must come from: the model's own, or, when it
 * cannot load now (keyword search until it does), what the database or a known model says. */
async function storeIdentity(embedder: TextEmbedder, pool: pg.Pool, url: string): Promise<StoreIdentity> {
  try {
    return { model: embedder.modelId, dimension: (await embedder.embedQuery('测试')).length };
  } catch (error) {
    if (!(error instanceof EmbeddingUnavailableError)) throw error;
  }
  const stored = await pool
    .query<StoreIdentity>('SELECT model, dimension FROM store_identity')
    .then((r) => r.rows[0])
    .catch((error: { code?: string }) => {
      if (error.code === '42P01') return undefined; // a new database: no table yet
      const { hostname, port } = new URL(url);
      throw explainDatabaseError(error, `${hostname || 'localhost'}:${port || 5432}`);
    });
  const dimension = stored?.model === embedder.modelId ? stored.dimension : KNOWN_DIMENSIONS[embedder.modelId];
  if (dimension === undefined) {
    throw new OperatorError(`The embedding model ${embedder.modelId} did not load, and DATABASE_URL does not record its dimension yet: make the model available once (EMBEDDING_MODEL_PATH, or run online), then start again.`);
  }
  return { model: embedder.modelId, dimension };
}
