import type { ConnectorConfigInput, MappingCollection } from './schema.js';

/** The seed article's PromptText example, word for word. */
export const SEED_PROMPT_TEXT =
  'Write a short, bulleted summary of this customer profile and return it in the comment field. Check whether this customer is known by imdb.com. Return TRUE or FALSE in custom field named Known To Film.';

export const FROM_COLLECTION_NAME = 'OpenAI Add/Update Customer FROM iPaaS';
export const TO_COLLECTION_NAME = 'OpenAI Add/Update Customer TO iPaaS';

/** The seed's mapping table, row for row. */
export const DEFAULT_FROM_COLLECTION: MappingCollection = {
  name: FROM_COLLECTION_NAME,
  dataModel: 'Customer',
  direction: 'FROM iPaaS',
  status: 'Enabled',
  triggerEvents: ['Manual', 'Customer Create', 'Customer Update'],
  filter: {},
  mappings: [
    { type: 'Field', source: 'CustomerNumber', destination: 'Id', description: 'Maps the iPaaS CustomerNumber to the OpenAI Id field for record identification.' },
    { type: 'Static', source: SEED_PROMPT_TEXT, destination: 'PromptText', description: 'Provides instructions to OpenAI for processing the customer data.' },
    { type: 'Field', source: 'CustomerNumber', destination: 'CustomerNumber', description: 'Maps the customer identifier for reference in OpenAI processing.' },
    { type: 'Field', source: 'FirstName', destination: 'FirstName', description: "Maps the customer's first name for AI analysis." },
    { type: 'Field', source: 'LastName', destination: 'LastName', description: "Maps the customer's last name for AI analysis." },
    { type: 'Field', source: 'EmailAddress', destination: 'EmailAddress', description: "Maps the customer's email address for AI analysis." },
    { type: 'Field', source: 'Categories', destination: 'Categories', description: 'Maps customer category assignments for AI analysis.' },
    { type: 'Field', source: 'Comment', destination: 'Comment', description: 'Maps the comment field; may also receive AI-generated response based on prompt instructions.' },
  ],
};

/**
 * The TO counterpart: answer fields (Comment, Known To Film) plus response
 * metadata (ResponseId, PromptText) and Now() written to custom fields.
 */
export const DEFAULT_TO_COLLECTION: MappingCollection = {
  name: TO_COLLECTION_NAME,
  dataModel: 'Customer',
  direction: 'TO iPaaS',
  status: 'Enabled',
  triggerEvents: ['Manual', 'Customer Create', 'Customer Update'],
  filter: {},
  mappings: [
    { type: 'Field', source: 'Comment', destination: 'Comment', description: 'A short, bulleted summary of the customer profile (one "- " line per fact).' },
    { type: 'Field', source: 'Known To Film', destination: 'Known To Film', description: 'TRUE if the customer is known by imdb.com, otherwise FALSE.' },
    { type: 'Formula', source: 'Now()', destination: 'Last Response Date' },
    { type: 'Field', source: 'PromptText', destination: 'Last Prompt Text' },
    { type: 'Field', source: 'ResponseId', destination: 'Last Response ID' },
  ],
};

/** The product articles' PromptText (their example is the season a product sells in). */
export const PRODUCT_PROMPT_TEXT =
  'Decide in which season this product sells best: Spring, Summer, Autumn, Winter or All year. Return that one word in custom field named OpenAI Response Season.';

/**
 * "OpenAI Add/Update Product FROM iPaaS": manual sync by SKU (the OpenAI Id); it needs Name,
 * Description and DefaultPrice.
 */
export const DEFAULT_PRODUCT_FROM_COLLECTION: MappingCollection = {
  name: 'OpenAI Add/Update Product FROM iPaaS',
  dataModel: 'Product',
  direction: 'FROM iPaaS',
  status: 'Enabled',
  triggerEvents: ['Manual', 'Product Create', 'Product Update'],
  filter: {},
  mappings: [
    { type: 'Field', source: 'SKU', destination: 'Id', description: 'Maps the product SKU to the OpenAI Id field for record identification.' },
    { type: 'Static', source: PRODUCT_PROMPT_TEXT, destination: 'PromptText', description: 'Provides instructions to OpenAI for processing the product data.' },
    { type: 'Field', source: 'Name', destination: 'Name' },
    { type: 'Field', source: 'Description', destination: 'Description' },
    { type: 'Field', source: 'DefaultPrice', destination: 'DefaultPrice' },
  ],
};

/** "OpenAI Add/Update Product TO iPaaS": the four "OpenAI ..." custom fields of the Product module. */
export const DEFAULT_PRODUCT_TO_COLLECTION: MappingCollection = {
  name: 'OpenAI Add/Update Product TO iPaaS',
  dataModel: 'Product',
  direction: 'TO iPaaS',
  status: 'Enabled',
  triggerEvents: ['Manual', 'Product Create', 'Product Update'],
  filter: {},
  mappings: [
    { type: 'Field', source: 'OpenAI Response Season', destination: 'OpenAI Response Season', description: 'One of Spring, Summer, Autumn, Winter, All year.' },
    { type: 'Formula', source: 'Now()', destination: 'OpenAI Last Response Date' },
    { type: 'Field', source: 'ResponseId', destination: 'OpenAI Last Response ID' },
    { type: 'Field', source: 'PromptText', destination: 'OpenAI Last Prompt Text' },
  ],
};

export const DEFAULT_CUSTOM_FIELDS = [
  { name: 'Known To Film', dataType: 'bool', description: 'OpenAI: is the customer known by imdb.com (TRUE/FALSE)', module: 'Customer' },
  { name: 'Last Response Date', dataType: 'datetime', description: 'OpenAI: when the last answer was written', module: 'Customer' },
  { name: 'Last Prompt Text', dataType: 'string', description: 'OpenAI: the PromptText of the last request', module: 'Customer' },
  { name: 'Last Response ID', dataType: 'string', description: 'OpenAI: id of the last response (resp_… / chatcmpl-…)', module: 'Customer' },
  { name: 'OpenAI Response Season', dataType: 'string', description: 'OpenAI: the season the product sells best in', module: 'Product' },
  { name: 'OpenAI Last Response Date', dataType: 'datetime', description: 'OpenAI: when the last answer was written', module: 'Product' },
  { name: 'OpenAI Last Response ID', dataType: 'string', description: 'OpenAI: id of the last response', module: 'Product' },
  { name: 'OpenAI Last Prompt Text', dataType: 'string', description: 'OpenAI: the PromptText of the last request', module: 'Product' },
] as const;

export const DEFAULT_CONFIG: ConnectorConfigInput = {
  customFields: DEFAULT_CUSTOM_FIELDS.map((f) => ({ ...f })),
  mappingCollections: [DEFAULT_FROM_COLLECTION, DEFAULT_TO_COLLECTION, DEFAULT_PRODUCT_FROM_COLLECTION, DEFAULT_PRODUCT_TO_COLLECTION],
};
