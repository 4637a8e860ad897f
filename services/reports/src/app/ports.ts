import type { ReportQuery } from '../domain/report-query.js';
import type { SalesFact, SalesReport } from '../domain/sales.js';

/** Where sales facts are kept (adapters/postgres). */
export interface SalesLedger {
  /**
   * Records the facts at once (all or none). Idempotent: a fact whose (order, product) is
   * recorded already is left as it is. Resolves to the orders recorded for the first time.
   */
  record(facts: SalesFact[]): Promise<Set<string>>;
}

/** The report over the ledger, from one consistent snapshot. */
export interface SalesReader {
  salesReport(query: ReportQuery): Promise<SalesReport>;
}
