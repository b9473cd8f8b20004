import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../schemas/job.ts';
import { startReceiver } from '../e2e/support/receiver.ts';
import { API_KEY, startStack } from '../e2e/support/stack.ts';
import { fixture } from '../support/media.ts';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it): playwright-core drives it, no browser download. */
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
/** Set to write the README's screenshots into docs/screenshots/ (see docs/dashboard.md). */
const SCREENSHOTS = process.env.KILN_SCREENSHOTS === '1';
const SCREENSHOT_DIR = resolve(import.meta.dirname, '..', '..', 'docs', 'screenshots');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/**
 * Run in the page: every form control without an accessible name, and every piece of visible
 * text whose contrast with its background is below WCAG AA (4.5:1, 3:1 for large text; disabled
 * controls are exempt, as WCAG exempts inactive components).
 */
const A11Y_PROBLEMS = `(() => {
  const problems = [];
  for (const el of document.querySelectorAll('input, select, textarea, button')) {
    const named = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label') || (el.tagName === 'BUTTON' && el.textContent.trim());
    if (!named) problems.push('no label: ' + el.outerHTML.slice(0, 80));
  }
  const rgb = (s) => s.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length < 4 || c[3] === 1) return c;
    }
    return [255, 255, 255];
  };
  for (const el of document.querySelectorAll('body *')) {
    const text = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!text || el.closest('[disabled]') || el.closest('pre') === null && el.offsetParent === null) continue;
    const style = getComputedStyle(el);
    const fg = lum(rgb(style.color)), bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) problems.push(ratio.toFixed(2) + ':1 ' + el.outerHTML.slice(0, 80));
  }
  return problems;
})()`;

let stack: Awaited<ReturnType<typeof startStack>>;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let browser: Browser;
let page: Page;
/** Every CSP violation and page error, so a blocked script or style fails the test that caused it. */
const problems: string[] = [];

/** A screenshot shrunk to a palette PNG: small enough to commit. */
async function screenshot(p: Page, name: string) {
  if (!SCREENSHOTS) return;
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const png = await p.screenshot({ fullPage: false });
  await writeFile(
    join(SCREENSHOT_DIR, `${name}.png`),
    await sharp(png).png({ palette: true, quality: 80, compressionLevel: 9 }).toBuffer(),
  );
}

async function signIn(p: Page) {
  await p.goto(`${stack.base}/`);
  await p.getByLabel('API key').fill(API_KEY);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('heading', { name: 'Jobs' }).waitFor();
}

