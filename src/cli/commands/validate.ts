import { IpaasClient } from '../../ipaas/ipaas-client.js';
import { createOpenAIClient } from '../../openai/openai-client.js';
import { createRedactor } from '../../shared/redact.js';
import { validateSetup, type CheckResult } from '../../checks/validate.js';
import { resolveConfig, type CommandIO, type CommonOptions } from '../io.js';

const MARK = { pass: '✔', warn: '!', fail: '✖' } as const;

export function describeCheck(c: CheckResult): string {
  return `${MARK[c.status]} ${c.item}\n    ${c.detail}${c.fix && c.status !== 'pass' ? `\n    Fix: ${c.fix}` : ''}`;
}

function attempt<T>(make: () => T): T | Error {
  try {
    return make();
  } catch (err) {
    return err as Error;
  }
}

/** `ipaas-openai validate`: the seed's checklist, live. Exit code 1 when an item fails. */
export async function validateCommand(options: CommonOptions, io: CommandIO): Promise<number> {
  const loaded = resolveConfig(io, options);
  const redact = createRedactor(loaded.secrets);
  const ipaas = attempt(() => new IpaasClient({ ...loaded.config.ipaas, redact }));
  const openai = attempt(() => createOpenAIClient(loaded.config.openai));
  const results = await validateSetup({ config: loaded.config, ipaas, openai, redact }, options.entity).finally(() =>
    ipaas instanceof Error ? undefined : ipaas.close(),
  );
  const failed = results.filter((r) => r.status === 'fail').length;
  if (options.json) io.out(JSON.stringify({ ok: failed === 0, results }, null, 2));
  else {
    for (const r of results) io.out(describeCheck(r));
    io.out(failed ? `${failed} of ${results.length} checks failed.` : `All ${results.length} checks passed.`);
  }
  // Without a credential the checklist could not run: that is exit 2 (fix the setup), not a failed check.
  const missing = [ipaas, openai].filter((c): c is Error => c instanceof Error);
  if (missing.length) {
    if (!options.json) io.err(`error: validate could not run every check: ${missing.map((e) => e.message).join(' ')}`);
    return 2;
  }
  return failed ? 1 : 0;
}
