import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { API_DOC_PATH, renderApiDoc } from '../../scripts/api-docs.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces as hyphens. */
function anchors(markdown: string): Set<string> {
  return new Set(
    [...markdown.matchAll(/^#+ (.+)$/gm)].map(([, title]) =>
      title!
        .toLowerCase()
        .replace(/[^a-z0-9 _-]/g, '')
        .replaceAll(' ', '-'),
    ),
  );
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && /\.(ts|md)$/.test(e.name)).map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

describe('docs/api.md', () => {
  test('matches the schemas it is generated from (run `npm run docs` after changing them)', async () => {
    const doc = await readFile(API_DOC_PATH, 'utf8');
    expect(renderApiDoc(doc)).toBe(doc);
  });

  test('refuses a marker for an unknown section and a section without a marker', () => {
    expect(() => renderApiDoc('<!-- generated:nothing -->\n<!-- /generated:nothing -->')).toThrow(
      'docs/api.md has a marker for an unknown section: nothing',
    );
    expect(() => renderApiDoc('no markers')).toThrow(/^docs\/api\.md lacks markers for: job-create, error-kinds, cli-usage, options-video/);
  });

  test('has every section that the docs and the code cite', async () => {
    const api = anchors(await readFile(API_DOC_PATH, 'utf8'));
    const behaviour = anchors(await readFile(join(ROOT, 'docs', 'behaviour.md'), 'utf8'));
    const missing: string[] = [];
    for (const dir of ['schemas', 'worker', 'container', 'cli', 'common', 'scripts', 'docs', 'test']) {
      for (const file of await sourceFiles(dir)) {
        const text = await readFile(join(ROOT, file), 'utf8');
        // `api.md#‹anchor›` or `behaviour.md#‹anchor›` anywhere; a bare `#‹anchor›` link stays in its page.
        for (const [, doc = file.replace('docs/', ''), anchor] of text.matchAll(/(?:(api\.md|behaviour\.md)|\]\()#([a-z0-9_-]+)/g)) {
          const known = { 'api.md': api, 'behaviour.md': behaviour }[doc];
          if (known && !known.has(anchor!)) missing.push(`${file}: ${doc}#${anchor}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});
