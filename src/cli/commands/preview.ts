import { ipaasFromConfig } from '../../app/connector.js';
import { previewRecord } from '../../pipeline/preview.js';
import { resolveConfig, usd, type CommandIO, type CommonOptions } from '../io.js';

export interface PreviewOptions extends CommonOptions {
  id: string;
  byId?: boolean;
}

/** `ipaas-openai preview <CustomerNumber>`: the exact request, estimated tokens and cost; nothing sent, nothing written. */
export async function previewCommand(options: PreviewOptions, io: CommandIO): Promise<number> {
  const loaded = resolveConfig(io, options);
  const ipaas = ipaasFromConfig(loaded);
  const p = await previewRecord(loaded.config, ipaas, { entity: options.entity, ...(options.byId ? { id: options.id } : { customerNumber: options.id }) }).finally(() => ipaas.close());
  if (options.json) {
    io.out(JSON.stringify(p, null, 2));
    return 0;
  }
  io.out(`Preview for ${p.customerNumber} (iPaaS.com id ${p.customerId}): nothing is sent to OpenAI, nothing is written.`);
  if (p.skippedBecause) io.out(`A sync would skip this record without calling OpenAI: ${p.skippedBecause} The request below is what it would send otherwise.`);
  io.out(`POST ${p.endpoint}  (model ${p.model}, ${p.api} API)`);
  io.out(JSON.stringify(p.request, null, 2));
  io.out(`Estimated tokens: ${p.estimate.inputTokens} input (o200k_base) + ~${p.estimate.outputTokens} output · estimated cost ${usd(p.estimate.costUsd)}`);
  io.out(`Would write: ${p.targets.join(', ')}`);
  if (p.wouldCreateCustomFields.length) io.out(`Would first create custom fields: ${p.wouldCreateCustomFields.join(', ')}`);
  return 0;
}
