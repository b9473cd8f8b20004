import { missingTools, missingToolsMessage, REQUIRED_TOOLS } from './tools.ts';

/**
 * Vitest globalSetup, listed before the media setup: stops the whole run at once when a tool the
 * media tests need is not installed. It prints the message and exits instead of throwing, because
 * vitest would report a thrown error once per project, wrapped in a stack that only points here.
 */
export function setup(): void {
  const missing = missingTools(REQUIRED_TOOLS);
  if (missing.length === 0) return;
  console.error(`\n${missingToolsMessage(missing)}\n`);
  process.exit(1);
}
