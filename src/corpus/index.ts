import { readPages, type ReadOptions } from './read.ts';
import { segmentPage } from './segment.ts';
import type { Article, Page, PageWarning } from './types.ts';

export interface Corpus {
  pages: Page[];
  articles: Article[];
  warnings: PageWarning[];
}

/** Reads and segments every page under `dir`. A page that fails to segment becomes a warning. */
export async function loadCorpus(dir: string, options: ReadOptions): Promise<Corpus> {
  const { pages, warnings } = await readPages(dir, options);
  const articles: Article[] = [];
  for (const page of pages) {
    try {
      const found = segmentPage(page);
      if (found.length === 0) warnings.push({ file: page.file, reason: 'has no recognisable article' });
      articles.push(...found);
    } catch (error) {
      warnings.push({ file: page.file, reason: `could not be split into articles (${(error as Error).message})` });
    }
  }
  return { pages, articles, warnings };
}

export type { Article, Page, PageWarning } from './types.ts';
