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
      loading.catch(() => pipelines.delete(key)); // a later call may succeed (e.g. network back)
    }
    return loading;
  }
}

async function loadPipeline({ model, modelPath, logger }: LocalEmbeddingsOptions): Promise<FeatureExtractor> {
  const transformers = await import('@huggingface/transformers');
  const { env } = transformers;
  if (modelPath) {
    const weights = path.join(modelPath, model, 'onnx', 'model_quantized.onnx');
    if (!existsSync(weights)) {
      throw new EmbeddingUnavailableError(
        `EMBEDDING_MODEL_PATH=${modelPath} has no ${model} (looked for ${weights}). Point EMBEDDING_MODEL_PATH at the folder that holds ${model}/ (for example ../shared/models), or unset it to download the model on a machine with internet.`,
      );
    }
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = modelPath.endsWith(path.sep) ? modelPath : modelPath + path.sep;
  } else {
    // Downloaded once into the user's cache, which survives `npm ci` (node_modules does not).
    env.allowRemoteModels = true;
    env.cacheDir = path.join(os.homedir(), '.cache', 'news-qa-bot', 'models');
  }
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
    const options = { dtype: 'q8', progress_callback: modelPath ? undefined : progress, session_options: { intraOpNumThreads: 2, interOpNumThreads: 1 } };
    const extractor = await (transformers.pipeline as (...args: unknown[]) => Promise<unknown>)('feature-extraction', model, options);
    logger?.info(`Embedding model ${model} loaded from ${modelPath ?? env.cacheDir}`);
    return extractor as unknown as FeatureExtractor;
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    if (modelPath) {
      throw new EmbeddingUnavailableError(`The embedding model in EMBEDDING_MODEL_PATH=${modelPath} could not be loaded (${reason}). Check that ${model}/ there is complete, or unset EMBEDDING_MODEL_PATH to download it.`);
    }
    throw new EmbeddingUnavailableError(
      `The embedding model ${model} could not be downloaded (${reason}). Offline? Set EMBEDDING_MODEL_PATH to a folder that holds ${model}/ (for example ../shared/models).`,
    );
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
