import { describe, expect, test } from 'vitest';
import { COMMANDS, OPTIONS, parseCli, UnknownOptionError, UsageError } from '../../cli/args.ts';
import { commandHelp, flagNames, unknownOptionMessage } from '../../cli/help.ts';

/** The message `kiln <argv>` prints for its unknown option. */
function unknownOption(argv: string[]): string {
  try {
    parseCli(argv);
  } catch (err) {
    if (err instanceof UnknownOptionError) return unknownOptionMessage(err);
    throw err;
  }
  throw new Error(`kiln ${argv.join(' ')} parsed`);
}

describe("each command's help", () => {
  test('lists the options of its job kind with what they accept, from the schemas, and only those', () => {
    const video = commandHelp('video');
    expect(video).toContain('  --format <mp4|webm|mov>\n      Container (default mp4).\n');
    expect(video).toContain('  --bitrate <n>\n      whole number 300,000 to 60,000,000\n');
    expect(video).toContain('  --mute, --no-audio\n      Drop the audio track.\n');
    // Options the CLI has no flag for (duration) and options Kiln refuses (layers) are left out.
    expect(video).not.toMatch(/--duration|--layers|--target_lufs/);
    const audio = commandHelp('audio');
    expect(audio).toContain('  --target_lufs <n>\n      number -70 to -5\n');
    expect(audio).toContain('  --normalize <lufs>\n');
    expect(audio).not.toMatch(/--width|--codec|--waveform/);
    const image = commandHelp('image');
    expect(image).toContain('  --format <jpeg|png|webp|avif|jpg>\n');
    expect(image).not.toMatch(/--fps|--codec/);
    expect(commandHelp('adaptive_video')).toMatch(/^kiln adaptive — an HLS ladder[\s\S]*--format <hls>\n/);
    expect(commandHelp('animation')).toContain('Frames per second (default 10; at most 50 for gif).');
  });

  test("a task of an encode kind takes that kind's options; the other commands list their own flags", () => {
    expect(commandHelp('task', 'audio')).toMatch(/^kiln task — [\s\S]*--target_lufs <n>/);
    expect(commandHelp('task')).toMatch(/kinds: probe, import, video, image, audio, animation, adaptive_video, export\n/);
    expect(commandHelp('jobs')).toContain('  --limit <n>\n      how many (default 10)\n');
    expect(commandHelp('connections')).toContain('  --secret-access-key, --secret_access_key <secret>\n');
  });

  test('--help wins over the rest of the line, so a half-written command still gets its help', () => {
    expect(parseCli(['task', '--help'])).toMatchObject({ command: 'task', help: true });
    expect(parseCli(['video', '-o', 'out.xyz', '--help'])).toMatchObject({ command: 'video', help: true });
  });
});

describe('an unknown option or command', () => {
  test("is matched against that command's own options", () => {
    expect(unknownOption(['image', '--qualty', 'high'])).toBe('Unknown option --qualty; did you mean --quality?');
    expect(unknownOption(['audio', '--target-lufs', '-14'])).toBe('Unknown option --target-lufs; did you mean --target_lufs?');
    // audio has no --width, so nothing is offered.
    expect(unknownOption(['audio', '--widht', '3'])).toBe('Unknown option --widht for kiln audio; see kiln audio --help');
    expect(unknownOption(['task', 'video', '--fsp', '3'])).toBe('Unknown option --fsp; did you mean --fps?');
    expect(unknownOption(['jobs', '--limt', '3'])).toBe('Unknown option --limt; did you mean --limit?');
    expect(unknownOption(['video', '--zzz'])).toBe('Unknown option --zzz for kiln video; see kiln video --help');
  });

  test("every flag the parser knows is some command's, and no command lists a flag the parser does not know", () => {
    const listed = new Set(Object.values(COMMANDS).flatMap((command) => flagNames(command)));
    // Refused on purpose (the answer says why), so never offered.
    const refused = ['waveform', 'waveform_points'];
    expect([...listed].filter((name) => !(name in OPTIONS))).toEqual([]);
    expect(Object.keys(OPTIONS).filter((name) => !listed.has(name) && !refused.includes(name))).toEqual([]);
  });

  test('a mistyped command gets the nearest command', () => {
    expect(() => parseCli(['vidoe', '-i', 'a.mov'])).toThrow(new UsageError('Unknown command "vidoe"; did you mean video?'));
  });
});
