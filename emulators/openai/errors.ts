/**
 * OpenAI's error bodies: `{"error":{"message","type","param","code"}}` and the exact messages the
 * real API sends. Route code throws ApiError; the app's error handler sends it.
 */

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toBody(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

const invalid = (message: string, param: string | null = null, code: string | null = null, status = 400): ApiError =>
  new ApiError(status, 'invalid_request_error', message, param, code);

export const NO_API_KEY_MESSAGE =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth " +
  '(i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you\'re accessing the API ' +
  'from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys.';

/** Masks a key like OpenAI: first 3 characters, '***…', last 4; short keys are masked entirely. */
export function maskApiKey(key: string): string {
  if (key.length <= 8) return '*'.repeat(key.length);
  return `${key.slice(0, 3)}*************${key.slice(-4)}`;
}

export const errors = {
  noApiKey: () => new ApiError(401, 'invalid_request_error', NO_API_KEY_MESSAGE, null, null),
  invalidApiKey: (key: string) =>
    new ApiError(
      401,
      'invalid_request_error',
      `Incorrect API key provided: ${maskApiKey(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      null,
      'invalid_api_key',
    ),
  modelNotFound: (model: string) =>
    invalid(`The model \`${model}\` does not exist or you do not have access to it.`, null, 'model_not_found', 404),
  invalidUrl: (method: string, path: string) => invalid(`Invalid URL (${method} ${path})`, null, null, 404),
  invalidJsonBody: () =>
    invalid(
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library " +
        'correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble ' +
        'figuring out how to fix this, please contact us through our help center at help.openai.com.)',
    ),
  missingParameter: (param: string) => invalid(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter'),
  invalidType: (param: string, expected: string, got: unknown) =>
    invalid(`Invalid type for '${param}': expected ${expected}, but got ${describeType(got)} instead.`, param, 'invalid_type'),
  unknownParameter: (param: string) => invalid(`Unknown parameter: '${param}'.`, param, 'unknown_parameter'),
  unrecognizedArgument: (param: string) => invalid(`Unrecognized request argument supplied: ${param}`),
  unsupportedParameter: (param: string, hint = '') =>
    invalid(`Unsupported parameter: '${param}' is not supported with this model.${hint}`, param, 'unsupported_parameter'),
  belowMinimum: (param: string, min: number, got: number, integer: boolean) =>
    invalid(
      `Invalid '${param}': ${integer ? 'integer' : 'decimal'} below minimum value. Expected a value >= ${min}, but got ${got} instead.`,
      param,
      integer ? 'integer_below_min_value' : 'decimal_below_min_value',
    ),
  aboveMaximum: (param: string, max: number, got: number, integer: boolean) =>
    invalid(
      `Invalid '${param}': ${integer ? 'integer' : 'decimal'} above maximum value. Expected a value <= ${max}, but got ${got} instead.`,
      param,
      integer ? 'integer_above_max_value' : 'decimal_above_max_value',
    ),
  invalidValue: (param: string, value: unknown, allowed: string[]) =>
    invalid(
      `Invalid value: '${String(value)}'. Supported values are: ${allowed.map((a) => `'${a}'`).join(', ')}.`,
      param,
      'invalid_value',
    ),
  emptyArray: (param: string) =>
    invalid(`Invalid '${param}': empty array. Expected an array with minimum length 1, but got an empty array instead.`, param, 'empty_array'),
  namePattern: (param: string) =>
    invalid(
      `Invalid '${param}': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`,
      param,
      'invalid_value',
    ),
  nameTooLong: (param: string, length: number) =>
    invalid(
      `Invalid '${param}': string too long. Expected a string with maximum length 64, but got a string with length ${length} instead.`,
      param,
      'string_above_max_length',
    ),
  invalidSchema: (formatName: string, detail: string, param: string) =>
    invalid(`Invalid schema for response_format '${formatName}': ${detail}`, param, 'invalid_json_schema'),
  streamingUnsupported: () =>
    invalid("Streaming is not supported by this emulator: omit 'stream' or set it to false.", 'stream', 'unsupported_value'),
  badRequest: (message: string, param: string | null = null, code: string | null = null) => invalid(message, param, code),
  noSuchFile: (id: string, param = 'id') => invalid(`No such File object: ${id}`, param, null, 404),
  noSuchBatch: (id: string) => invalid(`No such Batch object: ${id}`, 'id', null, 404),
  /**
   * Flex processing without capacity. OpenAI's flex guide: "a `429 Resource Unavailable` error code.
   * You will not be charged when this occurs." The body is not published: [decided] the usual error
   * shape with type and code 'resource_unavailable' (the code third-party flex clients test for), by
   * analogy with insufficient_quota, and no retry-after header.
   */
  flexUnavailable: () =>
    new ApiError(
      429,
      'resource_unavailable',
      'Resource Unavailable: there is not enough flex processing capacity to serve this request right now, and you have ' +
        "not been charged for it. Retry later with exponential backoff, or send it with service_tier 'auto' or 'default'.",
      null,
      'resource_unavailable',
    ),
  insufficientQuota: () =>
    new ApiError(
      429,
      'insufficient_quota',
      'You exceeded your current quota, please check your plan and billing details. For more information on this error, ' +
        'read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
      null,
      'insufficient_quota',
    ),
} as const;

/** Bodies for injected `status` faults (429 is built by the rate limiter, 401/404 above). */
export function statusFaultError(status: number): ApiError {
  switch (status) {
    case 400:
      return invalid('Invalid request: the emulator was told to reject this request (injected fault).');
    case 403:
      return new ApiError(403, 'request_forbidden', 'Country, region, or territory not supported', null, 'unsupported_country_region_territory');
    case 408:
      return new ApiError(408, 'timeout', 'Request timed out.', null, null);
    case 409:
      return new ApiError(409, 'invalid_request_error', 'The request conflicted with another request. Please try again.', null, 'conflict');
    case 500:
      return new ApiError(500, 'server_error', 'The server had an error while processing your request. Sorry about that!');
    case 502:
      return new ApiError(502, 'cf_bad_gateway', 'Bad gateway.', null, null);
    case 503:
      return new ApiError(503, 'server_error', 'The engine is currently overloaded, please try again later.');
    default:
      return new ApiError(status, 'server_error', `The server returned status ${status} (injected fault).`);
  }
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a decimal';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  return 'an object';
}
