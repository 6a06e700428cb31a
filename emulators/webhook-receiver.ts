/**
 * A webhook receiver for tests of both emulators' outbound webhooks: records every delivery with its
 * raw body (signatures are computed over the exact bytes) and answers with the status a test chooses.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook<T = unknown> {
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  body: T;
  at: number;
}

export interface WebhookReceiver<T = unknown> {
  url: string;
  received: ReceivedWebhook<T>[];
  /** Resolves once at least `count` deliveries arrived (rejects after timeoutMs). */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedWebhook<T>[]>;
  close(): Promise<void>;
}

/** `respond(n)` gives the HTTP status for the n-th (1-based) delivery (may be async); default always 200. */
export async function startWebhookReceiver<T = unknown>(
  respond: (n: number) => number | Promise<number> = () => 200,
  path = '/webhooks',
): Promise<WebhookReceiver<T>> {
  const received: ReceivedWebhook<T>[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      received.push({ path: req.url ?? '/', headers: req.headers, rawBody, body: JSON.parse(rawBody) as T, at: Date.now() });
      res.statusCode = await respond(received.length);
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    async waitFor(count, timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} webhook deliveries, got ${received.length}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      return received;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
