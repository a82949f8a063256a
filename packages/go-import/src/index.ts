export { planImport, parseDestination, NotAGoDatabaseError, GO_TABLES, type ImportPlan, type PlanOptions, type PlannedLink, type PlannedDownloader, type PlannedDeletion, type Skipped, type Note, type Section } from './plan';
export { applyPlan, ALREADY_QUEUED, ALREADY_DISPATCHED, ALREADY_IMPORTED, ALREADY_REGISTERED, ALREADY_SCHEDULED, type ApplyOutcome, type ApplyTargets } from './apply';
export { formatReport } from './report';
export { runImport, importEnv, USAGE, type ImportIo, type ImportConfig, type RunOptions } from './run';
export { loadSqlJs, openSqlite } from './sqlite';
