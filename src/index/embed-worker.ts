// The local embedding model itself (where it is, how it loads, how a batch is embedded) and, when
// started as a worker thread (LocalEmbeddings' default), the loop that serves it to the main
// thread. Kept apart from embeddings.ts so that the worker loads no LangChain.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isMainThread, parentPort, threadId, workerData, type MessagePort } from 'node:worker_threads';
import { ConfigError } from '../config.ts';
import { OperatorError } from '../errors.ts';

/** The model could not be loaded: the message says where we looked and what to set. */
export class EmbeddingUnavailableError extends OperatorError {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddingUnavailableError';
  }
}

export type FeatureExtractor = (texts: string[], options: { pooling: 'cls'; normalize: boolean }) => Promise<{ data: ArrayLike<number> & { slice(): Float32Array }; dims: number[] }>;

/** Files transformers.js needs for a feature-extraction model (q8 weights). */
const MODEL_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', path.join('onnx', 'model_quantized.onnx')];

/** Where downloaded models live: outside node_modules, so a reinstall keeps them. */
export function modelCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'news-qa-bot', 'models');
}

/** Where the local model comes from, in the order the app looks: EMBEDDING_MODEL_PATH, then a
 * complete copy in the download cache (loaded offline), then a download into that cache. */
export type ModelSource = { kind: 'path' | 'cache'; dir: string; complete: boolean } | { kind: 'download'; dir: string; complete: false };

export function locateModel(model: string, modelPath?: string): ModelSource {
  const complete = (dir: string) => MODEL_FILES.every((file) => existsSync(path.join(dir, model, file)));
  if (modelPath) return { kind: 'path', dir: modelPath, complete: complete(modelPath) };
  const cache = modelCacheDir();
  return complete(cache) ? { kind: 'cache', dir: cache, complete: true } : { kind: 'download', dir: cache, complete: false };
}

/** The fix for a missing model, in one sentence operators and the test runner both print. */
export const MODEL_REMEDY = (model: string) =>
  `Offline? Copy the model's files (${MODEL_FILES.join(', ')}) into <folder>/${model}/ and set EMBEDDING_MODEL_PATH=<folder>; online, unset EMBEDDING_MODEL_PATH and it downloads into ${modelCacheDir()} (behind a proxy, set HTTPS_PROXY).`;

export interface ModelOptions {
  model: string;
  /** Folder holding `<model>/` for offline use; without it the model is downloaded once. */
  modelPath?: string;
  /** Told where the model was loaded from. */
  onLoaded?: (message: string) => void;
}

export async function loadPipeline({ model, modelPath, onLoaded }: ModelOptions): Promise<FeatureExtractor> {
  const source = locateModel(model, modelPath);
  if (source.kind === 'path' && !source.complete) {
    const missing = MODEL_FILES.map((file) => path.join(source.dir, model, file)).filter((file) => !existsSync(file));
    throw new EmbeddingUnavailableError(
      `EMBEDDING_MODEL_PATH=${source.dir} has no complete ${model} (missing ${missing.join(', ')}). ${MODEL_REMEDY(model)}`,
    );
  }
  const transformers = await importTransformers();
  const { env } = transformers;
  // A complete copy loads with no network at all; otherwise download into the cache (which
  // transformers.js reads first, so a download cut short resumes with the files it lacks).
  env.allowLocalModels = source.kind !== 'download';
  env.allowRemoteModels = source.kind === 'download';
  env.localModelPath = source.dir.endsWith(path.sep) ? source.dir : source.dir + path.sep;
  env.cacheDir = modelCacheDir();
  (env.backends.onnx as { logLevel?: string }).logLevel = 'error';
  try {
    // Two intra-op threads match the default on 2 cores and vary less between runs (measured).
    // Local files emit the same events: progress is only news when something is downloaded.
    const options = { dtype: 'q8', progress_callback: source.kind === 'download' ? downloadProgress(model) : undefined, session_options: { intraOpNumThreads: 2, interOpNumThreads: 1 } };
    const extractor = await (transformers.pipeline as (...args: unknown[]) => Promise<unknown>)('feature-extraction', model, options);
    onLoaded?.(`Embedding model ${model} loaded from ${source.dir}`);
    return extractor as FeatureExtractor;
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    if (source.kind !== 'download') {
      const where = source.kind === 'path' ? `EMBEDDING_MODEL_PATH=${source.dir}` : `the model cache ${source.dir}`;
      throw new EmbeddingUnavailableError(`The embedding model in ${where} could not be loaded (${reason}). Check that ${model}/ there is complete. ${MODEL_REMEDY(model)}`);
    }
    throw new EmbeddingUnavailableError(`The embedding model ${model} could not be downloaded into ${source.dir} (${reason}). ${MODEL_REMEDY(model)}`);
  }
}

async function importTransformers(): Promise<typeof import('@huggingface/transformers')> {
  try {
    return await import('@huggingface/transformers');
  } catch (error) {
    // onnxruntime-node 1.21 loads once per process: after the worker that loaded it has stopped,
    // a new worker gets "Module did not self-register".
    const reason = (error as Error).message.split('\n')[0];
    throw new EmbeddingUnavailableError(
      `The embedding runtime (@huggingface/transformers with onnxruntime-node) could not be loaded (${reason}). If an embedding worker stopped earlier in this process, restart the process; otherwise reinstall the dependencies (npm ci).`,
    );
  }
}

