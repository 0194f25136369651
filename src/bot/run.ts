// Placeholder until the Telegram bot lands (issue 5): say so instead of failing obscurely.
import { OperatorError } from '../errors.ts';

export async function runBot(_services: unknown): Promise<void> {
  throw new OperatorError('TELEGRAM_BOT_TOKEN is set, but this version has no Telegram bot yet. Unset it to use the terminal chat.');
}
