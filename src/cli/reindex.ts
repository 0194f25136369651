// npm run reindex: builds INDEX_DIR from CORPUS_DIR beside the live index, then swaps it in.
import { runMain } from '../errors.ts';
import { buildIndex } from '../index/store.ts';
import { createServices, progressReporter } from './shared.ts';

await runMain(async () => {
  const { config, embedder, logger } = await createServices();
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
