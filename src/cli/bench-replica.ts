// The bot replica's side of `npm run bench -- --backend …`, run as a fresh child process: it only
// opens the index (a saved local build, or PostgreSQL) and answers the benchmark's questions from
// query vectors it is given on stdin, so that its RSS is what a replica holds for the index (the
// embedding model, which a bot also loads, is left out). Prints its figures as JSON on stdout.
import { spawn } from 'node:child_process';
import { text } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import { Embeddings } from '@langchain/core/embeddings';
import { runMain } from '../errors.ts';
import { quantile } from '../eval/questions.ts';
import type { TextEmbedder } from '../index/embeddings.ts';
import { localView } from '../index/local.ts';
import type { ChunkStore, IndexView } from '../index/port.ts';
import { PostgresChunkStore } from '../index/postgres/store.ts';
import { loadIndex } from '../index/store.ts';
import { Retriever } from '../retrieve/search.ts';

export interface ReplicaInput {
  backend: 'local' | 'postgres';
  /** local: the INDEX_DIR holding the saved build. */
  indexDir?: string;
  /** postgres: the database. */
  url?: string;
  identity: { model: string; dimension: number };
  efSearch: number;
  questions: string[];
  /** One per question. */
  queryVectors: number[][];
  /** Dense top 10 is returned for this many of the first query vectors (recall). */
  recallQueries: number;
}

export interface ReplicaResult {
  /** RSS with the code loaded, before the index is opened. */
  baseRss: number;
  openMs: number;
  p50: number;
  p95: number;
  rss: number;
  peakRss: number;
  /** Chunk ids of view.denseSearch(vector, 10), per recall query. */
  dense: string[][];
  /** Each leg alone, at the retriever's depth: p50 and p95 in ms. */
  denseLeg: [number, number];
  keywordLeg: [number, number];
  /** PostgreSQL: the keyword leg's top 40 against an exact search (no candidate limit), rank by
   * rank: the share of ranks whose score equals the exact one, and of questions equal throughout. */
  keywordAgreement?: { ranks: number; questions: number; checked: number };
}

const REPLICA_ENV = 'NEWSBOT_BENCH_REPLICA';
/** Questions the keyword leg is checked against an exact search on (slow: seconds each at 1M). */
const AGREEMENT_QUESTIONS = 50;
/** Retriever.search's candidate depth for k = 5: max(40, 8k). */
const DEPTH = 40;
const WARM_UP = 10;

/** Runs the replica in a fresh process; the query vectors go on stdin (no model there). */
export async function runReplica(input: ReplicaInput): Promise<ReplicaResult> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, [REPLICA_ENV]: '1' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin.end(JSON.stringify(input));
  const [output, code] = await Promise.all([text(child.stdout), new Promise((resolve) => child.on('close', resolve))]);
  if (code !== 0) throw new Error(`The ${input.backend} replica measurement failed (exit code ${code}).`);
  return JSON.parse(output) as ReplicaResult;
}

/** Stands in for the model: the index wants its id, and every query comes with its vector. */
class QueryVectorsOnly extends Embeddings implements TextEmbedder {
  constructor(readonly modelId: string) {
    super({});
  }
  async embedDocuments(): Promise<number[][]> {
    throw new Error('The benchmark replica has no model: it is given query vectors.');
  }
  async embedQuery(): Promise<number[]> {
    throw new Error('The benchmark replica has no model: it is given query vectors.');
  }
}

/** What a replica opens: views of the saved build or of the database. */
async function open(input: ReplicaInput, embedder: TextEmbedder): Promise<{ views: () => Promise<IndexView>; store?: ChunkStore }> {
  if (input.backend === 'local') {
    const snapshot = await loadIndex(input.indexDir!, embedder, input.efSearch);
    return { views: async () => localView(snapshot) };
  }
  const store = await PostgresChunkStore.open({ url: input.url!, identity: input.identity, keywordMode: 'both', efSearch: input.efSearch });
  return { views: () => store.view(), store };
}

async function replica(): Promise<void> {
  const input = JSON.parse(await text(process.stdin)) as ReplicaInput;
  const embedder = new QueryVectorsOnly(input.identity.model);
  const baseRss = process.memoryUsage().rss;
  const started = performance.now();
  const { views, store } = await open(input, embedder);
  const openMs = performance.now() - started;
  const retriever = new Retriever(views, embedder);
  const search = (i: number) => retriever.search(input.questions[i], { k: 5, queryVector: input.queryVectors[i] });
  for (let i = 0; i < Math.min(WARM_UP, input.questions.length); i++) await search(i);
  const times: number[] = [];
  for (let i = 0; i < input.questions.length; i++) {
    const start = performance.now();
    await search(i);
    times.push(performance.now() - start);
  }
  const rss = process.memoryUsage().rss;
  const leg = async (run: (view: IndexView, i: number) => Promise<unknown>): Promise<[number, number]> => {
    const legTimes: number[] = [];
    for (let i = 0; i < input.questions.length; i++) {
      const legView = await views();
      const start = performance.now();
      await run(legView, i);
      legTimes.push(performance.now() - start);
      await legView.release();
    }
    return [quantile(legTimes, 0.5), quantile(legTimes, 0.95)];
  };
  const denseLeg = await leg((v, i) => v.denseSearch(input.queryVectors[i], DEPTH));
  const keywordLeg = await leg((v, i) => v.keywordSearch(input.questions[i], DEPTH));
  const keywordAgreement = input.backend === 'postgres' ? await agreement(input) : undefined;
  const view = await views();
  const dense: string[][] = [];
  for (const vector of input.queryVectors.slice(0, input.recallQueries)) dense.push((await view.denseSearch(vector, 10)).map((hit) => hit.id));
  await view.release();
  await store?.close();
  const result: ReplicaResult = { baseRss, openMs, p50: quantile(times, 0.5), p95: quantile(times, 0.95), rss, peakRss: process.resourceUsage().maxRSS * 1024, dense, denseLeg, keywordLeg, keywordAgreement };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** The keyword leg against the same search without a candidate limit: exact BM25. */
async function agreement(input: ReplicaInput): Promise<NonNullable<ReplicaResult['keywordAgreement']>> {
  const open = (limit?: number) => PostgresChunkStore.open({ url: input.url!, identity: input.identity, keywordMode: 'both', keywordCandidateLimit: limit });
  const [bounded, exact] = [await open(), await open(Number.MAX_SAFE_INTEGER)];
  const [a, b] = [await bounded.view(), await exact.view()];
  let [ranks, total, questions] = [0, 0, 0];
  const checked = input.questions.slice(0, AGREEMENT_QUESTIONS);
  for (const question of checked) {
    const [got, want] = [await a.keywordSearch(question, DEPTH), await b.keywordSearch(question, DEPTH)];
    const same = want.filter((hit, i) => got[i] !== undefined && got[i].score >= hit.score - 1e-9).length;
    [ranks, total, questions] = [ranks + same, total + want.length, questions + (same === want.length ? 1 : 0)];
  }
  await Promise.all([a.release(), b.release()]);
  await Promise.all([bounded.close(), exact.close()]);
  return { ranks: total ? ranks / total : 1, questions: questions / checked.length, checked: checked.length };
}

if (process.env[REPLICA_ENV]) await runMain(replica);
