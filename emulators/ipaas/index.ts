/**
 * A local emulator of the iPaaS.com API (customers, products, custom fields, SSO, webhook
 * subscriptions) that fires outbound webhooks for every customer and product change, including the
 * connector's own writes. See /work/shared/domain/ipaas-api.md for the facts it follows.
 */
import type { FastifyInstance } from 'fastify';
import { controlUrlOf } from '../control-path.js';
import { AuthService } from './auth.js';
import { registerControlApi } from './control-api.js';
import { registerCustomFieldRoutes, unknownCustomFieldId } from './custom-field-routes.js';
import { CustomFieldRegistry } from './custom-fields.js';
import { CustomerStore } from './customer-store.js';
import { IpaasHttpError } from './errors.js';
import { createHttpApp, type PendingFault } from './http.js';
import { registerProductRoutes } from './product-routes.js';
import { ProductStore } from './product-store.js';
import { registerRoutes } from './routes.js';
import type {
  CustomFieldModule,
  IpaasCounters,
  IpaasCustomFieldJson,
  IpaasCustomerJson,
  IpaasCustomerWrite,
  IpaasEmulatorOptions,
  IpaasFault,
  IpaasPendingFault,
  IpaasProductJson,
  IpaasProductWrite,
  WebhookDeliveryRecord,
} from './types.js';
import { WebhookDispatcher, WebhookRegistry, type RecordEventScope } from './webhooks.js';

export * from './types.js';
export { IpaasHttpError, errorBody } from './errors.js';
export { checkCustomFieldValue } from './validation.js';
export { signBody, DELIVERY_TIMEOUT_MS } from './webhooks.js';
export { TIMEOUT_FAULT_MS } from './http.js';

export const DEFAULT_API_KEY = 'ipaas-emulator-key';
export const DEFAULT_USER = { email_address: 'demo@example.com', password: 'demo-password' } as const;

export interface IpaasEmulator {
  /** Usable with app.inject() without listening. */
  app: FastifyInstance;
  /** Listens (default 127.0.0.1, port 0) and returns the base URL, e.g. http://127.0.0.1:PORT. */
  start(opts?: { host?: string; port?: number }): Promise<string>;
  /** Stops the server, pending webhook retries, in-flight deliveries and hung (timeout-fault) requests. */
  close(): Promise<void>;
  url: string | undefined;
  /** The control API (same faults and counters over HTTP), e.g. http://127.0.0.1:PORT/__emulator/; set by start(). */
  controlUrl: string | undefined;
  counters: IpaasCounters;
  resetCounters(): void;
  injectFault(f: IpaasFault): void;
  /** Queued faults with their remaining counts, oldest (first to match) first. */
  pendingFaults(): IpaasPendingFault[];
  clearFaults(): void;
  /** Deletes a custom field definition of `module` (default Customer) by name (any letter case) and the
   * values its records hold for it, as DELETE /customers/v2/CustomField/{id} (or /products/v2/...) does.
   * Throws IpaasHttpError 404 for an unknown name. */
  deleteCustomField(name: string, module?: CustomFieldModule): IpaasCustomFieldJson;
  getCustomer(id: number): IpaasCustomerJson | undefined;
  findCustomerByNumber(n: string): IpaasCustomerJson | undefined;
  listCustomers(): IpaasCustomerJson[];
  /** Simulates a person editing the record in the iPaaS.com UI: PUT semantics + webhooks. Throws IpaasHttpError. */
  humanUpdate(id: number, patch: Partial<IpaasCustomerWrite>): IpaasCustomerJson;
  getProduct(id: number): IpaasProductJson | undefined;
  /** By SKU, any letter case. */
  findProductBySku(sku: string): IpaasProductJson | undefined;
  listProducts(): IpaasProductJson[];
  /** A person editing a product in the UI: PUT semantics + product/updated webhooks. Throws IpaasHttpError. */
  humanUpdateProduct(id: number, patch: Partial<IpaasProductWrite>): IpaasProductJson;
  webhookDeliveries(): WebhookDeliveryRecord[];
  /** Resolves when every in-flight delivery finished (future retries are not awaited). */
  flushWebhooks(): Promise<void>;
}

function emptyCounters(): IpaasCounters {
  return { requests: 0, byRoute: {}, byStatus: {}, customerReads: 0, customerWrites: 0, productReads: 0, productWrites: 0, webhookDeliveries: 0 };
}

