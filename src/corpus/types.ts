/** A newspaper page as read from CORPUS_DIR: one file, decoded to text. */
export interface Page {
  file: string; // path relative to the corpus directory, with forward slashes
  text: string;
  encoding: string; // 'utf-8' | 'gb18030'
  bytes: number;
}

export type ArticleKind = 'news' | 'feature' | 'photo';

export interface Paragraph {
  text: string;
  /** Character offsets [start, end) of the paragraph's source lines in Page.text. */
  start: number;
  end: number;
  /** A subhead inside a long feature (printed like a short headline). */
  subhead?: boolean;
}

export interface Article {
  id: string;
  file: string;
  headline: string;
  kicker?: string;
  /** Reporters' names, e.g. "记者裴龙翔" or "本报记者 庞慧敏 本报通讯员 蒋少萱". */
  byline?: string;
  /** e.g. "本报天津1月20日电". */
  dateline?: string;
  /** The 阅读提示 box printed next to the article, if any. */
  summary?: string;
  kind: ArticleKind;
  paragraphs: Paragraph[];
  /** Paragraph texts joined with "\n". */
  text: string;
  /** Offsets [start, end) of the article's body in Page.text. */
  start: number;
  end: number;
}

/** A problem with one page: reported, never fatal for the rest of the corpus. */
export interface PageWarning {
  file: string;
  reason: string;
}
