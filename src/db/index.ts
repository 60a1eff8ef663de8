export type * from "./budget-tables.js";
export {
  type DatabaseHandle,
  type DatabaseKind,
  migrateToLatest,
  openDatabase,
  pingDatabase,
} from "./database.js";
export { DeadlineError, withDeadline } from "./deadline.js";
export { byteaArray, int8Array, textArray, timestamptzArray } from "./pg-binary.js";
export { PGliteDialect } from "./pglite-dialect.js";
export type { MaintenanceEvent } from "./pglite-worker.js";
export { preparedStatement } from "./prepared-statement.js";
export type * from "./schema.js";
