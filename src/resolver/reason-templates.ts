/**
 * The reasons of kept verdicts, shared: "bulk.: n1.bulk./A signed by key 12345 (algorithm 13),
 * valid until 2027-01-06T00:00:00.000Z" differs from name to name of a zone only by the owner, so
 * with the owner taken out it is one text for them all, kept once here; a verdict holds a number
 * (~90 bytes a name less). The table is bounded: when full it starts again as a new generation,
 * and a number of an older generation reads as nothing (the verdict is then a miss, never a
 * wrong reason).
 */
const OWNER = '\u0001';

export interface ReasonRef {
  /** 1-based: 0 is "no template" in the packed entry. */
  readonly id: number;
  readonly generation: number;
}

export class ReasonTemplates {
  private ids = new Map<string, number>();
  private texts: string[] = [];
  private generation = 0;

  constructor(private readonly max = 4096) {}

  /** The reason as a template number, with every `owner` in it left out; undefined when it cannot be one. */
  pack(reason: string, owner: string): ReasonRef | undefined {
    if (owner.length === 0 || reason.includes(OWNER)) return undefined;
    const template = reason.split(owner).join(OWNER);
    let id = this.ids.get(template);
    if (id === undefined) {
      if (this.texts.length >= this.max) {
        this.ids = new Map();
        this.texts = [];
        this.generation = (this.generation + 1) & 0xffff;
      }
      this.texts.push(template);
      id = this.texts.length;
      this.ids.set(template, id);
    }
    return { id, generation: this.generation };
  }

  /** The reason back, `owner` put in again; undefined when the number is of an older generation. */
  unpack(ref: ReasonRef, owner: string): string | undefined {
    if (ref.generation !== this.generation) return undefined;
    return this.texts[ref.id - 1]?.split(OWNER).join(owner);
  }
}
