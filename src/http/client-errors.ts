import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../shared/errors.js';

/** What went wrong below HTTP routing, as our error (the request never reached a route). */
function errorFor(code: string | undefined): ApiError {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return new ApiError(
      'request_timeout',
      'The request was not received in time: send the headers and the body without pausing.',
    );
  if (code === 'HPE_HEADER_OVERFLOW')
    return new ApiError('request_headers_too_large', 'The request headers are too large.');
  return new ApiError('invalid_request', 'The request is not valid HTTP.');
}

/**
 * Answers what Node's HTTP parser and timers refuse (a head or body not received within
 * `limits.headersTimeoutMs` / `limits.requestTimeoutMs`, oversized headers, malformed HTTP) with
 * the usual error envelope on the raw socket, then closes it. Only the error code is logged: the
 * raw bytes Node attaches may hold credentials.
 */
export function clientErrorHandler(
  this: FastifyInstance,
  err: Error & { code?: string },
  socket: Socket,
): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  this.log.debug({ code: err.code }, 'client error');
  // A response already under way cannot take a second status line: just close.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const error = errorFor(err.code);
    const body = JSON.stringify(error.toBody());
    socket.write(
      `HTTP/1.1 ${error.status} ${statusText(error.status)}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

const statusText = (status: number) =>
  status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';

/**
 * Node answers an `Expect` other than `100-continue` itself, with an empty 417 (the request never
 * reaches a route); this gives that answer the usual envelope.
 */
export function answerUnmetExpectation(_request: IncomingMessage, response: ServerResponse): void {
  const error = new ApiError('expectation_failed', 'Only "Expect: 100-continue" is supported.');
  const body = JSON.stringify(error.toBody());
  response.writeHead(error.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  response.end(body);
}

/** An HTTP/1.1 request must name its `Host` (RFC 9112 §3.2); Node's own refusal has no body. */
export const missingHost = () =>
  new ApiError('invalid_request', 'An HTTP/1.1 request must carry a Host header.');
