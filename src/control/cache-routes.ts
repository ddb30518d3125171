import { Name } from '../wire/name.js';
import type { Logger } from '../logging/logger.js';
import type { QueryPipeline } from '../server/query-pipeline.js';
import type { ControlApi } from './control-api.js';
import { ControlError } from './control-router.js';
import { CONTROL_ROUTES } from '../control-contract/routes.js';

export function registerCacheRoutes(api: ControlApi, pipeline: QueryPipeline, logger: Logger): void {
  api.registerRoute(CONTROL_ROUTES.cacheFlush, (request) => {
    const body = (request.body ?? {}) as { name?: unknown };
    let name: Name | undefined;
    if (body.name !== undefined && body.name !== null) {
      if (typeof body.name !== 'string') throw new ControlError(400, 'bad-name', 'name must be a string');
      try {
        name = Name.parse(body.name);
      } catch (e) {
        throw new ControlError(400, 'bad-name', `"${body.name}" is not a domain name: ${(e as Error).message}`);
      }
    }
    const flushed = pipeline.flush(name);
    logger.info({ event: 'cache.flushed', name: name?.toString() ?? null, entries: flushed }, 'cache flushed');
    return { name: name?.toString() ?? null, flushed };
  });
}
