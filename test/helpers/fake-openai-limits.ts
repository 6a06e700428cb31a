/**
 * OpenAI's side of rate limits, for tests of limiters: one RPM/TPM pair of continuously refilling
 * buckets (capacity = limit, refill limit/min) that every client shares, counting the 429s it sends.
 * Tokens are counted at admission at the estimate; the unused part is given back when the call ends.
 * `headersAt` says which view of the buckets the x-ratelimit-* headers give: OpenAI's is the one at
 * admission, this repo's emulator the one at the answer.
 */
export interface FakeClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export class FakeOpenAILimits {
  private req: number;
  private tok: number;
  private at: number;
  count429 = 0;
  admitted = 0;
  /** Admission times, for checks over sliding windows. */
  readonly admissions: number[] = [];

  constructor(
    private readonly clock: FakeClock,
    readonly rpm: number,
    readonly tpm: number,
    private readonly headersAt: 'admission' | 'response',
  ) {
    this.req = rpm;
    this.tok = tpm;
    this.at = clock.now();
  }

  private refill(): void {
    const t = this.clock.now();
    const dt = Math.max(0, t - this.at);
    this.at = Math.max(this.at, t);
    this.req = Math.min(this.rpm, this.req + (dt * this.rpm) / 60_000);
    this.tok = Math.min(this.tpm, this.tok + (dt * this.tpm) / 60_000);
  }

  headers(): Headers {
    this.refill();
    const ms = (missing: number, limit: number) => `${Math.ceil((missing * 60_000) / limit)}ms`;
    const h = new Headers();
    h.set('x-ratelimit-limit-requests', String(this.rpm));
    h.set('x-ratelimit-limit-tokens', String(this.tpm));
    h.set('x-ratelimit-remaining-requests', String(Math.max(0, Math.floor(this.req))));
    h.set('x-ratelimit-remaining-tokens', String(Math.max(0, Math.floor(this.tok))));
    h.set('x-ratelimit-reset-requests', ms(this.rpm - this.req, this.rpm));
    h.set('x-ratelimit-reset-tokens', ms(this.tpm - this.tok, this.tpm));
    return h;
  }

  /** One call: 429 (with retry-after-ms) if either bucket lacks room, else admitted, answered after `latencyMs`. */
  async call(estimate: number, used: number, latencyMs: number, retryAfterMs = 1000): Promise<{ status: number; headers: Headers }> {
    this.refill();
    if (this.req < 1 || this.tok < estimate) {
      this.count429++;
      const h = this.headers();
      h.set('retry-after-ms', String(retryAfterMs));
      return { status: 429, headers: h };
    }
    this.req -= 1;
    this.tok -= estimate;
    this.admitted++;
    this.admissions.push(this.clock.now());
    const early = this.headersAt === 'admission' ? this.headers() : undefined;
    await this.clock.sleep(latencyMs);
    this.refill();
    this.tok = Math.min(this.tpm, this.tok + (estimate - used));
    return { status: 200, headers: early ?? this.headers() };
  }
}
