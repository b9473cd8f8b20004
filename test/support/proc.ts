import { readdirSync, readFileSync } from 'node:fs';

/** A process as /proc shows it: its parent, its name (`comm`) and its command line. */
export interface ProcessEntry {
  pid: number;
  ppid: number;
  name: string;
  cmd: string;
}

/** `/proc/<pid>/stat` read apart: the name sits in parentheses and may hold spaces, so it is matched greedily. */
function stat(pid: number): { name: string; state: string; ppid: number } | null {
  try {
    const m = /^\d+ \((.*)\) (\S) (\d+)/s.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return m ? { name: m[1]!, state: m[2]!, ppid: Number(m[3]) } : null;
  } catch {
    // Exited while we looked.
    return null;
  }
}

/** Every process descended from `pid`, found through /proc (children in process groups of their own included). */
export function descendants(pid: number): ProcessEntry[] {
  const children = new Map<number, Array<{ pid: number; name: string }>>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (s) children.set(s.ppid, [...(children.get(s.ppid) ?? []), { pid: Number(entry), name: s.name }]);
  }
  const found: ProcessEntry[] = [];
  const walk = (parent: number) => {
    for (const child of children.get(parent) ?? []) {
      let cmd = '';
      try {
        cmd = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      } catch {
        // Exited while we looked.
      }
      found.push({ pid: child.pid, ppid: parent, name: child.name, cmd });
      walk(child.pid);
    }
  };
  walk(pid);
  return found;
}

/** Whether `pid` runs: a zombie still answers kill(0), but its state in /proc says it has ended. */
export function alive(pid: number): boolean {
  const s = stat(pid);
  return s !== null && s.state !== 'Z';
}
