// npm run reindex: brings the index up to date with CORPUS_DIR while a running bot keeps
// answering. Local (INDEX_DIR): a new build beside the live one, swapped in atomically.
// PostgreSQL (DATABASE_URL): only pages whose content hash changed are written, each in one
// transaction; --full writes every page again.
import { runMain } from '../errors.ts';
import { describeReindex } from '../index/backend.ts';
import { parseCommand, type CommandSpec, type OptionSpec } from './args.ts';
import { cliServices, progressReporter } from './shared.ts';

export const REINDEX_COMMAND = {
  usage: 'Usage: npm run reindex [-- --full]',
  about:
    'Updates the index from CORPUS_DIR while a running bot or chat keeps answering. With INDEX_DIR (the default)\n' +
    'it builds beside the live index, reusing the vectors of unchanged chunks, and swaps it in atomically.\n' +
    'With DATABASE_URL it writes only the pages added, changed or removed since the last run.',
  options: {
    full: { type: 'boolean', description: 'with DATABASE_URL, write (and embed) every page again' },
  },
} satisfies CommandSpec<Record<string, OptionSpec>>;

await runMain(async () => {
  const args = parseCommand(REINDEX_COMMAND);
  if (!args) return;
  const services = await cliServices();
  const progress = await progressReporter();
  try {
    const summary = await services.index.reindex(progress.update, { full: args.values.full ?? false });
    progress.stop();
    process.stdout.write(`${describeReindex(summary)}\n`);
    if (summary.denseNotice) process.stdout.write(`Warning: ${summary.denseNotice}\n`);
  } finally {
    progress.stop();
    await services.close();
  }
});
