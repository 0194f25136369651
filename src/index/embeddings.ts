// The embedding edge: a LangChain `Embeddings` over @huggingface/transformers (local, default)
// or over any OpenAI-compatible endpoint, chosen by configuration.
// The local model runs in one worker thread per process (embed-worker.ts): onnxruntime-node runs
// a batch synchronously, for tens to hundreds of milliseconds, which on the main thread would stall
// the bot's update loop and its signal handling. EMBEDDING_THREAD=main (or the `thread` option)
// keeps it on the main thread, for environments where a worker cannot start.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Embeddings } from '@langchain/core/embeddings';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { EmbeddingUnavailableError, embedBatch, fromWire, loadPipeline, RUNS, STOPPED_MESSAGE, STOPPING, toVectors, type WireError, type WorkerRequest } from './embed-worker.ts';

export { EmbeddingUnavailableError, locateModel, MODEL_REMEDY, modelCacheDir, type ModelSource } from './embed-worker.ts';

/** BGE's instruction for short retrieval queries; passages are embedded without it. */
export const BGE_QUERY_PREFIX = '为这个句子生成表示以用于检索相关文章：';

/** What the rest of the pipeline needs from an embedding model. */
export interface TextEmbedder extends Embeddings {
  /** Names the model, recorded in the index manifest: an index only works with its own model. */
  readonly modelId: string;
  /** Loads the model and runs it once, so that the first question is no slower than the rest.
   * Absent where there is nothing to warm (a remote endpoint). */
  warm?(): Promise<void>;
}

/** A failed load is remembered this long before it is tried again. Without it every question
 * retried the load, and a loop of failing searches never yielded to I/O (it spun at 100% CPU). */
export const MODEL_RETRY_MS = 30_000;

export interface LocalEmbeddingsOptions {
  model: string;
  /** Folder holding `<model>/` for offline use; without it the model is downloaded once. */
  modelPath?: string;
  batchSize?: number;
  /** Batch texts of similar length together (less padding; ~25% faster on the seeds). */
  sortByLength?: boolean;
  logger?: Logger;
  /** Where inference runs; default EMBEDDING_THREAD=main|worker, else a worker thread. */
  thread?: 'worker' | 'main';
}

/** A loaded model, in whichever thread runs it. */
interface Model {
  /** The thread that runs the model: 0 is the main thread. */
  readonly threadId: number;
  embed(texts: string[]): Promise<number[][]>;
}

// One load per thread mode, model and folder per process: loading takes a second and ~100 MB.
const models = new Map<string, Promise<Model>>();
/** The thread that has loaded a model in this process: onnxruntime-node 1.21 aborts the process
 * when two JavaScript threads run inference, so the other mode is refused. */
let runtimeThread: 'worker' | 'main' | undefined;
let embedWorker: EmbedWorker | undefined;

export class LocalEmbeddings extends Embeddings implements TextEmbedder {
  readonly modelId: string;
  readonly thread: 'worker' | 'main';
  private readonly options: LocalEmbeddingsOptions;
  private readonly queryPrefix: string;

  constructor(options: LocalEmbeddingsOptions) {
    super({});
    this.options = options;
    this.modelId = options.model;
    this.thread = options.thread ?? (process.env.EMBEDDING_THREAD?.trim().toLowerCase() === 'main' ? 'main' : 'worker');
    this.queryPrefix = /bge-.*zh/i.test(options.model) ? BGE_QUERY_PREFIX : '';
  }

  /** Loads the model now (it otherwise loads on first use); throws EmbeddingUnavailableError. */
  async load(): Promise<void> {
    await this.model();
  }

  /** Loads the model and embeds one short query: the first run of a fresh ONNX session is slower. */
  async warm(): Promise<void> {
    await this.embedQuery('今天有什么新闻？');
  }

  /** The thread that runs the model (0: the main thread), loading it if need be. */
  async threadId(): Promise<number> {
    return (await this.model()).threadId;
  }

