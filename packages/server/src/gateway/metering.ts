import type { Clock } from "../clock.js";
import { fromMicros, usageAgainstLimit } from "../domain/credits.js";
import type {
  KeyAdmission,
  NewReservation,
  RequestDetails,
  Settlement,
  Store,
} from "../store/store.js";
import { KeyportError } from "../web/errors.js";
import type { TokenUsage } from "./pricing.js";

/** How the meter holds budgets and bounds a key's concurrency. */
export interface MeterSettings {
  /**
   * How long a reservation's lease lasts unless renewed. Live requests renew theirs (and record
   * what they delivered) every sixth of it, so only a dead instance's leases ever run out.
   */
  readonly leaseMs: number;
  /** Requests one key may have in flight in this process (`0`: unbounded). */
  readonly maxInFlightPerKey: number;
  /** Told what each settled request was charged (for the spend metric). */
  readonly onCharge?: (model: string, chargedMicros: number) => void;
  /**
   * The database is a SQLite file this process alone writes, synchronously: a lone request may
   * answer before its settle, which is then written in the event loop's next check phase —
   * still before any later request is read, so the next `GET /api/v1/key` sees it.
   */
  readonly answerBeforeSettle: boolean;
}

/** What a finished request amounts to, before the ceiling is applied. */
export interface MeteredOutcome {
  /** The HTTP status the client got (`499`: it went away). */
  readonly status: number;
  /** The token counts to record: the upstream's report, or Keyport's estimate. */
  readonly usage: TokenUsage;
  /** What the request cost, by the upstream's report or Keyport's prices. */
  readonly costMicros: number;
  /** The model that served it, when not the one reserved for (a `models` fallback). */
  readonly model?: string;
  /** The upstream that served it, when not the one reserved for (a `models` fallback). */
  readonly upstream?: string;
  /** What the answer told (its id, its finish reason, its latency), for the request record. */
  readonly details?: Partial<RequestDetails>;
}

/** What a reservation's request was charged. */
export interface Charge {
  /** Charged to the key: the cost, never more than the reservation. */
  readonly chargedMicros: number;
  /** What the cost exceeded the reservation by: on record as the operator's, not the key's. */
  readonly overrunMicros: number;
}

/**
 * Reserve, lease, settle (DESIGN invariant 8). The meter admits requests per key, makes each
 * request's reservation (a conditional UPDATE that cannot overspend), keeps the leases of its
 * live requests renewed with what they have delivered so far, and settles each request at most
 * at what it reserved.
 */
export class Meter {
  private readonly live = new Map<string, Reservation>();
  /** Settlements whose write failed, retried at each renewal until one commits. */
  private readonly unsettled = new Map<string, Settlement>();
  private readonly inFlight = new Map<string, number>();
  private renewal: NodeJS.Timeout | undefined;
  private renewing = false;
  /** Upstream overruns this process has recorded. */
  overruns = 0;

  constructor(
    readonly store: Store,
    readonly clock: Clock,
    private readonly settings: MeterSettings,
  ) {}

