import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { cleanupWorkDirs, workDir } from '../support/inspect.ts';
import { missingTools, missingToolsMessage, REQUIRED_TOOLS } from '../support/tools.ts';

afterAll(cleanupWorkDirs);

describe('the media tests check their tools up front', () => {
  test('names every required tool that no PATH directory holds as an executable', async () => {
    const bin = await workDir();
    await writeFile(join(bin, 'ffmpeg'), '#!/bin/sh\n');
    await chmod(join(bin, 'ffmpeg'), 0o755);
    await writeFile(join(bin, 'ffprobe'), 'not executable');
    await mkdir(join(bin, 'heif-enc'));
    expect(missingTools(REQUIRED_TOOLS, [bin, join(bin, 'nowhere')].join(delimiter))).toEqual(['ffprobe', 'heif-enc', 'heif-convert']);
    expect(missingTools(REQUIRED_TOOLS, '')).toEqual([...REQUIRED_TOOLS]);
  });

  test('says what is missing and how to install it', () => {
    expect(missingToolsMessage(['heif-enc', 'heif-convert'])).toBe(
      "Kiln's media tests need ffmpeg, ffprobe, heif-enc, heif-convert on PATH; missing: heif-enc, heif-convert.\n" +
        'Install them, then run the tests again:\n' +
        '  Debian/Ubuntu: sudo apt-get install ffmpeg libheif-examples\n' +
        '  macOS:         brew install ffmpeg libheif',
    );
  });
});
