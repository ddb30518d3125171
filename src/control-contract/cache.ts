/** `POST /v1/cache/flush`: the whole cache, or `name` and everything under it. */
export interface CacheFlushBody {
  readonly name?: string | null;
}

export interface CacheFlushReply {
  readonly name: string | null;
  readonly flushed: number;
}
