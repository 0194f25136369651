// npm run reindex: brings the index up to date with CORPUS_DIR while a running bot keeps
// answering. Local (INDEX_DIR): a new build beside the live one, derived from it by writing only
// the pages whose content hash changed, swapped in atomically; --full builds it afresh.
// PostgreSQL (DATABASE_URL): only pages whose content hash changed are written, each in one
// transaction; --full writes every page again.
import { runMain } from '../errors.ts';
import { describeReindex } from '../index/backend.ts';
import { parseCommand, type CommandSpec, type OptionSpec } from './args.ts';
import { cliServices, progressReporter } from './shared.ts';

export const REINDEX_COMMAND = {
  usage: 'Usage: npm run reindex [-- --full]',
  about:
    'Updates the index from CORPUS_DIR while a running bot or chat keeps answering: only the pages added,\n' +
    'changed or removed since the last run are written. With INDEX_DIR (the default) the new build is made\n' +
    'beside the live one and swapped in atomically; with DATABASE_URL each page is written in one transaction.',
  options: {
    full: { type: 'boolean', description: 'every page again: INDEX_DIR builds every structure afresh (unchanged chunks keep their vectors); DATABASE_URL writes and embeds every page' },
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