export function createIpaasEmulator(options: IpaasEmulatorOptions = {}): IpaasEmulator {
  const pageSize = Math.max(1, Math.min(100, Math.floor(options.pageSize ?? 50)));
  const counters = emptyCounters();
  const faults: PendingFault[] = [];

  // Cancellable waits (latency, timeout faults) so close() never leaves requests hanging.
  const waiters = new Set<() => void>();
  let closed = false;
  const wait = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      if (closed) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });

  const auth = new AuthService(
    options.apiKeys ?? [DEFAULT_API_KEY],
    options.users ?? [{ ...DEFAULT_USER }],
    options.tokenTtlSeconds ?? 3600,
  );
  const fields = new CustomFieldRegistry(options.customFields ?? []);
  const store = new CustomerStore(fields);
  store.seed(options.customers ?? []);
  const products = new ProductStore(fields);
  products.seed(options.products ?? []);
  const hooks = new WebhookRegistry();
  const dispatcher = new WebhookDispatcher({
    retryUnitMs: options.webhookRetryUnitMs ?? 60_000,
    maxAttempts: Math.max(1, options.webhookMaxAttempts ?? 5),
    onAttempt: () => {
      counters.webhookDeliveries += 1;
    },
  });
  const fire = (scope: RecordEventScope, record: { id: number }): void => {
    dispatcher.dispatch(scope, record.id, hooks.matching(scope));
  };
  const deleteCustomField = (module: CustomFieldModule, id: number): IpaasCustomFieldJson => {
    const def = fields.delete(module, id);
    if (!def) throw unknownCustomFieldId(module, id);
    (module === 'Customer' ? store : products).dropCustomFieldValues(def.name);
    return def;
  };

  const resetCounters = (): void => {
    Object.assign(counters, emptyCounters());
  };
  const injectFault = (f: IpaasFault): void => {
    const times = f.times ?? 1;
    if (times > 0) faults.push({ route: f.route, remaining: times, fault: { ...f } });
  };
  const pendingFaults = (): IpaasPendingFault[] => faults.map((f) => ({ fault: { ...f.fault }, remaining: f.remaining }));
  const clearFaults = (): void => {
    faults.length = 0;
  };

  const app = createHttpApp({ auth, counters, faults, latencyMs: options.latencyMs ?? 0, logger: options.logger ?? false, wait });
  // Before the emulated routes: the control API learns their keys to validate fault routes.
  registerControlApi(app, { counters, resetCounters, injectFault, pendingFaults, clearFaults });
  registerRoutes(app, { auth, store, hooks, counters, pageSize, onCustomerWritten: fire });
  registerCustomFieldRoutes(app, { fields, deleteCustomField }, 'Customer');
  registerProductRoutes(app, { products, counters, pageSize, onProductWritten: fire });
  registerCustomFieldRoutes(app, { fields, deleteCustomField }, 'Product');

  const emulator: IpaasEmulator = {
    app,
    url: undefined,
    controlUrl: undefined,
    counters,
    async start(opts = {}) {
      const address = await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 });
      const addr = app.server.address();
      const url =
        addr && typeof addr === 'object'
          ? `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`
          : address;
      emulator.url = url;
      emulator.controlUrl = controlUrlOf(url);
      return url;
    },
    async close() {
      closed = true;
      dispatcher.close();
      for (const release of [...waiters]) release();
      await app.close();
      await dispatcher.flush();
      emulator.url = undefined;
      emulator.controlUrl = undefined;
    },
    resetCounters,
    injectFault,
    pendingFaults,
    clearFaults,
    deleteCustomField(name, module = 'Customer') {
      const def = fields.find(module, name);
      if (!def) {
        throw new IpaasHttpError(404, `Custom field '${name}' is not defined for module ${module}; define it first or check the name.`);
      }
      return deleteCustomField(module, def.id);
    },
    getCustomer: (id) => store.get(id),
    findCustomerByNumber: (n) => store.findByNumber(n),
    listCustomers: () => store.list(),
    humanUpdate(id, patch) {
      const c = store.update(id, patch);
      fire('customer/updated', c);
      return c;
    },
    getProduct: (id) => products.get(id),
    findProductBySku: (sku) => products.findBySku(sku),
    listProducts: () => products.list(),
    humanUpdateProduct(id, patch) {
      const p = products.update(id, patch);
      fire('product/updated', p);
      return p;
    },
    webhookDeliveries: () => dispatcher.deliveries(),
    flushWebhooks: () => dispatcher.flush(),
  };
  return emulator;
}
