import { createIpaasEmulator, type IpaasEmulator, type IpaasEmulatorOptions } from './ipaas/index.js';
import { createOpenAIEmulator, type OpenAIEmulator, type OpenAIEmulatorOptions } from './openai/index.js';
import { SAMPLE_CUSTOMERS } from './sample-customers.js';
import { SAMPLE_PRODUCTS } from './sample-products.js';

export const EMULATOR_IPAAS_KEY = 'ipaas-emulator-key';
export const EMULATOR_OPENAI_KEY = 'sk-emulator-key';

export interface RunningEmulators {
  ipaas?: { emulator: IpaasEmulator; url: string; apiKey: string };
  openai?: { emulator: OpenAIEmulator; url: string; apiKey: string };
  close(): Promise<void>;
}

/** Starts the emulators on loopback with the sample customers and products; used by demo, `emulate` and tests. */
export async function startEmulators(options: {
  ipaas?: boolean | IpaasEmulatorOptions;
  openai?: boolean | OpenAIEmulatorOptions;
  host?: string;
  ipaasPort?: number;
  openaiPort?: number;
}): Promise<RunningEmulators> {
  const host = options.host ?? '127.0.0.1';
  const running: RunningEmulators = {
    async close() {
      await Promise.all([running.ipaas?.emulator.close(), running.openai?.emulator.close()]);
    },
  };
  try {
    if (options.ipaas) {
      const emulator = createIpaasEmulator({ customers: SAMPLE_CUSTOMERS, products: SAMPLE_PRODUCTS, apiKeys: [EMULATOR_IPAAS_KEY], ...(typeof options.ipaas === 'object' ? options.ipaas : {}) });
      const url = await emulator.start({ host, port: options.ipaasPort ?? 0 });
      running.ipaas = { emulator, url, apiKey: EMULATOR_IPAAS_KEY };
    }
    if (options.openai) {
      const emulator = createOpenAIEmulator({ apiKeys: [EMULATOR_OPENAI_KEY], ...(typeof options.openai === 'object' ? options.openai : {}) });
      const url = await emulator.start({ host, port: options.openaiPort ?? 0 });
      running.openai = { emulator, url, apiKey: EMULATOR_OPENAI_KEY };
    }
  } catch (err) {
    await running.close();
    throw err;
  }
  return running;
}