describe.skipIf(!haveChromium)(
  `the dashboard in Chromium${haveChromium ? '' : ` (skipped: no ${CHROMIUM}; apt-get install chromium)`}`,
  () => {
    beforeAll(async () => {
      stack = await startStack();
      receiver = await startReceiver();
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--autoplay-policy=no-user-gesture-required'] });
      page = await browser.newPage({ viewport: DESKTOP });
      page.on('console', (m) => {
        if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(e.message));
    });

    afterAll(async () => {
      await browser?.close();
      await receiver?.close();
      await stack?.close();
    });

    it('says what Kiln is, links the API reference, and refuses a wrong key in words', async () => {
      await page.goto(`${stack.base}/`);
      await expect(page.getByText('Kiln turns user uploads into web-ready media').isVisible()).resolves.toBe(true);
      expect(await page.getByRole('link', { name: 'API reference' }).getAttribute('href')).toBe('/docs/');
      await screenshot(page, 'sign-in-desktop');
      await page.getByLabel('API key').fill('not_a_key');
      await page.getByRole('button', { name: 'Sign in' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      expect(await alert.textContent()).toBe(
        'Kiln refused this key (unauthorized): The API key is not valid. Check for a typo or ask for a new key.',
      );
      // By keyboard: the field keeps focus, Enter submits.
      await page.getByLabel('API key').fill(API_KEY);
      await page.getByLabel('API key').press('Enter');
      await page.getByRole('heading', { name: 'Jobs' }).waitFor();
      expect(await page.evaluate("sessionStorage.getItem('kiln.api_key')")).toBe(API_KEY);
      expect(page.url()).not.toContain(API_KEY);
    });

    let jobs: Job[] = [];

    it('uploads a clip with its progress, runs the seed recipe and shows each job reach 100 %', async () => {
      await page.getByRole('link', { name: 'Upload', exact: true }).first().click();
      await page.getByLabel('Files to upload').setInputFiles(fixture('clip.mp4'));
      const upload = page.locator('[data-upload="clip.mp4"]');
      await upload.getByText('uploaded').waitFor();
      expect(await upload.getByRole('progressbar').getAttribute('value')).toBe('100');
      await page.getByLabel('Video: 1080p MP4 + WebP thumbnail at 2 s + 480p preview').check();
      await page.getByLabel('Metadata key 1').fill('user_id');
      await page.getByLabel('Metadata value 1').fill('usr_dash');
      await page.getByLabel('Webhook URL (optional)').fill(receiver.url());
      await screenshot(page, 'upload-desktop');
      await page.getByRole('button', { name: 'Create jobs' }).click();
      const created = page.locator('.created li a');
      await created.nth(2).waitFor();
      const ids = await created.allTextContents();
      expect(ids).toHaveLength(3);

      await page.getByRole('link', { name: 'Jobs', exact: true }).click();
      await page.getByLabel('Metadata').fill('user_id=usr_dash');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.locator(`tr[data-job="${ids[0]}"]`).waitFor();
      // Cumulative layout shift from here on, while the rows update in place.
      await page.evaluate(`window.kilnShift = 0; new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.kilnShift += entry.value;
      }).observe({ type: 'layout-shift' })`);
      for (const id of ids) {
        const row = page.locator(`tr[data-job="${id}"]`);
        await row.getByText('succeeded').waitFor({ timeout: 90_000 });
        expect(await row.getByRole('progressbar').getAttribute('value')).toBe('100');
        expect(await row.getByText('user_id: usr_dash').count()).toBe(1);
      }
      expect(await page.evaluate('window.kilnShift')).toBe(0);
      await screenshot(page, 'jobs-desktop');
      jobs = await Promise.all(ids.map(async (id) => (await stack.api<Job>(`/jobs/${id}`)).body));
    });

    it('plays the MP4 inline and shows the thumbnail', async () => {
      const mp4 = jobs.find((j) => j.kind === 'video' && j.options.width === 1920)!;
      await page.goto(`${stack.base}/#/jobs/${mp4.id}`);
      await page.getByRole('heading', { name: 'Output' }).waitFor();
      const canPlay = await page.locator('video').evaluate(
        (video: any) =>
          new Promise<boolean>((done) => {
            // HAVE_FUTURE_DATA: what `canplay` announces.
            if (video.readyState >= 3) done(true);
            video.addEventListener('canplay', () => done(true), { once: true });
            video.addEventListener('error', () => done(false), { once: true });
            video.load();
          }),
      );
      expect(canPlay).toBe(true);
      await screenshot(page, 'job-desktop');

      const thumbnail = jobs.find((j) => j.kind === 'image')!;
      await page.goto(`${stack.base}/#/jobs/${thumbnail.id}`);
      const img = page.locator('img.preview');
      await img.waitFor();
      await page.waitForFunction(() => (globalThis as any).document.querySelector('img.preview')?.complete === true);
      expect(await img.evaluate((el: any) => el.naturalWidth)).toBe(thumbnail.output!.width);
    });

    it('plays an HLS output (natively, or through hls.js where the browser cannot)', async () => {
      const { body } = await stack.api<Job>('/jobs', {
        method: 'POST',
        json: { input: jobs[0]!.input, kind: 'adaptive_video', options: { format: 'hls', quality: 'low' } },
      });
      const hls = await stack.waitForJob(body.id);
      expect(hls.status).toBe('succeeded');
      await page.goto(`${stack.base}/#/jobs/${hls.id}`);
      await page.getByRole('heading', { name: 'Output' }).waitFor();
      await page.waitForFunction(() => (globalThis as any).document.querySelector('video')?.readyState >= 3, undefined, {
        timeout: 30_000,
      });
      // hls.js feeds Media Source Extensions from a blob: URL; a browser with native HLS (Debian's
      // Chromium has it) is given the playlist itself.
      const played = await page
        .locator('video')
        .evaluate((v: any) => ({ src: v.currentSrc, native: v.canPlayType('application/vnd.apple.mpegurl') !== '' }));
      if (played.native) expect(played.src).toBe(hls.output!.url);
      else expect(played.src).toMatch(/^blob:/);
    });

    it("lists the webhook's delivery and redelivers it, showing the new attempt", async () => {
      const job = jobs[0]!;
      await page.goto(`${stack.base}/#/jobs/${job.id}`);
      const rows = page.locator('table.deliveries tbody tr');
      await rows.first().getByText('HTTP 200').waitFor({ timeout: 30_000 });
      const before = await rows.count();
      await page.getByRole('button', { name: 'Redeliver' }).click();
      await page.getByRole('status').getByText('Redelivery scheduled').waitFor();
      await page.locator('table.deliveries tbody tr', { hasText: 'redeliver' }).getByText('HTTP 200').waitFor({ timeout: 30_000 });
      expect(await rows.count()).toBe(before + 1);
      expect(receiver.received.filter((r) => JSON.parse(r.body).id === job.id).length).toBe(before + 1);
    });

    it('shows why a failed job failed, in the words and kind the API gives', async () => {
      const { body } = await stack.api<Job>('/jobs', { method: 'POST', json: { input: stack.mediaUrl('text.mp4'), kind: 'video' } });
      const failed = await stack.waitForJob(body.id);
      expect(failed.status).toBe('failed');
      await page.goto(`${stack.base}/#/jobs/${failed.id}`);
      await page.getByRole('heading', { name: 'Why it failed' }).waitFor();
      expect(await page.locator('.failure-message').textContent()).toBe(failed.error!.message);
      expect(await page.locator('.failure-kind').textContent()).toBe(failed.error!.kind);
      await screenshot(page, 'failed-job-desktop');
    });

    it("shows the input's probe, naming HDR: PQ for an HDR10 clip, SDR for the seed recipe's clip", async () => {
      /** The probe panel's rows, as the page shows them. */
      const facts = async (id: string) => {
        await page.goto(`${stack.base}/#/jobs/${id}`);
        await page.getByRole('heading', { name: 'Input' }).waitFor();
        return page
          .locator('h2:text-is("Input") + dl.facts')
          .evaluate((dl: any) =>
            Object.fromEntries([...dl.querySelectorAll('dt')].map((dt: any) => [dt.textContent, dt.nextElementSibling.textContent])),
          );
      };
      const { body } = await stack.api<Job>('/jobs', {
        method: 'POST',
        json: { input: stack.mediaUrl('hdr-pq.mp4'), kind: 'image', options: { width: 160, format: 'webp' } },
      });
      const hdr = await stack.waitForJob(body.id);
      expect(hdr.status).toBe('succeeded');
      expect(await facts(hdr.id)).toMatchObject({ Size: '320×180', Codecs: expect.stringMatching(/^hevc/), HDR: 'PQ (SMPTE ST 2084)' });
      expect(await facts(jobs[0]!.id)).toMatchObject({ Codecs: expect.stringMatching(/^h264/), HDR: 'no (SDR)' });
    });

    it('builds a job from the form generated from the option schemas, and shows the signing secret', async () => {
      await page.goto(`${stack.base}/#/upload`);
      await page.getByLabel('Files to upload').setInputFiles(fixture('clip.mp4'));
      await page.locator('[data-upload="clip.mp4"]').getByText('uploaded').waitFor();
      await page.getByLabel('One job from the options form').check();
      await page.getByLabel('Kind').selectOption('image');
      // The fields, ranges and choices come from ImageOptions: the schema the API validates with.
      expect(await page.getByLabel('format').locator('option').allTextContents()).toEqual(
        expect.arrayContaining(['default', 'webp', 'avif']),
      );
      await page.getByLabel('width').fill('200');
      await page.getByLabel('format').selectOption('webp');
      await page.getByRole('button', { name: 'Create jobs' }).click();
      const link = page.locator('.created li a');
      await link.waitFor();
      const { body } = await stack.api<Job>(`/jobs/${await link.textContent()}`);
      expect(body).toMatchObject({ kind: 'image', options: { width: 200, format: 'webp' } });

      await page.getByRole('link', { name: 'Webhooks' }).click();
      await page.getByRole('button', { name: 'Show' }).click();
      const { body: secret } = await stack.api<{ secret: string }>('/webhooks/secret');
      expect(await page.locator('.secret code').textContent()).toBe(secret.secret);
      expect(await page.locator('pre.code').textContent()).toContain("import { Webhook } from 'standardwebhooks';");
    });

    it('labels every control and keeps text at AA contrast on each screen', async () => {
      for (const hash of ['#/', `#/jobs/${jobs[0]!.id}`, '#/upload', '#/webhooks']) {
        await page.goto(`${stack.base}/${hash}`);
        await page.locator('main h1').waitFor();
        if (hash === '#/') await page.locator('table.jobs tbody tr').first().waitFor();
        if (hash === '#/upload') await page.getByLabel('One job from the options form').check();
        if (hash === '#/webhooks') await page.locator('.secret').waitFor();
        expect(await page.evaluate(A11Y_PROBLEMS), hash).toEqual([]);
      }
    });

    it('fits a phone screen: nothing wider than the viewport on the list and a job', async () => {
      const phone = await browser.newPage({ viewport: PHONE, isMobile: true, hasTouch: true });
      await signIn(phone);
      for (const hash of ['#/', `#/jobs/${jobs[0]!.id}`, '#/upload']) {
        await phone.goto(`${stack.base}/${hash}`);
        await phone.locator('main h1').waitFor();
        await phone.waitForLoadState('networkidle');
        expect(await phone.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
        await screenshot(phone, `${hash === '#/' ? 'jobs' : hash === '#/upload' ? 'upload' : 'job'}-phone`);
      }
      await phone.close();
    });

    it('renders the API reference at /docs/ from /openapi.json', async () => {
      await page.goto(`${stack.base}/docs/`);
      await page.locator('.swagger-ui .info .title').getByText('Kiln').waitFor();
      await page.locator('.opblock-summary-path', { hasText: '/jobs/{id}/deliveries/redeliver' }).first().waitFor();
    });

    it('ran without a CSP violation or a page error', () => {
      expect(problems).toEqual([]);
    });
  },
);
