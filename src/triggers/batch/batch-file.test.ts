import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BatchFileWriter } from './batch-file.js';

describe('BatchFileWriter', () => {
  it('rolls over at the line and byte limits, even when lines arrive concurrently', async () => {
    const w = new BatchFileWriter({ maxLinesPerFile: 3, maxFileBytes: 40 });
    const lines = Array.from({ length: 8 }, (_, i) => ({ customId: `job-${i}`, jobId: i, json: JSON.stringify({ custom_id: `job-${i}`, x: 'y' }) }));
    await Promise.all(lines.map((l) => w.add(l)));
    const files = await w.finish();
    // Each line is 31 bytes + newline: one per 40-byte file.
    expect(files.map((f) => f.lines)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(files.flatMap((f) => f.jobIds).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(readFileSync(files[0]!.path, 'utf8')).toBe(`${lines[0]!.json}\n`);
    await w.cleanup();

    const big = new BatchFileWriter({ maxLinesPerFile: 3, maxFileBytes: 10_000 });
    await Promise.all(lines.map((l) => big.add(l)));
    expect((await big.finish()).map((f) => f.lines)).toEqual([3, 3, 2]);
    await big.cleanup();
    await expect(new BatchFileWriter({ maxLinesPerFile: 3, maxFileBytes: 10 }).add(lines[0]!)).rejects.toThrow(/more than a whole batch file may hold/);
  });
});
