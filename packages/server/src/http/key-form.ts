import { MAX_CREDIT_LIMIT, MAX_KEY_LABEL } from "../domain/constants.js";
import { isLimitReset, type LimitReset, toMicros } from "../domain/credits.js";
import type { StoredKey } from "../store/store.js";
import { credits } from "../views/format.js";
import type { KeyFormValues } from "../views/key-form.js";
import { type FormFields, single } from "../web/form.js";

/** A key form read and checked: the terms to apply, or the problem to show with the values. */
export type KeyFormResult =
  | {
      readonly ok: true;
      readonly label: string;
      readonly limitMicros: number | null;
      readonly limitReset: LimitReset | null;
    }
  | { readonly ok: false; readonly problem: string; readonly values: KeyFormValues };

/** Reads the label, limit and reset fields of the create and edit forms. */
export function readKeyForm(form: FormFields): KeyFormResult {
  const values: KeyFormValues = {
    label: single(form, "label") ?? "",
    limit: (single(form, "limit") ?? "").trim(),
    limitReset: isLimitReset(single(form, "limit_reset"))
      ? (single(form, "limit_reset") as LimitReset)
      : "",
  };
  const fail = (problem: string) => ({ ok: false as const, problem, values });
  const label = values.label.trim();
  if (label.length === 0) return fail("Give the key a label.");
  if ([...label].length > MAX_KEY_LABEL) {
    return fail(`Keep the label to ${MAX_KEY_LABEL} characters.`);
  }
  const reset = single(form, "limit_reset") ?? "";
  if (reset !== "" && !isLimitReset(reset)) return fail("Choose when the limit resets.");
  let limitMicros: number | null = null;
  if (values.limit !== "") {
    const limit = Number(values.limit);
    if (!/^\d+(\.\d+)?$/.test(values.limit) || !Number.isFinite(limit)) {
      return fail("Enter the limit as a number of credits, such as 5 or 2.50, or leave it empty.");
    }
    if (limit > MAX_CREDIT_LIMIT) {
      return fail(`The limit can be at most ${MAX_CREDIT_LIMIT.toLocaleString("en")} credits.`);
    }
    limitMicros = toMicros(limit);
  }
  return { ok: true, label, limitMicros, limitReset: isLimitReset(reset) ? reset : null };
}

/** A stored key's terms as the edit form shows them. */
export function keyFormValues(key: StoredKey): KeyFormValues {
  return {
    label: key.label,
    limit: key.limitMicros === null ? "" : credits(key.limitMicros),
    limitReset: key.limitReset ?? "",
  };
}
