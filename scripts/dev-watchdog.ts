import { createInterface } from 'node:readline';
import { type StackMember, stopInOrder } from './dev-stack.ts';

/**
 * The dev stack's watchdog (started by ./dev-stack.ts, outside the stack's process group): reads
 * the stack's children from stdin, one JSON line each, and when stdin closes (the stack's script
 * has exited, however it died) stops whichever of them are still running. After a clean stop
 * there is nothing left to stop.
 */
const members: StackMember[] = [];
// Signals meant for the stack (a terminal's hang-up) must not stop the one process that cleans up after it.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => {});
createInterface({ input: process.stdin })
  .on('line', (line) => members.push(JSON.parse(line) as StackMember))
  .on('close', () => void stopInOrder(members).then(() => process.exit(0)));
