// npm run feedback [-- --json]: the votes on answers (👍 👎 in Telegram), from the state store
// (INDEX_DIR/feedback.jsonl, or PostgreSQL with DATABASE_URL): JSON lines for scripts, so that
// 👎 questions can join the evaluation set, or a short summary.
import { loadConfig } from '../config.ts';
import { runMain } from '../errors.ts';
import { parseCommand, type CommandSpec, type OptionSpec } from './args.ts';
import { votesAsJsonLines, votesSummary } from './feedback-export.ts';
import { cliServices } from './shared.ts';

export const FEEDBACK_COMMAND = {
  usage: 'Usage: npm run feedback [-- --json]',
  about:
    'Votes on answers (the 👍 👎 buttons in Telegram): a summary with the latest 👎, or every vote as one JSON line ' +
    '(time, vote, question, answer, citations, mode, chatType, hashed ids), oldest first: npm run -s feedback -- --json > votes.jsonl',
  options: {
    json: { type: 'boolean', description: 'print every vote as one JSON line' },
  },
} satisfies CommandSpec<Record<string, OptionSpec>>;

await runMain(async () => {
  const args = parseCommand(FEEDBACK_COMMAND);
  if (!args) return;
  const services = await cliServices(loadConfig());
  try {
    const votes = await services.stateStore.feedback.all();
    process.stdout.write(args.values.json ? votesAsJsonLines(votes) : votesSummary(votes));
  } finally {
    await services.close();
  }
});
