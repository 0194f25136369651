// Real services over a private copy of the seeds: index built once per test file.
import { Answerer } from '../../src/answer/answer.ts';
import { createChatModel } from '../../src/answer/llm.ts';
import type { Config } from '../../src/config.ts';
import { createEmbeddings, type TextEmbedder } from '../../src/index/embeddings.ts';
import { IndexService } from '../../src/index/service.ts';
import { Retriever } from '../../src/retrieve/search.ts';
import { testConfig } from './config.ts';
import { seedCorpus } from './corpus.ts';

export interface TestServices {
  root: string;
  config: Config;
  embedder: TextEmbedder;
  index: IndexService;
  retriever: Retriever;
  answerer(llm?: { baseUrl: string; timeoutMs?: number; maxRetries?: number }): Answerer;
}

export async function seedServices(extraPages: Record<string, string> = {}, env: Record<string, string> = {}): Promise<TestServices> {
  const { root, env: corpusEnv } = seedCorpus(extraPages);
  const config = testConfig({ ...corpusEnv, ...env });
  const embedder = await createEmbeddings(config);
  const index = new IndexService(config, embedder);
  await index.loadOrBuild();
  const retriever = new Retriever(() => index.view(), embedder);
  return {
    root,
    config,
    embedder,
    index,
    retriever,
    answerer: (llm) =>
      new Answerer({
        retriever,
        views: () => index.view(),
        embedder,
        llm: llm ? createChatModel({ baseUrl: llm.baseUrl, apiKey: 'test-key', model: 'fake-model', timeoutMs: llm.timeoutMs ?? 5000, maxRetries: llm.maxRetries ?? 1 }) : undefined,
      }),
  };
}
