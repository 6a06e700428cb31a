import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli } from './helpers/cli.js';
import { startHarness, type Harness } from './helpers/harness.js';

describe('ipaas-openai demo (the README quick start)', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = mkdtempSync(path.join(tmpdir(), 'ipaas-openai-demo-'));
  });
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('runs on embedded defaults and shows CUST-10045 enriched, with the log and database paths', async () => {
    const r = await runCli(['demo'], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/built-in emulator at http:\/\/127\.0\.0\.1:\d+ \(no IPAAS_API_KEY set\)/);
    expect(r.stdout).toContain('✔ CUST-10045 synced');
    expect(r.stdout).toContain('✖ id 6 failed: Customer id 6 (Nora Numberless) has no CustomerNumber');
    expect(r.stdout).toContain('5 synced, 1 failed, 0 skipped');
    expect(r.stdout).toMatch(/CUST-10045 as iPaaS\.com now holds it[\s\S]*- Known to film: yes[\s\S]*Known To Film: true/);
    expect(r.stdout).toContain(`Database: ${path.join(cwd, 'data/ipaas-openai.db')}`);
    expect(existsSync(path.join(cwd, 'data/ipaas-openai.db'))).toBe(true);
    expect(existsSync(path.join(cwd, 'data/ipaas-openai.log'))).toBe(true);

    // The log command reads what the demo wrote.
    const logs = await runCli(['logs', 'CUST-10045'], { cwd });
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/#\d+ \S+ demo\s+CUST-10045 SYNCED \d+\/\d+ tok/);
    const detail = await runCli(['logs', '--attempt', '1'], { cwd });
    expect(detail.stdout).toContain('Request sent to OpenAI:');
    expect(detail.stdout).toContain('Fields written (before -> after):');
  });
});

