/**
 * A small tmpfs of its own for tests of a full disk: mounted as root, filled to the last byte by a
 * filler file, unmounted afterwards. Where it cannot be mounted, `mountTmpfs` says why, for the skip.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';

/** Mounts a tmpfs of `size` (e.g. "8m") on `dir`; the reason it could not, or undefined. */
export function mountTmpfs(dir: string, size: string): string | undefined {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root, and this runs as a normal user';
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `mount -t tmpfs failed (${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}), e.g. in a container without CAP_SYS_ADMIN`;
  }
}

export function unmountTmpfs(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    // Something still holds it (a child not gone yet): detach it now, the kernel frees it when that ends.
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  }
}

/** Writes `dir/filler` until the disk says ENOSPC at every size, down to one byte: nothing is left. Returns its size. */
export function fillDisk(dir: string): number {
  const fd = openSync(path.join(dir, 'filler'), 'w');
  let total = 0;
  try {
    for (const size of [1 << 20, 1 << 16, 1 << 12, 1]) {
      const chunk = Buffer.alloc(size, 0x5a);
      for (;;) {
        try {
          total += writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return total;
}

/**
 * Fills the room left in the last page of `file` (line ends only, so a line-by-line reader skips them):
 * tmpfs lets a file grow into its own last page although the disk is full, so a few KB more of a log
 * could still be written and its first failed write would come later, or never. Returns the bytes added.
 */
export function fillSlack(file: string): number {
  const fd = openSync(file, 'a');
  const newline = Buffer.from('\n');
  let total = 0;
  try {
    for (;;) {
      try {
        total += writeSync(fd, newline);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        return total;
      }
    }
  } finally {
    closeSync(fd);
  }
}
