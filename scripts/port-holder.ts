import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Whether something listens on `port`, and what: "pid 1234 (node …/wrangler dev)" when the
 * process can be found, through /proc on Linux or `lsof` elsewhere, else "another process".
 * Null when the port is free.
 *
 * @example
 * await portHolder(8787, '127.0.0.1'); // 'pid 4242 (node node_modules/wrangler/bin/wrangler.js dev)' or null
 */
export async function portHolder(port: number, host: string): Promise<string | null> {
  const free = await new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
  if (free) return null;
  const pid = listenerFromProc(port) ?? listenerFromLsof(port);
  if (pid === null) return 'another process (its pid could not be found)';
  return `pid ${pid} (${commandLine(pid)})`;
}

/** The socket inodes listening on `port` in /proc/net/tcp{,6}, then the process holding one. */
function listenerFromProc(port: number): number | null {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // Column 2 is local address:port in hex, column 4 the state (0A is LISTEN), column 10 the inode.
      if (cols[3] === '0A' && Number.parseInt(cols[1]?.split(':')[1] ?? '', 16) === port && cols[9]) inodes.add(cols[9]);
    }
  }
  if (inodes.size === 0) return null;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      // Another user's process, or one that has just exited.
      continue;
    }
    for (const fd of fds) {
      try {
        const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        if (inode && inodes.has(inode)) return Number(pid);
      } catch {
        // The descriptor closed while we looked.
      }
    }
  }
  return null;
}

function listenerFromLsof(port: number): number | null {
  try {
    const out = execFileSync('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN', '-t'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const pid = Number(out.split('\n')[0]);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function commandLine(pid: number): string {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    if (cmd) return cmd;
  } catch {
    // Not Linux, or not ours to read.
  }
  try {
    return (
      execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() ||
      'unknown command'
    );
  } catch {
    return 'unknown command';
  }
}
