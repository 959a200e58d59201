import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { defineRoute, publicRoute } from '../http/define-route.js';
import { notFound } from '../shared/errors.js';

/** One static file, loaded into memory at boot (they are few and small). */
interface Asset {
  body: Buffer;
  contentType: string;
  etag: string;
  /** The URL path with the content hash in it, e.g. `/assets/portal.3f2a9c1b.js`. */
  url: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

// Works from src/ (tsx, tests) and dist/ (npm start) alike: both sit one level below the project root.
const PUBLIC_DIR = fileURLToPath(new URL('../../public/portal/', import.meta.url));
const requireFromHere = createRequire(import.meta.url);

/** Files the pages may reference by logical name; the chart library comes from node_modules, no CDN. */
function sourceFiles(): Array<[name: string, path: string]> {
  const own = readdirSync(PUBLIC_DIR)
    .filter((f) => extname(f) in CONTENT_TYPES)
    .map((f): [string, string] => [f, join(PUBLIC_DIR, f)]);
  return [
    ...own,
    ['uplot.js', requireFromHere.resolve('uplot/dist/uPlot.iife.min.js')],
    ['uplot.css', requireFromHere.resolve('uplot/dist/uPlot.min.css')],
  ];
}

/**
 * The static assets of the portal. Names carry a content hash so they can be cached forever
 * (`immutable`); a new release changes the hash and therefore the URL.
 */
export class AssetStore {
  private readonly byName = new Map<string, Asset>();
  private readonly byUrl = new Map<string, Asset>();

  constructor(files: Array<[string, string]> = sourceFiles()) {
    for (const [name, path] of files) {
      const body = readFileSync(path);
      const hash = createHash('sha256').update(body).digest('hex').slice(0, 10);
      const ext = extname(name);
      const asset: Asset = {
        body,
        contentType: CONTENT_TYPES[ext] ?? 'application/octet-stream',
        etag: `"${hash}"`,
        url: `/assets/${name.slice(0, -ext.length)}.${hash}${ext}`,
      };
      this.byName.set(name, asset);
      this.byUrl.set(asset.url, asset);
    }
  }

  /** The hashed URL of an asset by its logical name (`portal.css`); throws on a typo at render time. */
  url(name: string): string {
    const asset = this.byName.get(name);
    if (!asset) throw new Error(`unknown portal asset '${name}'`);
    return asset.url;
  }

  /** `GET /assets/*`: hashed names are immutable; ETags answer revalidation with 304. */
  register(app: FastifyInstance): void {
    defineRoute(app, {
      method: 'GET',
      url: '/assets/*',
      guard: publicRoute,
      doc: {
        summary: 'Portal static assets',
        description: 'Scripts, styles and images of the portal pages, under content-hashed names.',
        tags: ['portal'],
        hidden: true,
      },
      handler: async (request, reply) => {
        const asset = this.byUrl.get(request.url.split('?')[0] ?? '');
        if (!asset) throw notFound('The asset');
        reply
          .header('content-type', asset.contentType)
          .header('cache-control', 'public, max-age=31536000, immutable')
          .header('etag', asset.etag)
          .header('x-content-type-options', 'nosniff');
        if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
        return reply.send(asset.body);
      },
    });
  }
}
