import type { LimitReset } from "../domain/credits.js";

/** What a key form shows: its values as typed, and the error to fix. */
export interface KeyFormValues {
  readonly label: string;
  /** Credits as typed; empty for no limit. */
  readonly limit: string;
  readonly limitReset: LimitReset | "";
}

/** Label, limit and reset fields, shared by the create and edit forms. */
export function KeyFields(props: { values: KeyFormValues; idPrefix: string }) {
  const id = (name: string) => `${props.idPrefix}-${name}`;
  return (
    <div class="inline-fields">
      <div>
        <label for={id("label")}>Label</label>
        <input
          id={id("label")}
          name="label"
          type="text"
          maxlength={100}
          required
          value={props.values.label}
        />
      </div>
      <div>
        <label for={id("limit")}>Limit in credits</label>
        <input
          id={id("limit")}
          name="limit"
          type="number"
          min="0"
          step="any"
          inputmode="decimal"
          placeholder="No limit"
          aria-describedby={id("limit-help")}
          value={props.values.limit}
        />
        <small id={id("limit-help")}>Empty for no limit.</small>
      </div>
      <div>
        <label for={id("reset")}>Limit resets</label>
        <select id={id("reset")} name="limit_reset">
          {(
            [
              ["", "Never"],
              ["daily", "Daily (UTC)"],
              ["weekly", "Weekly (Mondays, UTC)"],
              ["monthly", "Monthly (UTC)"],
            ] as const
          ).map(([value, name]) => (
            <option value={value} selected={props.values.limitReset === value}>
              {name}
            </option>
          ))}
        </select>
      </div>
    </div>
  );
}
