import { describe, expect, test } from 'vitest';
import { COMMANDS, formatFromOutput, OPTIONS, parseCli, USAGE, UsageError } from '../../cli/args.ts';

describe('--format from the -o extension', () => {
  test.each([
    ['video', { 'a.mp4': 'mp4', 'a.m4v': 'mp4', 'a.MOV': 'mov', 'a.webm': 'webm' }],
    ['image', { 'a.jpg': 'jpeg', 'a.jpeg': 'jpeg', 'a.png': 'png', 'a.webp': 'webp', 'a.avif': 'avif' }],
    [
      'audio',
      {
        'a.mp3': 'mp3',
        'a.m4a': 'aac',
        'a.aac': 'aac',
        'a.ogg': 'ogg',
        'a.oga': 'ogg',
        'a.opus': 'opus',
        'a.wav': 'wav',
        'a.flac': 'flac',
      },
    ],
    ['animation', { 'a.gif': 'gif', 'a.webp': 'webp' }],
  ] as const)('knows every %s extension and alias', (kind, expected) => {
    for (const [output, format] of Object.entries(expected)) expect(formatFromOutput(kind, output), output).toBe(format);
  });

  test('says nothing for an extension of another kind or none at all', () => {
    expect(formatFromOutput('image', 'a.gif')).toBeUndefined();
    expect(formatFromOutput('video', 'out')).toBeUndefined();
  });

  test('an explicit --format wins over the extension', () => {
    expect(parseCli(['image', '-i', 'a.png', '-o', 'b.jpg', '--format', 'png']).options.format).toBe('png');
    expect(parseCli(['audio', '-i', 'a.wav', '-o', 'b.m4a']).options.format).toBe('aac');
  });
});

describe('audio loudness flags (Ittybit normalize-audio-levels guide)', () => {
  test('--normalize lufs --target_lufs -16 become the normalize and target_lufs options', () => {
    expect(parseCli(['audio', '-i', 'episode.wav', '-o', 'episode.mp3', '--normalize', 'lufs', '--target_lufs', '-16']).options).toEqual({
      format: 'mp3',
      normalize: 'lufs',
      target_lufs: -16,
    });
  });

  test('--waveform is passed on, so the answer says why Kiln refuses it rather than "unknown option"', () => {
    expect(parseCli(['audio', '-i', 'a.wav', '-o', 'a.mp3', '--waveform', 'json', '--waveform_points', '200']).options).toMatchObject({
      waveform: 'json',
      waveform_points: 200,
    });
  });
});

describe("Ittybit's flag spellings", () => {
  test('takes the kebab-case spelling and keeps the snake_case one as an alias', () => {
    for (const spelling of ['--webhook-url', '--webhook_url']) {
      expect(parseCli(['image', '-i', 'a.png', '-o', 'b.webp', spelling, 'https://example.com/hook']).webhookUrl).toBe(
        'https://example.com/hook',
      );
    }
    // biome-ignore format: kiln CLI arguments read as flag/value pairs
    const kebab = parseCli([
      'connections', 'add', 's3', '--name', 'my-r2', '--access-key-id', 'AKIA', '--secret-access-key', 's3cr3t',
      '--api-url', 'https://kiln.example.com', '--api-key', 'k',
    ]);
    expect(kebab).toMatchObject({ args: ['add', 's3'], apiUrl: 'https://kiln.example.com', apiKey: 'k' });
    expect(kebab.flags).toMatchObject({ name: 'my-r2', access_key_id: 'AKIA', secret_access_key: 's3cr3t' });
    expect(kebab.flags).not.toHaveProperty('access-key-id');
    const snake = parseCli(['jobs', '--api_url', 'https://kiln.example.com', '--api_key', 'k', '--access_key_id', 'AKIA']);
    expect(snake).toMatchObject({ apiUrl: 'https://kiln.example.com', apiKey: 'k', flags: { access_key_id: 'AKIA' } });
  });

  test('both spellings with different values are a usage error naming both', () => {
    expect(() => parseCli(['jobs', '--api-key', 'a', '--api_key', 'b'])).toThrow(
      new UsageError('--api-key and --api_key are the same flag; give it once'),
    );
  });

  test('--no-audio is the mute option and --frames a number', () => {
    expect(parseCli(['video', '-i', 'a.mov', '-o', 'b.mp4', '--no-audio', '--frames', '48']).options).toEqual({
      mute: true,
      frames: 48,
      format: 'mp4',
    });
    expect(() => parseCli(['video', '-i', 'a.mov', '--frames', 'many'])).toThrow(
      new UsageError('Expected a number for --frames but received "many"'),
    );
  });

  test('--json and --tty pick the output; together they are a usage error', () => {
    expect(parseCli(['probe', '-i', 'a.mov', '--json'])).toMatchObject({ mode: 'json', json: true });
    expect(parseCli(['probe', '-i', 'a.mov', '--tty'])).toMatchObject({ mode: 'tty', json: false });
    expect(parseCli(['probe', '-i', 'a.mov']).mode).toBeUndefined();
    expect(() => parseCli(['probe', '-i', 'a.mov', '--json', '--tty'])).toThrow(
      new UsageError('--json and --tty contradict each other; give one'),
    );
  });

  test('--debug, --connection and the jobs filters are parsed', () => {
    const video = parseCli([
      'video',
      '-i',
      's3://uploads/clip.mov',
      '-o',
      's3://processed/clip-hd.mp4',
      '--connection',
      'my-s3',
      '--debug',
    ]);
    expect(video).toMatchObject({ debug: true, connection: 'my-s3', options: {} });
    // biome-ignore format: kiln CLI arguments read as flag/value pairs
    const jobs = parseCli(['jobs', '--kind', 'video', '--status', 'succeeded', '--after', 'job_a', '--before', 'job_b', '--limit', '5']);
    expect(jobs.flags).toMatchObject({ kind: 'video', status: 'succeeded', after: 'job_a', before: 'job_b', limit: '5' });
    expect(parseCli(['jobs', 'create', '--body', '-'])).toMatchObject({ args: ['create'], flags: { body: '-' } });
  });
});

