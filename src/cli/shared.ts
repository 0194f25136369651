// What the CLI entry points share: config, logger, embedder and a loaded index.
import { Answerer } from '../answer/answer.ts';
import { createChatModel } from '../answer/llm.ts';
import { loadConfig, type Config } from '../config.ts';
import { createEmbeddings, type TextEmbedder } from '../index/embeddings.ts';
import { IndexService } from '../index/service.ts';
import type { BuildProgress } from '../index/store.ts';
import { createLogger, type Logger } from '../log.ts';
import { Retriever } from '../retrieve/search.ts';

export interface Services {
  config: Config;
  logger: Logger;
  embedder: TextEmbedder;
  index: IndexService;
  retriever: Retriever;
  answerer: Answerer;
}

export async function createServices(config = loadConfig(), logger: Logger = createLogger(config.logLevel)): Promise<Services> {
  const embedder = await createEmbeddings(config, logger);
  const index = new IndexService(config, embedder, logger);
  const retriever = new Retriever(() => index.current(), embedder, logger);
  const llm = config.llm ? createChatModel(config.llm) : undefined;
  const answerer = new Answerer({ retriever, index: () => index.current(), embedder, llm, logger });
  return { config, logger, embedder, index, retriever, answerer };
}

/** Command-line tools log warnings only, unless LOG_LEVEL asks for more. */
export function cliLogger(config: Config): Logger {
  return createLogger(process.env.LOG_LEVEL ? config.logLevel : 'warn');
}

/** Progress for people on a terminal (a bar) and plain lines for logs and pipes. */
export async function progressReporter(stream: NodeJS.WriteStream = process.stderr): Promise<{ update: (p: BuildProgress) => void; stop: () => void }> {
  if (!stream.isTTY) {
    let lastLine = '';
    return {
      update: (p) => {
        const percent = p.total ? Math.floor((p.done / p.total) * 10) * 10 : 0;
        const line = `${p.phase} ${percent}%`;
        if (line !== lastLine) stream.write(`reindex: ${p.phase} ${p.done}/${p.total}\n`);
        lastLine = line;
      },
      stop: () => {},
    };
  }
  const { SingleBar, Presets } = (await import('cli-progress')).default;
  const bar = new SingleBar({ format: ' {phase} [{bar}] {value}/{total}', stream, hideCursor: true }, Presets.shades_classic);
  let started = false;
  return {
    update: (p) => {
      if (!started) bar.start(Math.max(p.total, 1), p.done, { phase: p.phase.padEnd(9) });
      started = true;
      bar.setTotal(Math.max(p.total, 1));
      bar.update(p.done, { phase: p.phase.padEnd(9) });
    },
    stop: () => started && bar.stop(),
  };
}
