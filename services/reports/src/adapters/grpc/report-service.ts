import { ReportServiceService } from '@shop/contracts/shop/reports/v1/reports';
import { requireService } from '@shop/platform/auth/caller';
import { bind, type ServiceBinding } from '@shop/platform/grpc/server';
import { parseReportQuery } from '../../domain/report-query.js';
import type { SalesReader } from '../../app/ports.js';
import { toProtoReport } from './report-mapping.js';

export const REPORT_SERVICE = 'shop.reports.v1.ReportService';

/** Transport only: check the request (naming a bad field), read the report, map it to the contract. */
export function reportService(reader: SalesReader): ServiceBinding {
  return bind(REPORT_SERVICE, ReportServiceService, {
    async getSalesReport(req, ctx) {
      // Sales figures are the shop's: the BFF asks for them once it has checked an administrator.
      requireService(ctx.caller);
      return toProtoReport(await reader.salesReport(parseReportQuery(req)));
    },
  });
}
