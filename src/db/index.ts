export {
  type DatabaseHandle,
  type DatabaseKind,
  migrateToLatest,
  openDatabase,
  pingDatabase,
} from "./database.js";
export { PGliteDialect } from "./pglite-dialect.js";
export type * from "./schema.js";
