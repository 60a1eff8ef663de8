import type { HandlerContext } from "@connectrpc/connect";
import { RECEIPT_HEADER } from "../../audit/index.js";

/**
 * The decision record's receipt (docs/audit.md §9) as a response header and a trailer: a client
 * that reads headers has it with the first message; one that reads only the status (unary stubs
 * that surface trailers) has it at the end. Absent when the recorder gave none.
 */
export function reportReceipt(ctx: HandlerContext, receipt: string | undefined): void {
  if (!receipt) return;
  ctx.responseHeader.set(RECEIPT_HEADER, receipt);
  ctx.responseTrailer.set(RECEIPT_HEADER, receipt);
}
