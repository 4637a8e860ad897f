export { reportsMigrations } from './migrations.js';
export { reportsTopics } from './topics.js';
export { parseReportQuery, DEFAULT_TOP, MAX_TOP, MAX_RANGE_DAYS, type ReportQuery } from './domain/report-query.js';
export { salesFactsOf, MalformedEventError, type SalesFact, type SalesReport } from './domain/sales.js';
export type { SalesLedger, SalesReader } from './app/ports.js';
export { startSalesProjection, SALES_PROCESSOR, type SalesProjectionOptions } from './app/sales-projection.js';
export { postgresSalesLedger } from './adapters/postgres/sales-ledger.js';
export { reportService, REPORT_SERVICE } from './adapters/grpc/report-service.js';
