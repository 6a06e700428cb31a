import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Who holds a lease: `<role>@<host>:<pid>:<tag>` for every kind of holder (queue workers, batch
 * appliers), so restart recovery recognises any dead holder of this host by one rule.
 */
export function leaseOwner(role: 'worker' | 'batch', tag: string = randomUUID().slice(0, 8)): string {
  return `${role}@${hostname()}:${process.pid}:${tag.replace(/[^\w-]/g, '-')}`;
}

/** Host and pid of a lease owner named by leaseOwner(); undefined for anything else. */
export function parseLeaseOwner(owner: string): { role: string; host: string; pid: number } | undefined {
  const m = /^([\w-]+)@(.+):(\d+):[\w-]+$/.exec(owner);
  return m ? { role: m[1]!, host: m[2]!, pid: Number(m[3]) } : undefined;
}

/** A holder of this host whose process is gone: its leases can be taken back now, not at expiry. */
export function isDeadLocalOwner(owner: string): boolean {
  const o = parseLeaseOwner(owner);
  if (!o || o.host !== hostname() || o.pid === process.pid) return false;
  try {
    process.kill(o.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'EPERM';
  }
}
