// The embedding edge: a LangChain `Embeddings` over @huggingface/transformers (local, default)
// or over any OpenAI-compatible endpoint, chosen by configuration.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Embeddings } from '@langchain/core/embeddings';
import type { Config } from '../config.ts';
import { OperatorError } from '../errors.ts';
import type { Logger } from '../log.ts';

/** BGE's instruction for short retrieval queries; passages are embedded without it. */
export const BGE_QUERY_PREFIX = '为这个句子生成表示以用于检索相关文章：';

/** What the rest of the pipeline needs from an embedding model. */
export interface TextEmbedder extends Embeddings {
  /** Names the model, recorded in the index manifest: an index only works with its own model. */
  readonly modelId: string;
}

/** The model could not be loaded: the message says where we looked and what to set. */
export class EmbeddingUnavailableError extends OperatorError {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddingUnavailableError';
  }
}

type FeatureExtractor = (texts: string[], options: { pooling: 'cls'; normalize: boolean }) => Promise<{ tolist(): number[][] }>;

// One pipeline per model and folder per process: loading takes a second and ~100 MB.
const pipelines = new Map<string, Promise<FeatureExtractor>>();
/** A failed load is remembered this long before it is tried again. Without it every question
 * retried the load, and a loop of failing searches never yielded to I/O (it spun at 100% CPU). */
export const MODEL_RETRY_MS = 30_000;

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

export interface LocalEmbeddingsOptions {
  model: string;
  /** Folder holding `<model>/` for offline use; without it the model is downloaded once. */
  modelPath?: string;
  batchSize?: number;
  /** Batch texts of similar length together (less padding; ~25% faster on the seeds). */
  sortByLength?: boolean;
  logger?: Logger;
}

export class LocalEmbeddings extends Embeddings implements TextEmbedder {
  readonly modelId: string;
  private readonly options: LocalEmbeddingsOptions;
  private readonly queryPrefix: string;

  constructor(options: LocalEmbeddingsOptions) {
    super({});
    this.options = options;
    this.modelId = options.model;
    this.queryPrefix = /bge-.*zh/i.test(options.model) ? BGE_QUERY_PREFIX : '';
  }

  /** Loads the model now (it otherwise loads on first use); throws EmbeddingUnavailableError. */
  async load(): Promise<void> {
    await this.extractor();
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    const extract = await this.extractor();
    const batchSize = this.options.batchSize ?? 16;
    const order = texts.map((_, i) => i);
    if (this.options.sortByLength ?? true) order.sort((a, b) => texts[a].length - texts[b].length);
    const vectors: number[][] = new Array(texts.length);
    for (let i = 0; i < order.length; i += batchSize) {
      const batch = order.slice(i, i + batchSize);
      const output = await extract(batch.map((j) => texts[j]), { pooling: 'cls', normalize: true });
      output.tolist().forEach((vector, n) => (vectors[batch[n]] = vector));
    }
    return vectors;
  }

  async embedQuery(text: string): Promise<number[]> {
    const extract = await this.extractor();
    const output = await extract([this.queryPrefix + text], { pooling: 'cls', normalize: true });
    return output.tolist()[0];
  }

  private extractor(): Promise<FeatureExtractor> {
    const key = `${this.options.model}@${this.options.modelPath ?? 'hub'}`;
    let loading = pipelines.get(key);
    if (!loading) {
      loading = loadPipeline(this.options);
      pipelines.set(key, loading);
      // A later call may succeed (network back, files copied in), but not within MODEL_RETRY_MS.
      loading.catch(() => setTimeout(() => pipelines.delete(key), MODEL_RETRY_MS).unref());
    }
    return loading;
  }
}

/** The fix for a missing model, in one sentence operators and the test runner both print. */
export const MODEL_REMEDY = (model: string) =>
  `Offline? Copy the model's files (${MODEL_FILES.join(', ')}) into <folder>/${model}/ and set EMBEDDING_MODEL_PATH=<folder>; online, unset EMBEDDING_MODEL_PATH and it downloads into ${modelCacheDir()} (behind a proxy, set HTTPS_PROXY).`;

async function loadPipeline({ model, modelPath, logger }: LocalEmbeddingsOptions): Promise<FeatureExtractor> {
  const transformers = await import('@huggingface/transformers');
  const { env } = transformers;
  const source = locateModel(model, modelPath);
  if (source.kind === 'path' && !source.complete) {
    const missing = MODEL_FILES.map((file) => path.join(source.dir, model, file)).filter((file) => !existsSync(file));
    throw new EmbeddingUnavailableError(
      `EMBEDDING_MODEL_PATH=${source.dir} has no complete ${model} (missing ${missing.join(', ')}). ${MODEL_REMEDY(model)}`,
    );
  }
  // A complete copy loads with no network at all; otherwise download into the cache (which
  // transformers.js reads first, so a download cut short resumes with the files it lacks).
  env.allowLocalModels = source.kind !== 'download';
  env.allowRemoteModels = source.kind === 'download';
  env.localModelPath = source.dir.endsWith(path.sep) ? source.dir : source.dir + path.sep;
  env.cacheDir = modelCacheDir();
  // Node reports start and end for every file but byte progress only for some: show both.
  let lastReport = 0;
  const progress = (event: { status?: string; file?: string; progress?: number }) => {
    if (event.status === 'download') process.stderr.write(`Downloading ${model}/${event.file} …\n`);
    else if (event.status === 'done' && event.file) process.stderr.write(`Downloaded ${model}/${event.file}\n`);
    else if (event.status === 'progress' && Date.now() - lastReport > 1000) {
      lastReport = Date.now();
      process.stderr.write(`Downloading ${model}/${event.file}: ${Math.round(event.progress ?? 0)}%\n`);
    }
  };
  (env.backends.onnx as { logLevel?: string }).logLevel = 'error';
  try {
    // Two intra-op threads match the default on 2 cores and vary less between runs (measured).
    // Local files emit the same events: progress is only news when something is downloaded.
    const options = { dtype: 'q8', progress_callback: source.kind === 'download' ? progress : undefined, session_options: { intraOpNumThreads: 2, interOpNumThreads: 1 } };
    const extractor = await (transformers.pipeline as (...args: unknown[]) => Promise<unknown>)('feature-extraction', model, options);
    logger?.info(`Embedding model ${model} loaded from ${source.dir}`);
    return extractor as unknown as FeatureExtractor;
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    if (source.kind !== 'download') {
      const where = source.kind === 'path' ? `EMBEDDING_MODEL_PATH=${source.dir}` : `the model cache ${source.dir}`;
      throw new EmbeddingUnavailableError(`The embedding model in ${where} could not be loaded (${reason}). Check that ${model}/ there is complete. ${MODEL_REMEDY(model)}`);
    }
    throw new EmbeddingUnavailableError(`The embedding model ${model} could not be downloaded into ${source.dir} (${reason}). ${MODEL_REMEDY(model)}`);
  }
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
