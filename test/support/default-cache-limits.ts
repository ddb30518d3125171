import { defaultConfig } from '../../src/config/loader.js';
import { type CacheLimits, cacheLimitsOf } from '../../src/resolver/record-cache.js';

/** The resolver cache limits of the default config: `resolver.cache` in config/defaults.ts, the one definition. */
export const DEFAULT_CACHE_LIMITS: CacheLimits = cacheLimitsOf(defaultConfig().resolver.cache);
