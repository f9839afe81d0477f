// Empties the current package's dist/ before tsc writes it, so that a renamed or deleted source
// leaves no stale module behind to be packed and published.
import { rmSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
