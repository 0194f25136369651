// npm start: the Telegram bot when TELEGRAM_BOT_TOKEN is set, a terminal chat otherwise.
import { loadConfig } from './config.ts';
import { loadCorpus } from './corpus/index.ts';
import { runMain } from './errors.ts';

await runMain(async () => {
  const config = loadConfig();
  const corpus = await loadCorpus(config.corpusDir, { maxPageBytes: config.maxPageBytes });
  for (const w of corpus.warnings) process.stderr.write(`warning: skipped ${w.file}: ${w.reason}\n`);
  process.stdout.write(
    `新闻问答（终端模式）：已读取 ${corpus.pages.length} 个版面、${corpus.articles.length} 篇文章。\n` +
      '未设置 TELEGRAM_BOT_TOKEN，所以在终端中运行。问答功能将在建立索引后开放；现在可用 npm run articles 查看文章列表。\n',
  );
});