  /**
   * Counts one more request in flight on `keyHash`; `429` past the bound. Decided before the
   * request's body is read. Returns the release, which may be called more than once.
   */
  admit(keyHash: string): () => void {
    const bound = this.settings.maxInFlightPerKey;
    const count = this.inFlight.get(keyHash) ?? 0;
    if (bound > 0 && count >= bound) {
      throw new KeyportError(
        429,
        `Too many requests in flight on this key (at most ${bound}); retry when one has finished`,
        { "Retry-After": "1" },
      );
    }
    this.inFlight.set(keyHash, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(keyHash) ?? 1) - 1;
      if (left > 0) this.inFlight.set(keyHash, left);
      else this.inFlight.delete(keyHash);
    };
  }

  /**
   * Holds `micros` against the key, with a lease.
   * @throws KeyportError `402` (or `401`/`403` when the key changed meanwhile) when it does not fit.
   */
  async reserve(
    key: KeyAdmission,
    request: Omit<NewReservation, "keyHash" | "accountCapped" | "createdAt" | "leaseExpiresAt">,
  ): Promise<Reservation> {
    const now = this.clock();
    const spec: NewReservation = {
      ...request,
      keyHash: key.hash,
      accountCapped: key.ownerCapped === true,
      createdAt: now,
      leaseExpiresAt: new Date(now.getTime() + this.settings.leaseMs),
    };
    if (!(await this.store.reserveBudget(spec))) throw await this.refusal(key.hash, spec.micros);
    const reservation = new Reservation(this, spec);
    this.live.set(spec.id, reservation);
    this.renewal ??= setInterval(this.renew, Math.max(50, this.settings.leaseMs / 6));
    return reservation;
  }

  /** Reservations this meter holds for requests in flight (settled ones still being written included). */
  get reservationsInFlight(): number {
    return this.live.size;
  }

  /** @internal Reports a settled request's charge. */
  charged(model: string, chargedMicros: number): void {
    this.settings.onCharge?.(model, chargedMicros);
  }

  /** @internal Whether a settle may be written after the answer (see `answerBeforeSettle`). */
  writesAfterAnswer(): boolean {
    return this.settings.answerBeforeSettle && this.live.size === 1;
  }

  /**
   * @internal A settlement could not be written (a full disk, a dropped connection): its
   * reservation stays held, its lease renewed with the charge as its checkpoint (so a crash
   * still bills it), and the write is tried again at each renewal until it commits. A retry of
   * a write that did commit charges nothing twice: its lease is gone, so the store records only.
   */
  settleLater(reservation: Reservation, settlement: Settlement): void {
    reservation.delivered = () => settlement.record.costMicros;
    this.unsettled.set(reservation.spec.id, settlement);
  }

  /** @internal A reservation settled: stop renewing its lease. */
  ended(id: string): void {
    this.unsettled.delete(id);
    this.live.delete(id);
    if (this.live.size === 0 && this.renewal) {
      clearInterval(this.renewal);
      this.renewal = undefined;
    }
  }

  private readonly renew = () => {
    if (this.renewing || this.live.size === 0) return;
    this.renewing = true;
    for (const [id, settlement] of this.unsettled) {
      this.store.settleRequest(settlement).then(
        () => this.ended(id),
        (error: unknown) => console.error(`keyport: settling request ${id} failed again`, error),
      );
    }
    // A reservation whose settle is on its way is not renewed: its lease write could land after
    // the settle's and leave a lease behind.
    const checkpoints = [...this.live.values()]
      .filter((reservation) => !reservation.settling || this.unsettled.has(reservation.spec.id))
      .map((reservation) => ({
        reservation: reservation.spec,
        deliveredMicros: reservation.delivered(),
      }));
    const until = new Date(this.clock().getTime() + this.settings.leaseMs);
    this.store
      .renewLeases(checkpoints, until)
      .then((lost) => {
        for (const id of lost)
          console.error(`keyport: request ${id} lost its reservation's lease (it had expired)`);
      })
      .catch((error: unknown) =>
        console.error("keyport: renewing reservation leases failed", error),
      )
      .finally(() => {
        this.renewing = false;
      });
  };

  /** Why a reservation failed: the key changed meanwhile, or it has no room for the worst case. */
  private async refusal(keyHash: string, requested: number): Promise<KeyportError> {
    const key = await this.store.findKey(keyHash);
    if (!key || key.revokedAt) return new KeyportError(401, "User not found.");
    if (key.disabled) return new KeyportError(403, "Key is disabled");
    if (key.ownerDisabled) return new KeyportError(403, "This key's account is disabled");
    const limit = key.limitMicros ?? 0;
    const used = usageAgainstLimit(key, this.clock());
    const remaining = Math.max(0, limit - used - key.reservedMicros);
    if (key.limitMicros === null || remaining >= requested) {
      const account = await accountCreditRefusal(this.store, key.userId, requested);
      if (account) return account;
    }
    return new KeyportError(
      402,
      `Key limit reached: this request may cost up to ${fromMicros(requested)} credits and the key has ${fromMicros(remaining)} of its ${fromMicros(limit)} left` +
        (key.reservedMicros > 0
          ? ` (${fromMicros(key.reservedMicros)} more held by requests in flight)`
          : "") +
        ". Lower max_tokens (or n) or raise the key's limit.",
      {},
      {
        limit_source: "key",
        limit: fromMicros(limit),
        limit_reset: key.limitReset,
        limit_remaining: fromMicros(remaining),
        reserved: fromMicros(key.reservedMicros),
        requested: fromMicros(requested),
      },
    );
  }
}

