import { stripVTControlCharacters } from 'node:util';

/**
 * Drops the second copy of wrangler's bindings table from `wrangler dev`'s output. wrangler prints
 * the table at start, then again whenever its dev registry (the machine-wide list of local
 * Workers, ~/.config/.wrangler/registry) changes, which happens as soon as this very Worker
 * registers: the same table twice, after "⎔ Connection status updated". A reprint that differs
 * from the first table (another local Worker it binds to came or went) is kept, with the line
 * that announced it, and so is every other line.
 *
 * @example
 * const filter = bindingsReprintFilter();
 * for (const line of lines) for (const out of filter.line(line)) console.log(out);
 * for (const out of filter.flush()) console.log(out);
 */
export function bindingsReprintFilter() {
  let first: string | null = null;
  let block: string[] | null = null;
  let announced: string | null = null;
  const plain = (lines: string[]) => lines.map((l) => stripVTControlCharacters(l).trimEnd()).join('\n');
  const isTitle = (text: string) => text.endsWith('has access to the following bindings:');
  const inBlock = (text: string) =>
    text === '' || isTitle(text) || /^(Binding\s|env\.|\s|- |The following containers are available:)/.test(text);

  /** The table read so far, and the line announcing it, unless it repeats the first table word for word. */
  function endBlock(): string[] {
    const read = block ?? [];
    const repeat = announced !== null && first !== null && plain(read) === first;
    first ??= plain(read);
    const out = repeat ? [] : [...(announced === null ? [] : [announced]), ...read];
    block = null;
    announced = null;
    return out;
  }

  return {
    /** The lines to print now for `line`: none while a table is being read. */
    line(line: string): string[] {
      const text = stripVTControlCharacters(line).trimEnd();
      if (block) {
        if (inBlock(text)) {
          block.push(line);
          return [];
        }
        return [...endBlock(), ...this.line(line)];
      }
      if (isTitle(text)) {
        block = [line];
        return [];
      }
      const held = announced === null ? [] : [announced];
      announced = null;
      if (text === '⎔ Connection status updated') {
        announced = line;
        return held;
      }
      return [...held, line];
    },
    /** Whatever is held back, for when wrangler has been quiet for a moment. */
    flush(): string[] {
      if (block) return endBlock();
      const held = announced === null ? [] : [announced];
      announced = null;
      return held;
    },
  };
}
