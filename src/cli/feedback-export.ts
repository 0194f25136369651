// What npm run feedback prints: every vote as one JSON line (the evaluation set grows from the
// 👎), or a short summary for people. Kept apart from the entry point so tests can call it.
import type { FeedbackVote } from '../state/port.ts';

/** One vote as exported: the time as ISO 8601, the rest as stored (ids are hashes already). */
export function voteAsJson(vote: FeedbackVote) {
  return {
    time: new Date(vote.time).toISOString(),
    vote: vote.vote,
    question: vote.question,
    answer: vote.answer,
    citations: vote.citations,
    mode: vote.mode,
    refused: vote.refused,
    chatType: vote.chatType,
    chatHash: vote.chatHash,
    userHash: vote.userHash,
    answerId: vote.answerId,
    ...(vote.timings ? { timings: vote.timings } : {}),
  };
}

/** JSON lines, oldest first, each ending in a newline ('' for no votes). */
export function votesAsJsonLines(votes: FeedbackVote[]): string {
  return votes.map((v) => `${JSON.stringify(voteAsJson(v))}\n`).join('');
}

const oneLine = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
};

/** For people: the counts, then the latest 👎 (newest first) with time and question. */
export function votesSummary(votes: FeedbackVote[], latest = 10): string {
  if (!votes.length) return 'No votes yet: answers get 👍 and 👎 buttons in Telegram.\n';
  const up = votes.filter((v) => v.vote === 'up').length;
  const downs = votes.filter((v) => v.vote === 'down');
  const lines = [`Votes: 👍 ${up} · 👎 ${downs.length} (on ${new Set(votes.map((v) => v.answerId)).size} answers)`];
  if (downs.length) {
    lines.push('', `Latest 👎 (${Math.min(latest, downs.length)} of ${downs.length}):`);
    for (const v of downs.slice(-latest).reverse()) {
      lines.push(`  ${new Date(v.time).toISOString().slice(0, 16).replace('T', ' ')}  ${v.refused ? '[refused] ' : ''}${oneLine(v.question, 60) || '(question not recorded)'}`);
    }
  }
  lines.push('', 'All votes as JSON lines: npm run -s feedback -- --json');
  return `${lines.join('\n')}\n`;
}
