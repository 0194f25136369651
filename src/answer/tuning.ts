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
  /** A summary's points: at most this many, this long; each figure or named thing (a quoted
   * name, a document, a body such as 区检察院; up to three of each) makes a sentence more of a
   * key point. On the 28 tune summaries, mean key facts held: 5 points of 70 characters and
   * figures only 65.5%; names 0.3 68.6%; 6 points of 55 characters 71.3%; 7 of 45 66.4%;
   * companies left out of names and anecdotes penalised 72.7% (name bonus 0.2: 71.8%). */
  maxSummaryClauseChars: 55,
  maxSummaryPoints: 6,
  summaryFigureBonus: 0.2,
  summaryNameBonus: 0.3,
};

export const LISTS = {
  /** At most this many articles in a list answer (LIST_MAX_ARTICLES). */
  maxArticles: 6,
  /** Passages retrieved for a list: a member can rank 20th (t025: 湖南's notice). */
  candidates: 30,
  /** A list naming a place keeps articles naming it scoring at least this share of the first. */
  minShareOfTop: 0.5,
  /** Otherwise an article joins when its relevance and its keyword coverage of the question, each
   * as a share of the best article's, average this much. On the 28 tune lists: 0.6 kept 71 of 79
   * members (relevance ≥ 0.5 and coverage ≥ 0.5 separately: 68) with 43 extra articles (38);
   * 0.5 kept 72 with 70 extra. */
  minMemberShare: 0.6,
  /** The LLM is shown up to this many articles for a list: every retrieved one above the
   * relevance bar, for the model to judge. */
  llmMaxArticles: 12,
};

/** Characters of article text sent to the LLM: about 16k tokens of Chinese, half of a 32k-token
 * context, leaving room for the prompt and the answer (LLM_CONTEXT_CHARS). */
export const DEFAULT_LLM_CONTEXT_CHARS = 24_000;
