/** ASP.NET-style error bodies: `{status, title, message, errors: [{field, message}]}`. */
import type { IpaasErrorBody } from './types.js';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function statusTitle(status: number): string {
  return TITLES[status] ?? (status >= 500 ? 'Internal Server Error' : 'Error');
}

export type FieldError = { field: string; message: string };

/** Thrown by store/validation code; the HTTP layer turns it into the error body. */
export class IpaasHttpError extends Error {
  readonly status: number;
  readonly errors: FieldError[];
  constructor(status: number, message: string, errors: FieldError[] = []) {
    super(message);
    this.name = 'IpaasHttpError';
    this.status = status;
    this.errors = errors;
  }
  toBody(): IpaasErrorBody {
    return errorBody(this.status, this.message, this.errors);
  }
}

export function errorBody(status: number, message: string, errors: FieldError[] = []): IpaasErrorBody {
  return { status, title: statusTitle(status), message, errors };
}

/** 400 whose message is the first field error's message (what a log line should show). */
export function validationError(errors: FieldError[]): IpaasHttpError {
  const first = errors[0];
  const message = first
    ? errors.length === 1
      ? first.message
      : `${first.message} (and ${errors.length - 1} more validation error${errors.length > 2 ? 's' : ''})`
    : 'The request is invalid.';
  return new IpaasHttpError(400, message, errors);
}