/**
 * The `402` for a request the account credit (an operator's cap on all the account's keys
 * together) has no room for; `undefined` when the account has no credit set.
 */
async function accountCreditRefusal(
  store: Store,
  userId: string,
  requested: number,
): Promise<KeyportError | undefined> {
  const user = await store.findUserById(userId);
  if (!user || user.creditMicros === null) return undefined;
  const keys = await store.accountKeys(userId);
  const spent = keys.reduce((sum, key) => sum + key.usageMicros + key.reservedMicros, 0);
  const remaining = Math.max(0, user.creditMicros - spent);
  return new KeyportError(
    402,
    `Account credit reached: this request may cost up to ${fromMicros(requested)} credits and the account has ${fromMicros(remaining)} of its ${fromMicros(user.creditMicros)} left. Lower max_tokens (or n) or ask the operator for more credit.`,
    {},
    {
      limit_source: "account",
      limit: fromMicros(user.creditMicros),
      limit_remaining: fromMicros(remaining),
      requested: fromMicros(requested),
    },
  );
}

/** One request's hold on its key's budget, from its reservation to its settle. */
export class Reservation {
  /** What the request has delivered so far (micro-credits), read at each lease renewal. */
  delivered: () => number = () => 0;
  /** The settle has begun (it may still be on its way to the database). */
  settling = false;
  private readonly startedAt = performance.now();

  constructor(
    private readonly meter: Meter,
    readonly spec: NewReservation,
  ) {}

  get micros(): number {
    return this.spec.micros;
  }

  /**
   * Charges the outcome, never more than was reserved: an upstream that reports more than it was
   * asked for (a lying or misbehaving provider, reasoning billed past `max_tokens`) is the
   * operator's overrun — logged, counted, and kept on the request record with the upstream's
   * reported usage. Settles once; later calls charge nothing. With `answerFirst`, a lone request
   * on a SQLite file resolves at once and is written in the next check phase (its answer goes
   * out first); elsewhere the promise waits for the commit.
   */
  async settle(outcome: MeteredOutcome, options?: { answerFirst?: boolean }): Promise<Charge> {
    if (this.settling) return { chargedMicros: 0, overrunMicros: 0 };
    this.settling = true;
    const { spec, meter } = this;
    // Past the safe-integer range a figure is nonsense (and would not fit a 64-bit column).
    const cost = Math.min(outcome.costMicros, Number.MAX_SAFE_INTEGER);
    const chargedMicros = Math.min(cost, spec.micros);
    const overrunMicros = cost - chargedMicros;
    if (overrunMicros > 0) {
      meter.overruns += 1;
      console.error(
        `keyport: upstream overrun on request ${spec.id}: model ${JSON.stringify(outcome.model ?? spec.model)} on upstream ${JSON.stringify(outcome.upstream ?? spec.upstream)} cost ${fromMicros(cost)} credits, ${fromMicros(overrunMicros)} more than the ${fromMicros(spec.micros)} reserved; the key was charged the reservation`,
      );
    }
    meter.charged(outcome.model ?? spec.model, chargedMicros);
    const settlement: Settlement = {
      reservedMicros: spec.micros,
      settledAt: meter.clock(),
      record: {
        id: spec.id,
        keyHash: spec.keyHash,
        model: outcome.model ?? spec.model,
        upstream: outcome.upstream ?? spec.upstream,
        streamed: spec.streamed,
        status: outcome.status,
        promptTokens: outcome.usage.promptTokens,
        completionTokens: outcome.usage.completionTokens,
        costMicros: chargedMicros,
        overrunMicros,
        usageEstimated: outcome.usage.estimated,
        durationMs: Math.round(performance.now() - this.startedAt),
        createdAt: spec.createdAt,
        details: { ...spec.details, ...outcome.details },
      },
    };
    const write = () =>
      meter.store.settleRequest(settlement).then(
        () => meter.ended(spec.id),
        (error: unknown) => {
          meter.settleLater(this, settlement);
          throw error;
        },
      );
    if (options?.answerFirst && meter.writesAfterAnswer()) {
      setImmediate(() => {
        write().catch((error: unknown) =>
          console.error(`keyport: settling request ${spec.id} failed`, error),
        );
      });
    } else {
      await write();
    }
    return { chargedMicros, overrunMicros };
  }
}
