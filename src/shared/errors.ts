/**
 * One error type for the whole API. Services return or throw `ApiError`; only the HTTP edge turns it
 * into the OpenAI envelope `{"error":{"message","type","param","code"}}`.
 */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'insufficient_quota'
  | 'permission_error'
  | 'rate_limit_error'
  | 'server_error';

interface ErrorKind {
  status: number;
  type: ErrorType;
}

/** Every error code the platform emits, with its HTTP status and OpenAI type. */
export const errorCodes = {
  invalid_json: { status: 400, type: 'invalid_request_error' },
  missing_required_parameter: { status: 400, type: 'invalid_request_error' },
  invalid_parameter: { status: 400, type: 'invalid_request_error' },
  invalid_request: { status: 400, type: 'invalid_request_error' },
  invalid_token: { status: 400, type: 'invalid_request_error' },
  invalid_signature: { status: 400, type: 'invalid_request_error' },
  payments_not_configured: { status: 400, type: 'invalid_request_error' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error' },
  missing_api_key: { status: 401, type: 'authentication_error' },
  invalid_api_key: { status: 401, type: 'authentication_error' },
  invalid_credentials: { status: 401, type: 'authentication_error' },
  invalid_admin_token: { status: 401, type: 'authentication_error' },
  invalid_metrics_token: { status: 401, type: 'authentication_error' },
  insufficient_credits: { status: 402, type: 'insufficient_quota' },
  key_budget_exceeded: { status: 402, type: 'insufficient_quota' },
  tenant_suspended: { status: 403, type: 'permission_error' },
  key_scope: { status: 403, type: 'permission_error' },
  csrf_failed: { status: 403, type: 'permission_error' },
  forbidden: { status: 403, type: 'permission_error' },
  permission_denied: { status: 403, type: 'permission_error' },
  model_not_found: { status: 404, type: 'invalid_request_error' },
  not_found: { status: 404, type: 'invalid_request_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
  request_timeout: { status: 408, type: 'invalid_request_error' },
  expectation_failed: { status: 417, type: 'invalid_request_error' },
  conflict: { status: 409, type: 'invalid_request_error' },
  email_taken: { status: 409, type: 'invalid_request_error' },
  request_too_large: { status: 413, type: 'invalid_request_error' },
  rate_limit_exceeded: { status: 429, type: 'rate_limit_error' },
  too_many_connections: { status: 429, type: 'rate_limit_error' },
  request_headers_too_large: { status: 431, type: 'invalid_request_error' },
  internal_error: { status: 500, type: 'server_error' },
  operator_api_disabled: { status: 404, type: 'invalid_request_error' },
  upstream_error: { status: 502, type: 'server_error' },
  upstream_unavailable: { status: 503, type: 'server_error' },
  upstream_timeout: { status: 504, type: 'server_error' },
  not_ready: { status: 503, type: 'server_error' },
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof errorCodes;

export interface ErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: ErrorCode | string | null };
}

export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly type: ErrorType;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly param: string | null = null,
    /** Extra response headers, e.g. Retry-After. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    const kind: ErrorKind = errorCodes[code];
    this.status = kind.status;
    this.type = kind.type;
  }

  toBody(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const modelNotFound = (model: string) =>
  new ApiError('model_not_found', `Model '${model}' is not available on this tenant.`, 'model');

export const notFound = (what = 'The requested resource') =>
  new ApiError('not_found', `${what} was not found.`);
