import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Errors as pino serialises them, without the raw bytes Node's HTTP parser attaches to client errors
 * (`rawPacket`: a malformed or oversized request, Authorization header included).
 */
function errWithoutRawBytes(err: Error): Record<string, unknown> {
  const { rawPacket: _raw, ...rest } = pino.stdSerializers.err(err) as Record<string, unknown>;
  return rest;
}

/** Structured JSON logs. Secrets are redacted by path wherever they could appear. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'simosphere' },
      serializers: { err: errWithoutRawBytes },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-api-key"]',
          'req.headers.cookie',
          'headers.authorization',
          'headers["x-api-key"]',
          '*.apiKey',
          '*.api_key',
          '*.password',
          '*.secret',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
