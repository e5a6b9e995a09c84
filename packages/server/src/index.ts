/**
 * `@tollgate/server` as a library: the server built in-process (tests, benchmarks, embedding it in
 * another Node program). The `tollgate` command is the package's `bin`.
 */
export { createTollgate, type Tollgate, type TollgateOptions, VERSION } from './app.ts';
export { loadConfig } from './config/load-config.ts';
export type { TollgateConfig } from './config/types.ts';
export { type Database, openDatabase } from './store/database.ts';
export { migrateToLatest } from './store/migrate.ts';
