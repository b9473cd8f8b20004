import { describe, expect, test } from 'vitest';
import { planResize } from '../../../container/resize/index.ts';

const hd = { width: 1920, height: 1080 };

describe('planResize', () => {
  test('keeps the size when nothing is asked', () => {
    expect(planResize(hd, {}, { even: true }).plan).toEqual({ mode: 'scale', width: 1920, height: 1080 });
  });

  test('one dimension keeps the aspect ratio', () => {
    expect(planResize(hd, { width: 640 }, { even: true }).plan).toEqual({ mode: 'scale', width: 640, height: 360 });
    expect(planResize(hd, { height: 720 }, { even: true }).plan).toEqual({ mode: 'scale', width: 1280, height: 720 });
  });

  test('percentages are of the source size', () => {
    expect(planResize(hd, { width: '50%' }, { even: true }).plan).toEqual({ mode: 'scale', width: 960, height: 540 });
  });

  test('never upscales with one dimension, and says so', () => {
    const { plan, notes } = planResize({ width: 640, height: 360 }, { width: 1920 }, { even: true });
    expect(plan).toEqual({ mode: 'scale', width: 640, height: 360 });
    expect(notes[0]).toMatch(/not upscaled/);
  });

  test('both dimensions without fit shrink to fit inside the box', () => {
    expect(planResize(hd, { width: 640, height: 640 }, { even: true }).plan).toEqual({ mode: 'scale', width: 640, height: 360 });
  });

  test('video sizes are rounded down to even numbers', () => {
    expect(planResize({ width: 321, height: 241 }, {}, { even: true }).plan).toEqual({ mode: 'scale', width: 320, height: 240 });
    expect(planResize({ width: 321, height: 241 }, {}, { even: false }).plan).toEqual({ mode: 'scale', width: 321, height: 241 });
  });

  test('contain pads to the exact box at the chosen position', () => {
    expect(planResize(hd, { width: 640, height: 640, fit: 'contain' }, { even: true }).plan).toEqual({
      mode: 'contain',
      width: 640,
      height: 640,
      innerWidth: 640,
      innerHeight: 360,
      x: 0,
      y: 140,
    });
    const top = planResize(hd, { width: 640, height: 640, fit: 'contain', position: 'top' }, { even: true }).plan;
    expect(top).toMatchObject({ x: 0, y: 0 });
  });

  test('cover crops to the exact box at the chosen position', () => {
    expect(planResize(hd, { width: 640, height: 640, fit: 'cover', position: 'right' }, { even: true }).plan).toEqual({
      mode: 'cover',
      width: 640,
      height: 640,
      scaledWidth: 1138,
      scaledHeight: 640,
      x: 498,
      y: 0,
    });
  });

  test('fit with both dimensions may upscale', () => {
    expect(planResize({ width: 320, height: 180 }, { width: 1280, height: 720, fit: 'fill' }, { even: true }).plan).toEqual({
      mode: 'fill',
      width: 1280,
      height: 720,
    });
  });
});
