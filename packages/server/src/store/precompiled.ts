import type { CompiledQuery } from "kysely";

/** A named slot in a query compiled once; `bind` fills it per call. */
class Param {
  constructor(readonly name: string) {}
}

/** A value the typed query builder accepts in place of a real one, compiled as a parameter. */
export function param<T>(name: string): T {
  return new Param(name) as unknown as T;
}

/**
 * A query built and compiled once by the database's own dialect (so SQLite gets `?` and
 * PostgreSQL `$1`), run many times with fresh parameter values: the hot paths (code exchange,
 * gateway) issue the same few statements for every request, and building them anew showed in
 * their profiles.
 */
export class Precompiled<Row> {
  private readonly slots: readonly (Param | { readonly value: unknown })[];

  constructor(private readonly compiled: CompiledQuery<Row>) {
    this.slots = compiled.parameters.map((value) =>
      value instanceof Param ? value : { value: value as unknown },
    );
  }

  bind(values: Readonly<Record<string, unknown>>): CompiledQuery<Row> {
    const parameters = this.slots.map((slot) =>
      slot instanceof Param ? values[slot.name] : slot.value,
    );
    return { ...this.compiled, parameters };
  }
}
