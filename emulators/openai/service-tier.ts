/**
 * Which service tier a synchronous completion is served with, as its response body says. OpenAI:
 * "the response body will include the service_tier value based on the processing mode actually used"
 * and fast/priority "will show service_tier=priority" (spec ServiceTier). The emulator serves flex as
 * flex and priority/fast as priority; [decided] everything else (absent, auto, default, and the scale /
 * ultrafast tiers it has no capacity for) as default. Batch lines are not served here: they keep
 * answering 'default' as before.
 */
export type ServedTier = 'default' | 'flex' | 'priority';

export function servedTier(requested: string | null): ServedTier {
  if (requested === 'flex') return 'flex';
  if (requested === 'priority' || requested === 'fast') return 'priority';
  return 'default';
}
