// What the CLI entry points share: services from the composition root (src/app.ts), loaded.
import { createServices, type Services } from '../app.ts';
import { loadConfig, type Config } from '../config.ts';
import { OperatorError } from '../errors.ts';
import { IndexService } from '../index/service.ts';
import type { BuildProgress } from '../index/store.ts';
import { createLogger, type Logger } from '../log.ts';

export { createServices, type Services } from '../app.ts';

/** Command-line tools log warnings only, unless LOG_LEVEL asks for more. */
export function cliLogger(config: Config): Logger {
  return createLogger(process.env.LOG_LEVEL ? config.logLevel : 'warn');
}

/** A command-line tool's services: like createServices, with warnings-only logs unless LOG_LEVEL is set. */
export function cliServices(config: Config = loadConfig()): Promise<Services> {
  return createServices(config, cliLogger(config));
}

/** cliServices with the index loaded, or built first when it is missing or stale (with a
 * progress display if asked). */
export async function loadedServices(config: Config = loadConfig(), options: { progress?: boolean } = {}): Promise<Services> {
  const services = await cliServices(config);
  const progress = options.progress ? await progressReporter() : undefined;
  try {
    await services.index.loadOrBuild(progress?.update);
  } finally {
    progress?.stop();
  }
  return services;
}

/** The local index, for tools that read its build directly (the retrieval tables, the load
 * test); with DATABASE_URL they say how to run them. */
export function localIndex(services: Services, tool: string): IndexService {
  if (services.index instanceof IndexService) return services.index;
  throw new OperatorError(`${tool} reads the local index in INDEX_DIR: run it without DATABASE_URL (e.g. DATABASE_URL= ${tool}).`);
}

/** Progress for people on a terminal (a bar) and plain lines for logs and pipes. */
export async function progressReporter(stream: NodeJS.WriteStream = process.stderr): Promise<{ update: (p: BuildProgress) => void; stop: () => void }> {
  const label: Record<BuildProgress['phase'], string> = {
    reading: 'reading and splitting pages',
    embedding: 'embedding chunks',
    indexing: 'building the vector and keyword indexes',
    saving: 'saving',
    done: 'done',
  };
  if (!stream.isTTY) {
    let last = '';
    return {
      update: (p) => {
        // Embedding is the long phase: its count every ~10%; other phases once.
        const step = p.phase === 'embedding' && p.total ? `${p.done}/${p.total}` : '';
        const line = p.phase === 'embedding' ? `${label[p.phase]} ${Math.floor((p.done / Math.max(p.total, 1)) * 10)}` : label[p.phase];
        if (line !== last) stream.write(`reindex: ${label[p.phase]}${step ? ` ${step}` : ''}\n`);
        last = line;
      },
      stop: () => {},
    };
  }
  const { SingleBar, Presets } = (await import('cli-progress')).default;
  const bar = new SingleBar({ format: ' {phase} [{bar}] {value}/{total}', stream, hideCursor: true }, Presets.shades_classic);
  let started = false;
  return {
    update: (p) => {
      if (!started) bar.start(Math.max(p.total, 1), p.done, { phase: label[p.phase] });
      started = true;
      bar.setTotal(Math.max(p.total, 1));
      bar.update(p.done, { phase: label[p.phase] });
    },
    stop: () => started && bar.stop(),
  };
}