/** Node reports start and end for every file but byte progress only for some: show both. */
function downloadProgress(model: string) {
  let lastReport = 0;
  return (event: { status?: string; file?: string; progress?: number }) => {
    if (event.status === 'download') process.stderr.write(`Downloading ${model}/${event.file} …\n`);
    else if (event.status === 'done' && event.file) process.stderr.write(`Downloaded ${model}/${event.file}\n`);
    else if (event.status === 'progress' && Date.now() - lastReport > 1000) {
      lastReport = Date.now();
      process.stderr.write(`Downloading ${model}/${event.file}: ${Math.round(event.progress ?? 0)}%\n`);
    }
  };
}

/** Normalized CLS vectors of `texts`, one row of `dim` floats each: a flat copy that can be
 * transferred between threads without copying again. */
export async function embedBatch(extract: FeatureExtractor, texts: string[]): Promise<{ data: Float32Array; dim: number }> {
  const output = await extract(texts, { pooling: 'cls', normalize: true });
  return { data: output.data.slice(), dim: output.dims[output.dims.length - 1] };
}

export function toVectors({ data, dim }: { data: Float32Array; dim: number }): number[][] {
  const vectors: number[][] = [];
  for (let offset = 0; offset < data.length; offset += dim) vectors.push(Array.from(data.subarray(offset, offset + dim)));
  return vectors;
}

// ---- The worker side: one worker per process serves every model and folder (onnxruntime-node
// 1.21 keeps its JavaScript references process-wide, so inference in a second JS thread aborts the
// process). Request { id, model, modelPath } loads a model and is answered { id, threadId };
// { id, model, modelPath, texts } is answered { id, data, dim }; either may get { id, error }, and
// { id, log } lines go to the main thread's logger.

/** Shared with the main thread: [how many native runs are under way, whether it is stopping].
 * A worker stopped while onnxruntime-node runs a batch aborts the whole process (the binding
 * throws into a dying thread), so the main thread waits for runs to end before it stops the worker
 * or exits, and no run starts once it is stopping. */
export const RUNS = 0;
export const STOPPING = 1;
export const STOPPED_MESSAGE = 'The embedding worker was stopped before it answered.';

export interface WorkerRequest {
  id: number;
  model: string;
  modelPath?: string;
  texts?: string[];
}

/** An error as it crosses the thread boundary: the main thread rebuilds the same class. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
}

const toWire = (error: unknown): WireError =>
  error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : { name: 'Error', message: String(error) };

/** The classes callers tell apart (an operator's mistake is printed, not reported as a bug). */
const ERROR_CLASSES: Record<string, new (message: string) => Error> = { EmbeddingUnavailableError, OperatorError, ConfigError };

export function fromWire(wire: WireError): Error {
  const Class = ERROR_CLASSES[wire.name];
  const error = Class ? new Class(wire.message) : Object.assign(new Error(wire.message), { name: wire.name });
  if (wire.stack) error.stack = wire.stack;
  return error;
}

async function guarded<T>(state: Int32Array, run: () => Promise<T>): Promise<T> {
  Atomics.add(state, RUNS, 1);
  try {
    if (Atomics.load(state, STOPPING)) throw new Error(STOPPED_MESSAGE);
    return await run();
  } finally {
    Atomics.sub(state, RUNS, 1);
    Atomics.notify(state, RUNS);
  }
}

function serve(port: MessagePort, state: Int32Array): void {
  const extractors = new Map<string, Promise<FeatureExtractor>>();
  const extractor = ({ id, model, modelPath }: WorkerRequest) => {
    const key = `${model}@${modelPath ?? 'hub'}`;
    let loading = extractors.get(key);
    if (!loading) {
      loading = guarded(state, () => loadInWorker({ model, modelPath, onLoaded: (log) => port.postMessage({ id, log }) }));
      extractors.set(key, loading);
      // The main thread remembers the failure; a retry it sends later loads afresh.
      loading.catch(() => extractors.delete(key));
    }
    return loading;
  };
  port.on('message', async (request: WorkerRequest) => {
    try {
      const extract = await extractor(request);
      if (!request.texts) return port.postMessage({ id: request.id, threadId });
      const { data, dim } = await guarded(state, () => embedBatch(extract, request.texts!));
      port.postMessage({ id: request.id, data, dim }, [data.buffer as ArrayBuffer]);
    } catch (error) {
      port.postMessage({ id: request.id, error: toWire(error) });
    }
  });
}

async function loadInWorker(options: ModelOptions): Promise<FeatureExtractor> {
  // The main thread's proxy router does not reach this thread's fetch: a download needs its own.
  if (locateModel(options.model, options.modelPath).kind === 'download') (await import('../net/proxy.ts')).installProxy();
  return loadPipeline(options);
}

const shared = workerData as { embedWorker?: Int32Array } | undefined;
if (!isMainThread && parentPort && shared?.embedWorker) serve(parentPort, shared.embedWorker);
