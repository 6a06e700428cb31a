/**
 * Sample products the demo and the tests seed into the iPaaS.com emulator, like the sample customers.
 * The first is the example of the iPaaS.com article "OpenAI Add/Update Product FROM iPaaS" (SKU
 * PROD-SKU-12345, the OpenAI Id); the last has no SKU, to show that failure path as customer 6 does.
 */
export interface SampleProduct {
  sku: string | null;
  name: string;
  description: string | null;
  default_price: number | null;
}

export const SAMPLE_PRODUCTS: SampleProduct[] = [
  {
    sku: 'PROD-SKU-12345',
    name: 'Winter Parka',
    description: 'Insulated, waterproof parka with a detachable hood and a recycled down fill, rated to -30 °C.',
    default_price: 249.99,
  },
  {
    sku: 'PROD-SKU-12346',
    name: 'Trail Running Shoe',
    description: 'Lightweight trail shoe with a rock plate and a grippy lugged outsole.',
    default_price: 129.5,
  },
  {
    sku: 'PROD-SKU-12347',
    name: 'Bonnet en laine mérinos',
    description: 'Bonnet côtelé en mérinos – doux, chaud, lavable en machine. 日本製。',
    default_price: 34,
  },
  {
    sku: null,
    name: 'Unlabelled Sample',
    description: 'A product without a SKU, so it cannot be sent to OpenAI.',
    default_price: 10,
  },
];
