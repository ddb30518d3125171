/**
 * Every fault the wire layer finds in bytes or text is one of these, so callers can map
 * it to FORMERR (packets) or to a file/line message (zone files) without string matching.
 */
export type WireErrorCode =
  | 'truncated'
  | 'bad-label'
  | 'name-too-long'
  | 'bad-pointer'
  | 'pointer-loop'
  | 'compression-forbidden'
  | 'bad-rdlength'
  | 'bad-rdata'
  | 'trailing-data'
  | 'bad-opt'
  | 'bad-text'
  | 'too-big';

export class WireError extends Error {
  override readonly name = 'WireError';
  constructor(
    readonly code: WireErrorCode,
    message: string,
    readonly offset?: number,
  ) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
  }
}
