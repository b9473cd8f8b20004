import { readFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { API_DOC_PATH, renderApiDoc } from '../../scripts/api-docs.ts';

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

  test('cites only sections it has', async () => {
    const doc = await readFile(API_DOC_PATH, 'utf8');
    const anchors = new Set([...doc.matchAll(/^#+ (.+)$/gm)].map(([, title]) => title!.toLowerCase().replace(/[^a-z0-9 _-]/g, '').replaceAll(' ', '-')));
    const cited = [...doc.matchAll(/\]\(#([^)]+)\)/g)].map(([, anchor]) => anchor);
    expect(cited.filter((anchor) => !anchors.has(anchor!))).toEqual([]);
  });
});
