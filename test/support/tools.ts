/**
 * The command-line tools the media tests run: ffmpeg and ffprobe (the processor and the fixture
 * generator), heif-enc (the HEIC fixture) and heif-convert (the processor's HEIC decoder).
 * `tools-setup.ts` checks them before any fixture is generated, so a missing one is reported
 * once, by name, instead of as a failed ffmpeg call deep inside a test.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export const REQUIRED_TOOLS = ['ffmpeg', 'ffprobe', 'heif-enc', 'heif-convert'] as const;

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The tools that no directory of `path` (a PATH-style list) holds as an executable file.
 *
 * @example
 * missingTools(['ffmpeg'], '/usr/bin:/bin') // [] when /usr/bin/ffmpeg exists
 */
export function missingTools(tools: readonly string[], path = process.env.PATH ?? ''): string[] {
  const dirs = path.split(delimiter).filter(Boolean);
  return tools.filter((tool) => !dirs.some((dir) => isExecutable(join(dir, tool))));
}

/** What to tell someone whose machine lacks `missing`: what is needed and how to install it. */
export function missingToolsMessage(missing: readonly string[]): string {
  return [
    `Kiln's media tests need ${REQUIRED_TOOLS.join(', ')} on PATH; missing: ${missing.join(', ')}.`,
    'Install them, then run the tests again:',
    '  Debian/Ubuntu: sudo apt-get install ffmpeg libheif-examples',
    '  macOS:         brew install ffmpeg libheif',
  ].join('\n');
}