describe('ipaas-openai against running emulators', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());
  const cli = (...args: string[]) => runCli(args, { cwd: h.dir, env: h.env });

  it('preview shows the exact request and an estimate, and sends or writes nothing', async () => {
    const r = await cli('preview', 'CUST-10045');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Preview for CUST-10045');
    expect(r.stdout).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/v1\/responses/);
    expect(r.stdout).toContain('"instructions": "Write a short, bulleted summary');
    expect(r.stdout).toMatch(/Estimated tokens: \d+ input \(o200k_base\)/);
    expect(r.stdout).toContain('Would first create custom fields: Known To Film, Last Response Date, Last Prompt Text, Last Response ID');
    expect(h.emulators.openai.emulator.counters.requests).toBe(0);
    expect(h.emulators.ipaas.emulator.counters.customerWrites).toBe(0);
    expect(h.emulators.ipaas.emulator.counters.byRoute['POST /customers/v2/CustomField'] ?? 0).toBe(0);
  });

  it('preview --json estimate matches the tokens the emulator then reports (within 5%)', async () => {
    const p = JSON.parse((await cli('preview', 'CUST-10046', '--json')).stdout) as { estimate: { inputTokens: number } };
    const s = await cli('sync', 'CUST-10046', '--json');
    const reported = (JSON.parse(s.stdout) as { results: Array<{ inputTokens: number }> }).results[0]!.inputTokens;
    expect(Math.abs(p.estimate.inputTokens - reported) / reported).toBeLessThan(0.05);
  });

  it('sync enriches customers and exits 0; a record without CustomerNumber exits 1 with the fix', async () => {
    const ok = await cli('sync', 'CUST-10045', 'CUST-10047');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/2 synced, 0 failed/);
    const nora = h.emulators.ipaas.emulator.listCustomers().find((c) => !c.customer_number)!;
    const bad = await cli('sync', '--id', String(nora.id));
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('has no CustomerNumber');
    expect(bad.stdout).toContain('Fix: Fill in the Customer Number');
  });

  it('sync --file takes a pasted list and refuses more than 3,000 ids', async () => {
    const file = path.join(h.dir, 'ids.txt');
    writeFileSync(file, 'CUST-10046,\nCUST-10048\n');
    const r = await cli('sync', '--file', file);
    expect(r.stdout).toMatch(/2 synced/);
    writeFileSync(file, Array.from({ length: 3001 }, (_, i) => `C-${i}`).join('\n'));
    const tooMany = await cli('sync', '--file', file);
    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr).toContain('3001 customers were given; a manual sync takes at most 3000.');
  });

  it('validate runs the seed checklist live and fails with fixes', async () => {
    const r = await cli('validate');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('✔ iPaaS.com API credentials are configured and valid.');
    expect(r.stdout).toMatch(/✖ CustomerNumber is populated for all records to be synced\.\n\s+1 of 6 customers lack a CustomerNumber: id 6 \(Nora Numberless\)/);
    expect(r.stdout).toContain('✔ OpenAI API credentials are configured and valid.');
    expect(r.stdout).toContain('✔ PromptText contains appropriate instructions for your use case.');
    expect(r.stdout).toMatch(/[✔!] Custom fields referenced in the prompt exist in iPaaS\./);
    expect(r.stdout).toMatch(/✖ Outbound webhooks are configured if automatic sync is required\.[\s\S]*missing scopes: customer\/created, customer\/updated/);
  });

  it('validate reports a bad OpenAI key without printing it', async () => {
    const r = await runCli(['validate', '--json'], { cwd: h.dir, env: { ...h.env, OPENAI_API_KEY: 'sk-bad-key-SECRET-9876' } });
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { results: Array<{ item: string; status: string; detail: string }> };
    expect(out.results.find((x) => x.item.startsWith('OpenAI'))).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^API request failed\. OpenAI answered status 401/) });
    expect(r.stdout + r.stderr).not.toContain('SECRET-9876');
  });

  it('sync --all prints the estimate, refuses to spend without --yes off a terminal, and backfills with --yes', async () => {
    const refused = await cli('sync', '--all');
    expect(refused.code).toBe(2);
    // Counted, not extrapolated: the first page holds all 6.
    // (Earlier tests here synced some of them: those are counted as unchanged.)
    const est = /Estimate for 6 customers: (\d) to send; (?:(\d) unchanged since their last sync \(no call; --force sends them\); )?1 without CustomerNumber will fail unsent \(all 6 looked at; tokens counted with o200k_base on (\d) real requests\):/.exec(refused.stdout);
    expect(est, refused.stdout).not.toBeNull();
    expect(Number(est![1]) + Number(est![2] ?? 0)).toBe(5);
    expect(est![3]).toBe(est![1]);
    expect(refused.stdout).toMatch(/cost with gpt-5-nano: direct \$[\d.]+ · flex \$[\d.]+ \(direct calls at Batch prices, slower\) · batch \$[\d.]+/);
    expect(refused.stderr).toContain('Fix: Add --yes to run without asking');
    const before = h.emulators.openai.emulator.counters.completions;
    const r = await cli('sync', '--all', '--yes', '--force');
    expect(r.stdout).toMatch(/Finished: 5 written, 0 skipped \(unchanged or filtered\), 1 failed of 6/);
    expect(r.stdout).toMatch(/Tokens: [\d,]+ in \(0% cached\) \/ [\d,]+ out · cost \$/);
    expect(r.code).toBe(1); // the customer without CustomerNumber failed, visibly
    expect(h.emulators.openai.emulator.counters.completions - before).toBe(5);

    // Run again: every customer with a number is unchanged, counted exactly: nothing to confirm, nothing paid.
    const again = await cli('sync', '--all');
    expect(again.stdout).toContain('Estimate for 6 customers: 0 to send; 5 unchanged since their last sync (no call; --force sends them); 1 without CustomerNumber will fail unsent');
    expect(again.stdout).toContain('Nothing to send to OpenAI');
    expect(again.stdout).toMatch(/Finished: 0 written, 5 skipped \(unchanged or filtered\), 1 failed of 6/);
    expect(h.emulators.openai.emulator.counters.completions - before).toBe(5);
  });

  it('sync --all --tier flex --json: every call at the flex tier, the summary names the tier and costs half of direct', async () => {
    const bodiesBefore = h.emulators.openai.emulator.requests().length;
    const r = await cli('sync', '--all', '--yes', '--force', '--tier', 'flex', '--json');
    expect(r.code).toBe(1); // the customer without CustomerNumber
    const [est, sum] = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, Record<string, unknown>>);
    expect(est!.estimate!.flexUsd).toBeCloseTo((est!.estimate!.directUsd as number) / 2, 12);
    expect(sum!.summary).toMatchObject({ mode: 'direct', tier: 'flex', finished: true, counts: expect.objectContaining({ written: 5, failed: 1 }) });
    const sent = h.emulators.openai.emulator.requests().slice(bodiesBefore).filter((q) => q.method === 'POST' && q.path.endsWith('/responses'));
    expect(sent).toHaveLength(5);
    expect(sent.every((q) => (q.body as Record<string, unknown>).service_tier === 'flex')).toBe(true);
    const bad = await cli('sync', '--all', '--yes', '--tier', 'flex', '--batch');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--batch and --tier flex exclude each other.');
  });

  it('a broken config file exits 2 with the key and a fix', async () => {
    writeFileSync(path.join(h.dir, 'broken.yaml'), 'openai:\n  api: soap\n');
    const r = await cli('sync', 'CUST-10045', '--config', 'broken.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: Invalid configuration in .*broken\.yaml:\n\s+openai\.api: Invalid option/);
    expect(r.stderr).toMatch(/Fix: /);
  });

  it('without keys, sync says how to configure them or try the demo', async () => {
    const r = await runCli(['sync', 'CUST-10045'], { cwd: h.dir, env: { IPAAS_OPENAI_DB: path.join(h.dir, 'x.db') } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: No iPaaS.com credentials configured.');
    expect(r.stderr).toContain('ipaas-openai demo');
  });
});

describe('ipaas-openai emulate', () => {
  it('runs both emulators standalone and stops on SIGTERM', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'ipaas-openai-emulate-'));
    const child = spawnCli(['emulate', 'all'], { cwd });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no exports printed: ${out}`)), 15_000);
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('OPENAI_BASE_URL=')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    const env = Object.fromEntries([...out.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
    const r = await runCli(['sync', 'CUST-10045'], { cwd, env: { ...env, IPAAS_OPENAI_DB: path.join(cwd, 's.db') } });
    expect(r.stdout).toMatch(/1 synced/);
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    rmSync(cwd, { recursive: true, force: true });
  });
});