  /** Stops the embedding worker, which every LocalEmbeddings in the process shares: calls in
   * flight reject, and the next call starts a new worker (with onnxruntime-node 1.21 that worker
   * cannot load the runtime again, so its calls fail with EmbeddingUnavailableError). */
  async close(): Promise<void> {
    await embedWorker?.close();
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    const model = await this.model();
    const batchSize = this.options.batchSize ?? 16;
    const order = texts.map((_, i) => i);
    if (this.options.sortByLength ?? true) order.sort((a, b) => texts[a].length - texts[b].length);
    const vectors: number[][] = new Array(texts.length);
    // One request per batch: a query asked meanwhile waits for one batch, not for all of them.
    for (let i = 0; i < order.length; i += batchSize) {
      const batch = order.slice(i, i + batchSize);
      const rows = await model.embed(batch.map((j) => texts[j]));
      rows.forEach((vector, n) => (vectors[batch[n]] = vector));
    }
    return vectors;
  }

  async embedQuery(text: string): Promise<number[]> {
    const model = await this.model();
    return (await model.embed([this.queryPrefix + text]))[0];
  }

  private get key(): string {
    return `${this.thread}:${this.options.model}@${this.options.modelPath ?? 'hub'}`;
  }

  private model(): Promise<Model> {
    const key = this.key;
    let loading = models.get(key);
    if (!loading) {
      loading = this.loadModel(key);
      models.set(key, loading);
      // A later call may succeed (network back, files copied in), but not within MODEL_RETRY_MS.
      const forget = () => models.get(key) === loading && models.delete(key);
      loading.catch(() => setTimeout(forget, MODEL_RETRY_MS).unref());
    }
    return loading;
  }

  private async loadModel(key: string): Promise<Model> {
    if (runtimeThread && runtimeThread !== this.thread) {
      throw new Error(`This process already runs the embedding model on the ${runtimeThread} thread; onnxruntime-node cannot also run it on the ${this.thread} thread. Use one EMBEDDING_THREAD mode per process.`);
    }
    const model = this.thread === 'main' ? await loadInThread(this.options) : await startedWorker().load(key, this.options);
    runtimeThread = this.thread;
    return model;
  }
}

async function loadInThread(options: LocalEmbeddingsOptions): Promise<Model> {
  const extract = await loadPipeline({ ...options, onLoaded: (message) => options.logger?.info(message) });
  return { threadId: 0, embed: async (texts) => toVectors(await embedBatch(extract, texts)) };
}

