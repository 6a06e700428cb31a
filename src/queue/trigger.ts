import { ENTITY_NAMES, type EntityName } from '../ipaas/entities.js';
/**
 * What started a job, as typed fields the code branches on. The sync log and the page show it as a
 * short label (`webhook:updated-debug`, `bulk-force`, …), which is also how the jobs table stores it;
 * the label is made and read only here.
 */
export type TriggerSource = 'manual' | 'webhook' | 'bulk' | 'batch' | 'retry' | 'demo';
export type WebhookEvent = 'created' | 'updated' | 'deleted';

export interface JobTrigger {
  source: TriggerSource;
  /** The iPaaS.com event of a webhook. */
  event?: WebhookEvent | undefined;
  /** Debug (a `/debug` scope or Debug on a manual sync): ahead in the queue, its steps logged at debug level (the request stays in the sync log). */
  debug?: boolean | undefined;
  /** Bulk `--force`: sent even when the mapped inputs did not change. */
  force?: boolean | undefined;
  /** A batch line that failed or expired, sent as a direct call instead. */
  fallback?: boolean | undefined;
  /** Sent at OpenAI's flex tier (sync --all --tier flex): Batch prices, slower answers. */
  flex?: boolean | undefined;
  /** The data model of the record (absent: customer). */
  entity?: EntityName | undefined;
}

export function triggerLabel(t: JobTrigger): string {
  return `${baseLabel(t)}${t.flex ? '+flex' : ''}${t.entity && t.entity !== 'customer' ? `@${t.entity}` : ''}`;
}

function baseLabel(t: JobTrigger): string {
  const debug = t.debug ? '-debug' : '';
  switch (t.source) {
    case 'webhook':
      return `webhook:${t.event ?? 'updated'}${debug}`;
    case 'bulk':
      return t.force ? 'bulk-force' : 'bulk';
    case 'batch':
      return t.fallback ? 'batch-fallback' : 'batch';
    default:
      return `${t.source}${debug}`;
  }
}

const SOURCES: readonly TriggerSource[] = ['manual', 'webhook', 'bulk', 'batch', 'retry', 'demo'];

/** The label back into fields (rows of the jobs table, of this or an earlier version). */
export function parseTrigger(label: string): JobTrigger {
  const at = label.lastIndexOf('@');
  const entity = at > 0 ? (ENTITY_NAMES as readonly string[]).find((e) => e === label.slice(at + 1)) : undefined;
  const text = entity ? label.slice(0, at) : label;
  const flex = text.endsWith('+flex');
  const t = parseBase(flex ? text.slice(0, -'+flex'.length) : text);
  return { ...t, ...(flex ? { flex } : {}), ...(entity && entity !== 'customer' ? { entity: entity as EntityName } : {}) };
}

function parseBase(label: string): JobTrigger {
  const debug = label.endsWith('-debug');
  const base = debug ? label.slice(0, -'-debug'.length) : label;
  if (base.startsWith('webhook:')) {
    const event = base.slice(8);
    return { source: 'webhook', event: event === 'created' || event === 'deleted' ? event : 'updated', debug };
  }
  if (base === 'bulk-force') return { source: 'bulk', force: true };
  if (base === 'batch-fallback') return { source: 'batch', fallback: true };
  const source = SOURCES.find((s) => s === base);
  return { source: source ?? 'manual', debug };
}

/** Webhooks and bulk runs skip records whose mapped inputs did not change; a person who asks for a sync gets one. */
export function skipsUnchanged(t: JobTrigger): boolean {
  return t.source === 'webhook' || t.source === 'batch' || (t.source === 'bulk' && !t.force);
}
