import type { ApiError } from './errors.js';

/** Anthropic's error types, by the HTTP status the error is answered with. */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 503:
    case 529:
      return 'overloaded_error';
    case 504:
      return 'timeout_error';
  }
  return status >= 500 ? 'api_error' : 'invalid_request_error';
}

/** The envelope Anthropic's API and SDKs use: `{"type":"error","error":{"type","message"},"request_id"}`. */
export function anthropicErrorBody(err: ApiError, requestId: string) {
  return {
    type: 'error' as const,
    error: { type: anthropicErrorType(err.status), message: err.message },
    request_id: requestId,
  };
}
