// What the LLM is shown: whole articles (they are short, 140–2,100 characters), most relevant
// first, with headline, page file and dateline, within a character budget. A summary gets its
// whole article; a list gets every relevant article; an article that does not fit whole
// contributes its best passage instead.
import type { Article } from '../corpus/types.ts';
import type { Passage } from '../retrieve/search.ts';
import type { CitablePassage } from './cite.ts';
import type { QuestionFrame } from './question.ts';

export interface ContextSource extends CitablePassage {
  /** The header line shown above the text: headline, page file, dateline. */
  header: string;
}

export function buildContext(frame: QuestionFrame, articles: Article[], passages: Passage[], budgetChars: number): ContextSource[] {
  const sources: ContextSource[] = [];
  let used = 0;
  const chosen = frame.kind === 'summary' ? articles.slice(0, 1) : articles;
  for (const article of chosen) {
    const whole = [article.summary ? `阅读提示：${article.summary}` : '', article.text].filter(Boolean).join('\n');
    const passage = passages.find((p) => p.articleId === article.id)?.text ?? '';
    // The first source always goes in, cut to the budget if it must be.
    const text = used + whole.length <= budgetChars ? whole : sources.length === 0 ? whole.slice(0, budgetChars) : passage;
    if (!text || used + text.length > budgetChars) continue;
    used += text.length;
    const header = `标题：${article.kicker ? `${article.kicker} ` : ''}${article.headline}（版面文件：${article.file}${article.dateline ? `；${article.dateline}` : ''}）`;
    sources.push({ articleId: article.id, headline: article.headline, file: article.file, text, header });
  }
  return sources;
}
