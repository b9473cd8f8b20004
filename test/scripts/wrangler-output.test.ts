import { describe, expect, test } from 'vitest';
import { bindingsReprintFilter } from '../../scripts/wrangler-output.ts';

const TABLE = [
  'Your Worker has access to the following bindings:',
  'Binding                 Resource          Mode',
  'env.JOBS (JobObject)    Durable Object    local',
  '',
  'The following containers are available:',
  '- kiln-processorcontainer (/x/Dockerfile)',
  '',
];

function run(lines: string[]): string[] {
  const filter = bindingsReprintFilter();
  return [...lines.flatMap((l) => filter.line(l)), ...filter.flush()];
}

describe("wrangler dev's output (scripts/wrangler-output.ts)", () => {
  test('prints the bindings table once when the dev registry update repeats it', () => {
    const out = run([
      ...TABLE,
      '⎔ Starting local server...',
      '⎔ Connection status updated',
      ...TABLE,
      '[wrangler:info] Ready on http://127.0.0.1:8787',
    ]);
    expect(out).toEqual([...TABLE, '⎔ Starting local server...', '[wrangler:info] Ready on http://127.0.0.1:8787']);
  });

  test('keeps a reprint that differs, with the line announcing it, and every other line', () => {
    const changed = TABLE.map((l) => l.replace('local', 'local [connected]'));
    const out = run([...TABLE, '⎔ Connection status updated', ...changed, 'Error: something real']);
    expect(out).toEqual([...TABLE, '⎔ Connection status updated', ...changed, 'Error: something real']);
  });

  test('compares the text, not the colours, and prints a table nothing follows once wrangler is quiet', () => {
    const coloured = TABLE.map((l) => (l ? `\u001b[2m${l}\u001b[22m` : l));
    expect(run([...TABLE, '⎔ Connection status updated', ...coloured])).toEqual(TABLE);
    expect(run(TABLE)).toEqual(TABLE);
  });
});
