import type { Kysely, Selectable } from "kysely";
import { exchangeOrigin, originColumns } from "../domain/key-origin.js";
import type { BatchedWrite, GroupCommit } from "./group-commit.js";
import { Precompiled, param } from "./precompiled.js";
import { ms, msOrNull, toCode } from "./rows.js";
import type { CodesTable, Database } from "./schema.js";
import type { Redeemed, Redemption, StoredCode } from "./store.js";

/**
 * The code exchange's statements, compiled once and group-committed: concurrent exchanges share
 * one commit, while each stays its own consume (`UPDATE … WHERE consumed_at IS NULL RETURNING`)
 * and key insert, in that order, inside the same transaction.
 */
export class CodeQueries {
  private readonly consumeQuery: Precompiled<Selectable<CodesTable>>;
  private readonly insertKeyQuery: Precompiled<unknown>;

  constructor(
    db: Kysely<Database>,
    private readonly group: GroupCommit,
  ) {
    this.consumeQuery = new Precompiled(
      db
        .updateTable("codes")
        .set({ consumed_at: param<number>("now"), key_hash: param<string>("keyHash") })
        .where("code_hash", "=", param<string>("codeHash"))
        .where("consumed_at", "is", null)
        .returningAll()
        .compile(),
    );
    this.insertKeyQuery = new Precompiled(
      db
        .insertInto("keys")
        .values({
          hash: param<string>("keyHash"),
          user_id: param<string>("userId"),
          label: param<string>("label"),
          limit_micros: param<number | null>("limitMicros"),
          limit_reset: param<string | null>("limitReset"),
          expires_at: param<number | null>("expiresAt"),
          created_at: param<number>("createdAt"),
          revoked_at: null,
          created_via: param<string>("createdVia"),
          app_origin: param<string | null>("appOrigin"),
        })
        .compile(),
    );
  }

  /** See `Store.redeemCode`. */
  redeem<R>(
    codeHash: string,
    keyHash: string,
    now: Date,
    decide: (code: StoredCode) => Redemption<R>,
  ): Promise<Redeemed<R> | undefined> {
    const consume = this.consumeQuery.bind({ now: ms(now), keyHash, codeHash });
    /** The code's decision, and the key insert it calls for. */
    const decided = (code: StoredCode) => {
      const decision = decide(code);
      if ("refusal" in decision) return { redeemed: { code, refusal: decision.refusal } };
      const { terms } = decision;
      const origin = originColumns(exchangeOrigin(code.callbackUrl));
      const insert = this.insertKeyQuery.bind({
        keyHash,
        userId: terms.userId,
        label: terms.label,
        limitMicros: terms.limitMicros,
        limitReset: terms.limitReset,
        expiresAt: msOrNull(terms.expiresAt),
        createdAt: ms(terms.createdAt),
        createdVia: origin.created_via,
        appOrigin: origin.app_origin,
      });
      return { redeemed: { code }, insert };
    };
    const write: BatchedWrite<Redeemed<R> | undefined> = {
      order: codeHash,
      sqlite(runner) {
        const row = runner.all(consume.sql, consume.parameters)[0] as
          | Selectable<CodesTable>
          | undefined;
        if (!row) return undefined;
        const { redeemed, insert } = decided(toCode(row));
        if (insert) runner.run(insert.sql, insert.parameters);
        return redeemed;
      },
      async kysely(trx) {
        const row = (await trx.executeQuery(consume)).rows[0];
        if (!row) return undefined;
        const { redeemed, insert } = decided(toCode(row));
        if (insert) await trx.executeQuery(insert);
        return redeemed;
      },
    };
    return this.group.submit(write);
  }
}