describe('kiln task <kind>', () => {
  test('takes the task kinds of POST /tasks, and encode flags for the encode kinds', () => {
    const task = parseCli(['task', 'video', '-i', '{"url":"https://example.com/a.mov"}', '-o', 'a.webm', '--width', '640']);
    expect(task).toMatchObject({ command: 'task', args: ['video'], options: { width: 640, format: 'webm' } });
    expect(parseCli(['task', 'probe', '-i', '{"url":"https://example.com/a.mov"}']).args).toEqual(['probe']);
  });

  test('an unknown or missing kind is a usage error listing the kinds', () => {
    const kinds = 'probe, import, video, image, audio, animation, adaptive_video, export';
    expect(() => parseCli(['task', 'thumbnails'])).toThrow(
      new UsageError(`Expected kiln task <kind> with a kind of ${kinds} but received "thumbnails"`),
    );
    expect(() => parseCli(['task'])).toThrow(new UsageError(`Expected kiln task <kind> with a kind of ${kinds} but received nothing`));
  });
});

describe('--help', () => {
  test('names every command and every flag', () => {
    for (const command of Object.keys(COMMANDS).filter((c) => c !== 'adaptive_video'))
      expect(USAGE).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    for (const flag of Object.keys(OPTIONS)) expect(USAGE, flag).toContain(`--${flag}`);
  });
});

describe('batch and multi-output arguments', () => {
  test('-i followed by more paths, or repeated, is a batch; a quoted glob is one too', () => {
    const cli = parseCli(['image', '-i', 'a.jpg', 'b.jpg', '-i', 'c.png', '-o', 'web', '--format', 'webp', '--concurrency', '3']);
    expect([cli.inputs, cli.batch, cli.output, cli.concurrency]).toEqual([['a.jpg', 'c.png', 'b.jpg'], true, 'web', 3]);
    expect(parseCli(['image', '-i', 'photos/*.jpg', '-o', 'web']).batch).toBe(true);
    expect(parseCli(['image', '-i', 'https://example.com/a?b=*', '-o', 'a.webp']).batch).toBe(false);
  });

  test("several -o for one input: each -o's extension gives its format unless --format is given", () => {
    expect(parseCli(['image', '-i', 'a.jpg', '-o', 'a.webp', '-o', 'a.avif']).outputFormats).toEqual(['webp', 'avif']);
    expect(parseCli(['image', '-i', 'a.jpg', '-o', 'a.webp', '-o', 'a.avif', '--format', 'png']).outputFormats).toEqual([
      undefined,
      undefined,
    ]);
  });

  test.each([
    [['image', '-i', 'a.jpg', 'b.jpg', '-o', 'x.webp', '-o', 'y.webp'], /^Several inputs write into one folder/],
    [['adaptive', '-i', 'a.mov', '-o', 'a', '-o', 'b'], /^kiln adaptive writes a folder: give one -o/],
    [['probe', '-i', 'a.jpg', '-i', 'b.jpg'], /^kiln probe takes one -i/],
    [['image', '-i', 'a.jpg', 'b.jpg', '--concurrency', '0'], /^Expected --concurrency to be a whole number from 1 to 64 but received "0"/],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseCli(argv)).toThrow(UsageError);
    expect(() => parseCli(argv)).toThrow(message);
  });
});
