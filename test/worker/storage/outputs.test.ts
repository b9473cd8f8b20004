import { describe, expect, it } from 'vitest';
import { PRESIGNED_URL_TTL_S } from '../../../schemas/processor.ts';
import { outputFile, outputFileKey, presignFolderFiles } from '../../../worker/storage/outputs.ts';
import { OUTPUT_INFO } from '../helpers.ts';

const ORIGIN = 'https://kiln.example';
const FILE = { type: 'file', location: { type: 'kiln', key: 'outputs/job_1/file_abc.mp4' } } as const;
const FOLDER = { type: 'folder', location: { type: 'kiln', key: 'outputs/job_1/file_def/' } } as const;
const S3_FOLDER = { type: 'folder', location: { type: 's3', connection_id: 'conn_1', bucket: 'media', key: 'hls/clip/' } } as const;

describe('output files', () => {
  it('are the output itself, or a named file inside a folder output', () => {
    expect(outputFileKey(FILE, 'ignored.m3u8')).toBe('outputs/job_1/file_abc.mp4');
    expect(outputFileKey(FOLDER, '720p/index.m3u8')).toBe('outputs/job_1/file_def/720p/index.m3u8');
  });

  it('keep the file id of a Kiln key and get a URL on this Worker or the public bucket domain', () => {
    const file = outputFile({ target: FILE, origin: ORIGIN, publicBase: undefined, info: OUTPUT_INFO, name: undefined });
    expect(file).toMatchObject({ object: 'file', id: 'file_abc', url: `${ORIGIN}/files/outputs/job_1/file_abc.mp4`, width: 1920 });
    const hls = outputFile({ target: FOLDER, origin: ORIGIN, publicBase: 'https://cdn.example/', info: OUTPUT_INFO, name: 'master.m3u8' });
    expect(hls).toMatchObject({ id: 'file_def', url: 'https://cdn.example/outputs/job_1/file_def/master.m3u8' });
  });

  it('are named by their s3:// URL in a connection bucket, with a new file id', () => {
    const file = outputFile({ target: S3_FOLDER, origin: ORIGIN, publicBase: undefined, info: OUTPUT_INFO, name: 'master.m3u8' });
    expect(file.url).toBe('s3://media/hls/clip/master.m3u8');
    expect(file.id).toMatch(/^file_[0-9a-z]{26}$/);
  });

  it('of a folder get one presigned PUT each, inside its prefix', async () => {
    const prefix = {
      endpoint: 'https://s3.example',
      region: 'auto',
      accessKeyId: 'k',
      secretAccessKey: 's',
      bucket: 'media',
      key: 'hls/clip/',
    };
    const urls = await presignFolderFiles(prefix, ['master.m3u8', '720p/seg_000.ts']);
    expect(Object.keys(urls)).toEqual(['master.m3u8', '720p/seg_000.ts']);
    expect(new URL(urls['720p/seg_000.ts']!).pathname).toBe('/media/hls/clip/720p/seg_000.ts');
    expect(new URL(urls['master.m3u8']!).searchParams.get('X-Amz-Expires')).toBe(String(PRESIGNED_URL_TTL_S));
  });
});
