// Tuned constants of the answer stage, each with where its value came from. Tuned on the "tune"
// half of test/fixtures/questions.json only (npm run eval -- --answers --split tune); the
// "holdout" half is reported untouched.
export const EXTRACTIVE = {
  /** A sentence pointing back ("同样…", "该…") reads badly as the first line. */
  pointsBackPenalty: 0.1,
  /** Sentences of lower-ranked articles need to beat the first article's by this much. */
  articleRankPenalty: 0.12,
  /** The lead is searched among sentences scoring at least this share of the best one. */
  leadMinShare: 0.6,
  /** …and, in the first article only, much further down for a name next to an award word, a
   * speaker, or the second ask of a question. */
  wideSearchShare: 0.1,
  /** A question about a number prefers sentences stating one (+0.15 measured before, kept). */
  numberBonus: 0.15,
  /** The clauses around a value must cover this much of the question to count as its answer;
   * in a sentence scoring near the best one, less (a paraphrase shares few words). */
  valueWindowMinCoverage: 0.2,
  valueWindowMinCoverageNearTop: 0.05,
  nearTopShare: 0.9,
  /** A headline competes with the sentences, a little behind them. */
  headlinePenalty: 0.05,
  /** Supporting sentences must score this close to the best one. */
  secondLineShare: 0.8,
  /** Added to a value window's coverage when it names the thing counted, or the plan asked for;
   * and when it names the place the question names. */
  countedBonus: 0.3,
  placeBonus: 0.2,
  /** Characters: a detail answer's line, the context line of a "not reported" answer, a list
   * line, a summary line and a whole summary (issue: "at most 300 characters in all"). */
  maxDetailChars: 110,
  maxContextChars: 90,
  maxListLineChars: 70,
  maxSummaryLineChars: 80,
  maxSummaryChars: 300,
  /** A summary's points: at most this many, this long; each figure (up to three) or a quoted
   * name makes a sentence more of a key point. */
  maxSummaryClauseChars: 70,
  maxSummaryPoints: 5,
  summaryFigureBonus: 0.2,
  summaryNameBonus: 0.2,
};

export const LISTS = {
  /** At most this many articles in a list answer (LIST_MAX_ARTICLES). */
  maxArticles: 6,
  /** An article joins a list when its relevance is at least this share of the first one's, and
   * its keyword coverage of the question this share of the best article's. */
  minShareOfTop: 0.5,
  minCoverageShare: 0.5,
};

/** Characters of article text sent to the LLM: about 16k tokens of Chinese, half of a 32k-token
 * context, leaving room for the prompt and the answer (LLM_CONTEXT_CHARS). */
export const DEFAULT_LLM_CONTEXT_CHARS = 24_000;
