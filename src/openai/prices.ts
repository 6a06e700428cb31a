import type { Price } from '../config/schema.js';

/** USD per 1M tokens (OpenAI's public price list, standard tier). Override per model with openai.prices. */
export const DEFAULT_PRICES: Record<string, Price> = {
  'gpt-5': { input: 1.25, cachedInput: 0.125, output: 10 },
  'gpt-5-mini': { input: 0.25, cachedInput: 0.025, output: 2 },
  'gpt-5-nano': { input: 0.05, cachedInput: 0.005, output: 0.4 },
  'gpt-4.1': { input: 2, cachedInput: 0.5, output: 8 },
  'gpt-4.1-mini': { input: 0.4, cachedInput: 0.1, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, cachedInput: 0.025, output: 0.4 },
  'gpt-4o': { input: 2.5, cachedInput: 1.25, output: 10 },
  'gpt-4o-mini': { input: 0.15, cachedInput: 0.075, output: 0.6 },
};

export interface TokenUsage {
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  reasoningTokens: number;
}

/** The price for a model: exact name, else the longest known prefix (gpt-5-nano-2025-08-07 -> gpt-5-nano). */
export function priceFor(model: string, overrides: Record<string, Price> = {}): Price | undefined {
  const table = { ...DEFAULT_PRICES, ...overrides };
  if (table[model]) return table[model];
  const prefix = Object.keys(table)
    .filter((k) => model.startsWith(`${k}-`))
    .sort((a, b) => b.length - a.length)[0];
  return prefix ? table[prefix] : undefined;
}

/** Cost in USD; cached input tokens are billed at the cached rate, output includes reasoning tokens. */
export function costUsd(usage: TokenUsage, price: Price | undefined): number | null {
  if (!price) return null;
  const uncached = Math.max(0, usage.inputTokens - usage.cachedTokens);
  return (uncached * price.input + usage.cachedTokens * price.cachedInput + usage.outputTokens * price.output) / 1_000_000;
}

export function isReasoningModel(model: string): boolean {
  return /^(gpt-5|o\d)/.test(model);
}
