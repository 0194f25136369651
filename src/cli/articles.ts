// npm run articles [-- --json]: the corpus as segmented, for people (a table) or scripts (JSON).
import { isPageNotice } from '../corpus/read.ts';
import { loadConfig } from '../config.ts';
import { loadCorpus } from '../corpus/index.ts';
import type { Article } from '../corpus/types.ts';
import { explainFolderError, runMain } from '../errors.ts';
import { parseCommand, type CommandSpec, type OptionSpec } from './args.ts';

/** Display width in a terminal: CJK and full-width characters take two columns. */
function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1;
  return width;
}

function fit(text: string, width: number): string {
  if (displayWidth(text) < width) return text + ' '.repeat(width - displayWidth(text));
  let out = '';
  for (const ch of text) {
    if (displayWidth(out + ch) > width - 2) break;
    out += ch;
  }
  out += '…';
  return out + ' '.repeat(Math.max(1, width - displayWidth(out)));
}

export function articlesAsJson(articles: Article[]) {
  return articles.map((a) => ({
    id: a.id,
    file: a.file,
    headline: a.headline,
    kicker: a.kicker ?? null,
    byline: a.byline ?? null,
    dateline: a.dateline ?? null,
    summary: a.summary ?? null,
    kind: a.kind,
    text: a.text,
    paragraphs: a.paragraphs,
    start: a.start,
    end: a.end,
  }));
}

export const ARTICLES_COMMAND = {
  usage: 'Usage: npm run articles [-- --json]',
  about: 'The pages in CORPUS_DIR split into articles: a table for people, or the JSON array for scripts.',
  options: {
    json: { type: 'boolean', description: 'print the articles as a JSON array (text, paragraphs, offsets)' },
  },
} satisfies CommandSpec<Record<string, OptionSpec>>;

await runMain(async () => {
  const args = parseCommand(ARTICLES_COMMAND);
  if (!args) return;
  const config = loadConfig();
  const { articles, warnings, pages } = await loadCorpus(config.corpusDir, { maxPageBytes: config.maxPageBytes }).catch((error: unknown) => {
    throw explainFolderError(error, { CORPUS_DIR: { dir: config.corpusDir, need: 'read' } });
  });
  for (const w of warnings) process.stderr.write(`warning: ${isPageNotice(w) ? '' : 'skipped '}${w.file}: ${w.reason}\n`);
  if (args.values.json) {
    process.stdout.write(`${JSON.stringify(articlesAsJson(articles), null, 2)}\n`);
    return;
  }
  const numberInPage = new Map<string, number>();
  process.stdout.write(`${fit('file', 26)}${fit('#', 4)}${fit('kind', 9)}${fit('headline', 62)}chars\n`);
  for (const a of articles) {
    const n = (numberInPage.get(a.file) ?? 0) + 1;
    numberInPage.set(a.file, n);
    process.stdout.write(`${fit(a.file, 26)}${fit(String(n), 4)}${fit(a.kind, 9)}${fit(a.headline, 62)}${a.text.length}\n`);
  }
  process.stdout.write(`\n${articles.length} articles from ${pages.length} pages in ${config.corpusDir}\n`);
});