/** The worker's file beside this one: embed-worker.ts under tsx, embed-worker.js in dist/. */
const WORKER_URL = new URL(`./embed-worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url);

function startWorker(state: Int32Array): Worker {
  const workerData = { embedWorker: state };
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL, { workerData });
  // Node 20 does not apply tsx's loader (`--import tsx`, the tsx CLI) inside worker threads, so
  // the worker registers it before it imports the .ts file.
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const boot = `import(${tsx}).then((api) => { api.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

type Reply = { id: number; log?: string; error?: WireError; threadId?: number; data?: Float32Array; dim?: number };
type Pending = { resolve: (reply: Reply) => void; reject: (error: Error) => void; logger?: Logger; load: boolean };

/** The worker thread that runs every local model of the process, one request per batch answered
 * by id. It is ref'd only while requests are in flight: they finish, but an idle worker never
 * keeps a process alive. */
class EmbedWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  /** Keys of the models loaded here, forgotten when the worker stops. */
  private readonly loaded = new Set<string>();
  /** [RUNS, STOPPING], shared with the worker. */
  private readonly state = new Int32Array(new SharedArrayBuffer(8));
  private nextId = 1;
  private crash?: Error;
  private stopping = false;
  private gone?: Error;
  /** The first loader's logger: where a crash is reported. */
  private logger?: Logger;

  constructor() {
    this.worker = startWorker(this.state);
    if (!process.listeners('exit').includes(settleWorkerBeforeExit)) process.on('exit', settleWorkerBeforeExit);
    this.worker.on('message', (reply: Reply) => this.settle(reply));
    this.worker.on('error', (error) => (this.crash = error));
    this.worker.on('exit', (code) => this.exited(code));
    this.worker.unref();
  }

  async load(key: string, { model, modelPath, logger }: LocalEmbeddingsOptions): Promise<Model> {
    this.logger ??= logger;
    const { threadId } = await this.request({ model, modelPath }, { logger, load: true });
    this.loaded.add(key);
    return { threadId: threadId!, embed: async (texts) => toVectors((await this.request({ model, modelPath, texts })) as { data: Float32Array; dim: number }) };
  }

  async close(): Promise<void> {
    this.stopping = true;
    Atomics.store(this.state, STOPPING, 1);
    while (Atomics.load(this.state, RUNS) > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await this.worker.terminate();
  }

  /** For process exit: lets the native run under way finish (a batch, well under a second), as
   * the exit would otherwise abort the process. Blocks, as 'exit' listeners must. */
  settleBeforeExit(): void {
    Atomics.store(this.state, STOPPING, 1);
    const deadline = Date.now() + EXIT_WAIT_MS;
    for (let runs; (runs = Atomics.load(this.state, RUNS)) > 0 && Date.now() < deadline; ) Atomics.wait(this.state, RUNS, runs, deadline - Date.now());
  }

  private request(message: Omit<WorkerRequest, 'id'>, { logger, load = false }: { logger?: Logger; load?: boolean } = {}): Promise<Reply> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    const reply = new Promise<Reply>((resolve, reject) => this.pending.set(id, { resolve, reject, logger, load }));
    this.worker.postMessage({ id, ...message } satisfies WorkerRequest);
    this.worker.ref();
    return reply;
  }

  private settle(reply: Reply): void {
    const request = this.pending.get(reply.id);
    if (!request) return;
    if (reply.log) return void request.logger?.info(reply.log);
    this.pending.delete(reply.id);
    if (!this.pending.size) this.worker.unref();
    if (reply.error) request.reject(fromWire(reply.error));
    else request.resolve(reply);
  }

  private exited(code: number): void {
    const how = this.crash?.message ?? `exit code ${code}`;
    this.gone = this.stopping
      ? new Error(STOPPED_MESSAGE)
      : new Error(`The embedding worker stopped unexpectedly (${how}); the next call starts a new one.`);
    // onnxruntime-node cannot load a model twice in one process: until a restart, answers use
    // keywords only, which the operator must hear about at once.
    if (!this.stopping) this.logger?.error(`${this.gone.message} Until the process is restarted, search uses keywords only.`);
    for (const request of this.pending.values()) request.reject(request.load ? workerUnavailable(how) : this.gone);
    this.pending.clear();
    if (embedWorker === this) embedWorker = undefined;
    for (const key of this.loaded) models.delete(key);
  }
}

/** The longest an exit waits for the worker's run under way (a model load, or a batch). */
const EXIT_WAIT_MS = 10_000;
const settleWorkerBeforeExit = () => embedWorker?.settleBeforeExit();

function startedWorker(): EmbedWorker {
  try {
    return (embedWorker ??= new EmbedWorker());
  } catch (error) {
    throw workerUnavailable((error as Error).message);
  }
}

function workerUnavailable(reason: string): EmbeddingUnavailableError {
  return new EmbeddingUnavailableError(
    `The embedding worker could not load the model (${reason}). If worker threads cannot run here, set EMBEDDING_THREAD=main to run the model on the main thread.`,
  );
}

/** An OpenAI-compatible /embeddings endpoint (EMBEDDINGS_BASE_URL, EMBEDDINGS_MODEL). */
export async function createRemoteEmbeddings(options: { baseUrl: string; apiKey?: string; model: string }): Promise<TextEmbedder> {
  const { OpenAIEmbeddings } = await import('@langchain/openai');
  const remote = new OpenAIEmbeddings({
    model: options.model,
    apiKey: options.apiKey ?? 'none',
    configuration: { baseURL: options.baseUrl },
    maxRetries: 2,
  });
  return Object.assign(remote, { modelId: `${options.model}@${options.baseUrl}` });
}

export async function createEmbeddings(config: Config, logger?: Logger): Promise<TextEmbedder> {
  const settings = config.embeddings;
  if (settings.provider === 'openai') return createRemoteEmbeddings(settings);
  return new LocalEmbeddings({ model: settings.model, modelPath: settings.modelPath, logger });
}
