/** The server's notion of now, injected so expiry is tested without sleeping. */
export type Clock = () => Date;

/** The wall clock. */
export const systemClock: Clock = () => new Date();
