// npm run reindex: builds INDEX_DIR from CORPUS_DIR beside the live index, then swaps it in.
import { runMain } from '../errors.ts';
import { buildIndex } from '../index/store.ts';
import { parseCommand, type CommandSpec, type OptionSpec } from './args.ts';
import { cliServices, progressReporter } from './shared.ts';

export const REINDEX_COMMAND = {
  usage: 'Usage: npm run reindex',
  about:
    'Builds the index of CORPUS_DIR in INDEX_DIR beside the live one (reusing the vectors of unchanged chunks),\n' +
    'then swaps it in atomically; a running bot or chat picks it up by itself.',
  options: {},
} satisfies CommandSpec<Record<string, OptionSpec>>;

await runMain(async () => {
  if (!parseCommand(REINDEX_COMMAND)) return;
  const { config, embedder, logger } = await cliServices();
  const progress = await progressReporter();
  let summary;
  try {
    summary = await buildIndex({ config, embedder, logger, onProgress: progress.update });
  } finally {
    progress.stop();
  }
  const { counts } = summary.manifest;
  process.stdout.write(
    `Indexed ${counts.pages} pages, ${counts.articles} articles, ${counts.chunks} chunks in ${summary.seconds.toFixed(1)} s ` +
      `(${counts.reusedVectors} vectors reused from the previous build, ${summary.manifest.warnings.length} pages skipped).\n` +
      `Index: ${summary.dir}\n`,
  );
  if (summary.denseNotice) process.stdout.write(`Warning: ${summary.denseNotice}\n`);
});
